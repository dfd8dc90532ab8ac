"""A call that came back is stored even when the cache cannot take it, and a run never ends "done" with a
call missing (issue 10: write lock held past the busy timeout, a question with invalid UTF-8).

The write lock is real: another SQLite connection holds ``BEGIN IMMEDIATE`` on the same file; the busy
timeout is shortened so the test does not wait 30 s per attempt.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from db import engine as db_engine
from db.models import ModelCall
from db.recorder import Recorder, RecordingSink
from db.store import Store
from tale_core.engine import calls
from tale_core.engine.calls import CACHE_NOTE, call_model
from tale_core.experiments.sweep import SweepConfig, run_sweep
from tale_core.providers.scripted import scripted_model
from tale_core.types import GenParams, Message

PARAMS = GenParams(max_tokens=64, temperature=0.0, seed=0)


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setattr(db_engine, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(calls, "CACHE_PUT_PAUSE_S", 0.05)
    monkeypatch.setattr(RecordingSink, "first_pause_s", 0.05)
    path = tmp_path / "tale.db"
    url = f"sqlite:///{path}"
    store = Store(url)
    yield store, path
    db_engine.dispose(url)


class WriteLock:
    """Another connection holding SQLite's write lock until released."""

    def __init__(self, path: Path):
        self.conn = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.conn is not None:
            self.conn.execute("ROLLBACK")
            self.conn.close()
            self.conn = None


class ListSink:
    def __init__(self) -> None:
        self.records: list = []

    def on_call(self, record) -> None:
        self.records.append(record)


def _stored_calls(store: Store, eid: str) -> list:
    with store._read() as s:
        return list(s.execute(select(ModelCall).where(ModelCall.experiment_id == eid)).scalars())


def test_cache_write_blocked_by_a_write_lock_keeps_the_call(db):
    store, path = db
    rec = Recorder.start("playground", "locked cache", {}, store=store)
    lock = WriteLock(path)
    sink = ListSink()
    try:
        record = call_model(
            scripted_model("elastic"), [Message("user", "What is 6 * 7?")], PARAMS, cache=rec.cache, sink=sink
        )
    finally:
        lock.release()
    assert record.error is None and record.completion is not None
    assert sink.records == [record]  # the sink got the finished call although the cache refused it
    assert "cache write failed" in record.extra[CACHE_NOTE]
    assert len(rec.cache) == 0
    rec.sink.on_call(record)  # the lock is gone: the call is stored with its note
    (row,) = _stored_calls(store, rec.id)
    assert row.status == "ok" and "cache write failed" in row.detail["extra"][CACHE_NOTE]


def test_recording_retries_until_the_lock_is_released(db):
    store, path = db
    rec = Recorder.start("playground", "locked store", {}, store=store)
    record = call_model(scripted_model("elastic"), [Message("user", "What is 6 * 7?")], PARAMS)
    lock = WriteLock(path)
    timer = threading.Timer(0.3, lock.release)
    timer.start()
    try:
        rec.sink.on_call(record)  # blocked first, retried with growing pauses
    finally:
        timer.join()
        lock.release()
    assert rec.sink.recorded == 1 and not rec.sink.failures
    assert rec.finish("done") == "done"


def test_a_sweep_whose_calls_cannot_be_stored_does_not_end_done(db):
    store, path = db
    config = SweepConfig(question="What is 6 * 7?", gold="42", models=("fake/elastic",), budgets=(10, 50))
    rec = Recorder.start("sweep", "locked sweep", config.to_dict(), store=store)
    lock = WriteLock(path)
    try:
        out = run_sweep(config, {"fake/elastic": scripted_model("elastic")}, cache=rec.cache, sink=rec.sink)
    finally:
        lock.release()
    assert out.status == "done" and len(out.cells) == 3  # the engine finished every cell ...
    assert len(rec.sink.failures) == 3
    assert rec.finish("done", {}) == "failed"  # ... but the run is not called done with cells missing
    detail = store.get_experiment(rec.id)
    assert detail.status == "failed"
    assert detail.summary["record_failures"] == 3 and "could not be stored" in detail.summary["error"]
    # a resume knows what to run again
    assert rec.done_cell_ids() == set()


def test_a_question_with_a_lone_surrogate_is_called_and_stored(db):
    store, _ = db
    question = "What is 6 * 7? \udcff"  # what undecodable bytes become with errors="surrogateescape"
    config = SweepConfig(question=question, gold="42", models=("fake/elastic",), budgets=(10, 50))
    rec = Recorder.start("sweep", "surrogate", {"q": "surrogate"}, store=store)
    out = run_sweep(config, {"fake/elastic": scripted_model("elastic")}, cache=rec.cache, sink=rec.sink)
    assert out.status == "done"
    assert all(c.result.ok for c in out.cells), [c.result.error for c in out.cells]
    assert rec.finish("done", {}) == "done"
    rows = _stored_calls(store, rec.id)
    assert len(rows) == len(out.cells) == 3
    assert all(r.status == "ok" and "cache key" in r.detail["extra"][CACHE_NOTE] for r in rows)


def test_the_cli_exits_non_zero_when_calls_could_not_be_stored(db, monkeypatch, capsys):
    from tale_core import cli as core_cli

    store, path = db
    monkeypatch.setenv("TALE_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("TALE_FAKE_MODELS", "1")
    old_factory = core_cli.RECORDER_FACTORY
    import db.cli as db_cli

    core_cli.set_recorder_factory(db_cli._factory)  # the import registers it only once per process

    def locked(self, experiment_id, record):
        raise db_engine.DatabaseError("database is locked")

    monkeypatch.setattr(Store, "record_call", locked)
    monkeypatch.setattr(RecordingSink, "attempts", 2)
    try:
        rc = core_cli.main(["sweep", "What is 6 * 7?", "--answer", "42", "--model", "fake/elastic", "--budgets", "10"])
    finally:
        core_cli.set_recorder_factory(old_factory)
    err = capsys.readouterr().err
    assert rc == 1 and "could not be stored" in err
    (exp,) = store.list_experiments()
    assert exp.status == "failed"
