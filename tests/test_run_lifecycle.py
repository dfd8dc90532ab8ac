"""Runs that survive their process: heartbeat, interrupted (SIGTERM, kill -9), resume into the same experiment
(`experiments resume ID`), a run whose every cell failed ends failed, and a run with a lost call never ends done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from db.recorder import Recorder
from db.store import HEARTBEAT_KEY, HEARTBEAT_STALE_S, Store, effective_status
from tale_core.engine.methods import MethodSpec
from tale_core.experiments.benchmark import run_benchmark
from tale_core.experiments.sweep import SweepConfig, plan_cells
from tale_core.providers.scripted import scripted_model

ROOT = Path(__file__).resolve().parents[1]
SLOW = "fake/slow?latency=0.3&concurrency=1"
BUDGETS = "5,10,20,40,80,160"


def _env(url: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), TALE_DATABASE_URL=url, TALE_FAKE_MODELS="1")


def _cli(url: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tale_core", *args],
        cwd=ROOT,
        env=_env(url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_effective_status_turns_a_silent_running_experiment_into_interrupted():
    from db.rows import now

    t0 = now()
    beat = {HEARTBEAT_KEY: t0.isoformat()}
    assert effective_status("running", beat, t0, at=t0 + timedelta(seconds=5)) == "running"
    late = t0 + timedelta(seconds=HEARTBEAT_STALE_S + 1)
    assert effective_status("running", beat, t0, at=late) == "interrupted"
    assert effective_status("running", None, t0, at=late) == "interrupted"  # older runs never beat
    assert effective_status("done", None, t0, at=late) == "done"


def test_a_recorder_beats_while_it_runs_and_stops_when_it_finishes(sqlite_url):
    store = Store(sqlite_url)
    rec = Recorder.start("sweep", "beats", {"question": "q"}, store=store)
    d = store.get_experiment(rec.id, with_calls=False)
    assert d.status == "running" and HEARTBEAT_KEY in (d.summary or {})
    rec.finish("done", {"n": 1})
    d = store.get_experiment(rec.id, with_calls=False)
    assert d.status == "done" and d.summary == {"n": 1}
    assert store.heartbeat(rec.id) is False  # a finished run does not beat (its summary stays)
    assert store.get_experiment(rec.id, with_calls=False).summary == {"n": 1}


def test_sigterm_marks_the_run_interrupted_prints_its_id_and_resume_runs_only_the_missing_cells(sqlite_url):
    store = Store(sqlite_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tale_core", "sweep", "What is 6 x 7?", "--answer", "42"]
        + ["--model", SLOW, "--budgets", BUDGETS, "--json"],
        cwd=ROOT,
        env=_env(sqlite_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        eid = None
        while True:
            assert time.monotonic() < deadline, "the sweep never stored 2 cells"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            rows = store.list_experiments(kind="sweep") if Path(sqlite_url[10:]).exists() else []
            if rows:
                eid = rows[0].id
                if len(store.done_cell_ids(eid)) >= 2:
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert f"experiment {eid} interrupted" in err and f"experiments resume {eid}" in err
    assert store.get_experiment(eid, with_calls=False).status == "interrupted"
    done_before = store.done_cell_ids(eid)
    planned = {
        k.id
        for k in plan_cells(
            SweepConfig(question="q", gold="42", models=(SLOW,), budgets=tuple(int(b) for b in BUDGETS.split(",")))
        )
    }
    assert 2 <= len(done_before) < len(planned)

    res = _cli(sqlite_url, "experiments", "resume", eid, "--json")
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert d["experiment_id"] == eid and d["status"] == "done"
    assert {r["cell"] for r in d["rows"]} == planned  # the analysis covers every cell, old and new
    detail = store.get_experiment(eid)
    assert detail.status == "done"
    ok = sorted(c.cell_id for c in detail.calls if c.ok)
    assert ok == sorted(planned)  # each cell stored exactly once, in the same experiment
    # only the missing cells were called: the resumed calls are the ones not stored before
    assert len([c for c in detail.calls if c.ok and c.cell_id not in done_before]) == len(planned - done_before)
    again = _cli(sqlite_url, "experiments", "resume", eid)
    assert again.returncode == 0 and "already done" in again.stdout


def test_a_benchmark_resumes_into_the_same_experiment(sqlite_url, monkeypatch):
    from tale_core import cli
    from tale_core.cli.engine import load_items

    monkeypatch.setenv("TALE_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("TALE_FAKE_MODELS", "1")
    import db.cli  # noqa: F401 - registers `experiments`

    store = Store(sqlite_url)
    items = list(load_items("samples").items)[:3]
    methods = [MethodSpec("vanilla"), MethodSpec("direct")]
    config = {
        "dataset": {"source": "samples", "name": "samples"},
        "item_ids": [it.id for it in items],
        "methods": [m.to_str() for m in methods],
        "models": ["fake/elastic"],
        "params": {"max_tokens": 512, "temperature": 0.0, "seed": 0},
        "spend_cap_usd": None,
    }
    rec = Recorder.start("benchmark", "bench resume", config, store=store)
    cancel = threading.Event()
    seen: list = []

    def on_result(row):
        seen.append(row)
        if len(seen) >= 2:
            cancel.set()

    model = scripted_model("elastic")
    model.max_concurrency = 1
    first = run_benchmark(
        items, methods, {"fake/elastic": model}, cache=rec.cache, sink=rec.sink, on_result=on_result, cancel=cancel
    )
    rec.finish("interrupted", {})
    assert first.status == "cancelled" and len(first.rows) == 2
    assert cli.main(["experiments", "resume", rec.id, "--json"]) == 0
    d = store.get_experiment(rec.id)
    assert d.status == "done"
    cells = sorted(c.cell_id for c in d.calls if c.ok)
    assert len(cells) == 6 == len(set(cells))
    assert {s["n"] for s in d.summary["summary"]} == {3}  # the summary counts old and new rows


def test_resume_refuses_a_running_experiment_and_other_kinds(sqlite_url, monkeypatch, capsys):
    from tale_core import cli

    monkeypatch.setenv("TALE_DATABASE_URL", sqlite_url)
    import db.cli  # noqa: F401

    store = Store(sqlite_url)
    rec = Recorder.start("sweep", "alive", {"question": "q"}, store=store)
    assert cli.main(["experiments", "resume", rec.id]) == 2
    assert "still running" in capsys.readouterr().err
    rec.finish("interrupted", {})
    pg = Recorder.start("playground", "pg", {"question": "q"}, store=store)
    pg.finish("interrupted", {})
    assert cli.main(["experiments", "resume", pg.id]) == 2
    assert "rerun a playground" in capsys.readouterr().err


def test_a_sweep_whose_every_cell_failed_is_stored_failed_and_exits_1(sqlite_url):
    res = _cli(sqlite_url, "sweep", "What is 6 x 7?", "--answer", "42", "--model", "fake/error", "--budgets", "50")
    assert res.returncode == 1, res.stderr
    store = Store(sqlite_url)
    (row,) = store.list_experiments()
    assert row.status == "failed"


def test_a_run_that_lost_a_call_never_ends_done(sqlite_url):
    store = Store(sqlite_url)
    rec = Recorder.start("sweep", "lossy", {"question": "q"}, store=store)

    class Broken:
        def record_call(self, *a, **k):
            raise OSError("database is locked")

    rec.sink.store = Broken()  # type: ignore[assignment]
    from tests.helpers_db import make_record

    rec.sink.on_call(make_record(cell_id="c1"))
    rec.finish("done", {"notes": []})
    d = store.get_experiment(rec.id, with_calls=False)
    assert d.status == "failed" and d.summary["record_failures"] == 1
    assert any("could not be stored" in n for n in d.summary["notes"])


@pytest.mark.parametrize("status", ["interrupted"])
def test_interrupted_is_a_status_the_store_and_the_list_know(sqlite_url, status):
    store = Store(sqlite_url)
    eid = store.create_experiment("sweep", "x", {})
    store.finish_experiment(eid, status)
    assert [r.id for r in store.list_experiments(status=status)] == [eid]


def test_heartbeat_and_stale_window_come_from_the_environment_and_bad_values_keep_the_defaults():
    code = "import db.store as s; print(s.HEARTBEAT_EVERY_S, s.HEARTBEAT_STALE_S)"

    def read(env: dict[str, str]) -> str:
        full = {k: v for k, v in os.environ.items() if k not in ("TALE_HEARTBEAT_S", "TALE_STALE_AFTER_S")}
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**full, **env},
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert read({}) == "5.0 30.0"
    assert read({"TALE_HEARTBEAT_S": "1", "TALE_STALE_AFTER_S": "6.5"}) == "1.0 6.5"
    assert read({"TALE_HEARTBEAT_S": "soon", "TALE_STALE_AFTER_S": "-3"}) == "5.0 30.0"
