"""The store API, on SQLite and on PostgreSQL (the ``db_url`` fixture runs each test on both)."""

from __future__ import annotations

import pytest

from db.store import ExperimentNotFound, Store, StoreError
from tale_core.errors import TaleError
from tests.helpers_db import make_record


def test_create_and_get_experiment(store):
    eid = store.create_experiment("sweep", "Peyton sweep", {"question": "Q?", "budgets": [10, 50]})
    assert len(eid) == 12 and eid.replace("-", "").replace("_", "").isalnum()
    d = store.get_experiment(eid)
    assert (d.title, d.kind, d.status, d.config) == (
        "Peyton sweep",
        "sweep",
        "running",
        {"question": "Q?", "budgets": [10, 50]},
    )
    assert d.created_at.tzinfo is not None and d.finished_at is None and d.calls == []
    assert d.app_version


def test_ids_are_unique_and_unguessable(store):
    ids = {store.create_experiment("playground", f"t{i}", {}) for i in range(50)}
    assert len(ids) == 50


def test_bad_kind_status_and_missing_ids_are_clear_errors(store):
    with pytest.raises(StoreError, match="kind"):
        store.create_experiment("nonsense", "t", {})
    eid = store.create_experiment("sweep", "t", {})
    with pytest.raises(StoreError, match="status"):
        store.finish_experiment(eid, "exploded")
    with pytest.raises(ExperimentNotFound, match="No experiment"):
        store.get_experiment("doesnotexist")
    with pytest.raises(ExperimentNotFound):
        store.record_call("doesnotexist", make_record())
    with pytest.raises(ExperimentNotFound):
        store.create_experiment("sweep", "child", {}, parent_id="nope")
    assert issubclass(ExperimentNotFound, TaleError)


def test_record_call_round_trips_the_engine_record(store):
    eid = store.create_experiment("playground", "one call", {})
    rec = make_record(cell_id="fake/elastic|50|0", question_id="q1", repeat=2)
    assert store.record_call(eid, rec) is True
    calls = store.calls_for(eid)
    assert len(calls) == 1
    back = calls[0].to_record()
    assert back.call_id == rec.call_id and back.spec == rec.spec and back.budget == 50 and back.repeat == 2
    assert back.messages == rec.messages and back.params == rec.params
    assert back.completion.text == rec.completion.text
    assert back.completion.output_tokens == 9 and back.completion.runtime == "fake-1.0"
    assert back.correct is True and back.extracted_answer == "42" and back.gold_answer == "42"
    assert back.extra["cell_id"] == "fake/elastic|50|0" and back.question_id == "q1"
    assert abs(back.created_at - rec.created_at) < 1e-3


def test_record_call_is_idempotent_by_call_id_and_by_cell(store):
    eid = store.create_experiment("sweep", "s", {})
    rec = make_record(cell_id="c1")
    assert store.record_call(eid, rec) is True
    assert store.record_call(eid, rec) is False  # same call id
    assert store.record_call(eid, make_record(cell_id="c1")) is False  # same cell, new call id
    # the TALE-EP estimate of the same cell is another slot
    assert store.record_call(eid, make_record(cell_id="c1", role="estimate")) is True
    # a failed attempt never blocks a retry of the cell, and is kept for the record
    err = {"kind": "rate_limit", "message": "Too many requests"}
    assert store.record_call(eid, make_record(cell_id="c2", error=err)) is True
    assert store.record_call(eid, make_record(cell_id="c2", error=err)) is True
    assert store.done_cell_ids(eid) == {"c1"}
    assert store.record_call(eid, make_record(cell_id="c2")) is True
    assert store.done_cell_ids(eid) == {"c1", "c2"}
    assert len(store.calls_for(eid)) == 5
    # the same cell id in another experiment is independent
    other = store.create_experiment("sweep", "s2", {})
    assert store.record_call(other, make_record(cell_id="c1")) is True


def test_done_cell_ids_ignores_estimates_and_errors(store):
    eid = store.create_experiment("sweep", "s", {})
    store.record_call(eid, make_record(cell_id="a", role="estimate"))
    store.record_call(eid, make_record(cell_id="b", error={"kind": "server_error", "message": "500"}))
    store.record_call(eid, make_record(cell_id="r", role="reference", budget=None))
    store.record_call(eid, make_record())  # no cell id: playground call
    assert store.done_cell_ids(eid) == {"r"}
    assert store.done_cell_ids(eid, include_errors=True) == {"r", "b"}


def test_finish_rename_annotate_delete(store):
    eid = store.create_experiment("search", "before", {})
    store.record_call(eid, make_record())
    store.finish_experiment(eid, "done", {"sweet_spot": 50, "savings": 0.66})
    store.rename(eid, "after")
    store.annotate(eid, "looks elastic below 20")
    d = store.get_experiment(eid)
    assert (d.title, d.notes, d.status, d.summary) == (
        "after",
        "looks elastic below 20",
        "done",
        {"sweet_spot": 50, "savings": 0.66},
    )
    assert d.finished_at is not None
    with pytest.raises(StoreError):
        store.rename(eid, "   ")
    assert store.delete(eid) is True
    assert store.delete(eid) is False
    with pytest.raises(ExperimentNotFound):
        store.calls_for(eid)
    with pytest.raises(ExperimentNotFound):
        store.rename(eid, "x")


def test_delete_cascades_to_calls_and_keeps_the_cache(store):
    from db.cache import DbCallCache

    eid = store.create_experiment("sweep", "s", {})
    rec = make_record()
    store.record_call(eid, rec)
    DbCallCache(store).put("a" * 64, rec)
    store.delete(eid)
    with store.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM model_calls")).scalar() == 0
    assert DbCallCache(store).get("a" * 64) is not None


def test_rerun_copies_config_and_links_parent(store):
    eid = store.create_experiment("sweep", "base", {"budgets": [5, 10]})
    store.finish_experiment(eid, "done")
    child = store.rerun(eid)
    d = store.get_experiment(child)
    assert d.parent_id == eid and d.config == {"budgets": [5, 10]} and d.status == "running"
    assert d.title == "base (rerun)"
    # deleting the parent keeps the child, unlinked
    store.delete(eid)
    assert store.get_experiment(child).parent_id is None


def test_list_newest_first_with_counts_cost_and_models(store):
    ids = [store.create_experiment("sweep" if i % 2 else "playground", f"exp {i}", {}) for i in range(5)]
    store.record_call(ids[1], make_record(spec="fake/elastic", cost=0.5))
    store.record_call(ids[1], make_record(spec="fake/flat", cost=0.25))
    store.record_call(ids[1], make_record(spec="fake/flat", cost=1.0, cache_hit=True))  # free
    store.record_call(ids[1], make_record(spec="fake/flat", error={"kind": "timeout", "message": "t"}))
    rows = store.list_experiments()
    assert [r.id for r in rows] == ids[::-1]
    r1 = next(r for r in rows if r.id == ids[1])
    assert (r1.n_calls, r1.n_errors, r1.models) == (4, 1, ["fake/elastic", "fake/flat"])
    assert r1.cost_usd == pytest.approx(0.75)
    assert store.spend(ids[1]) == pytest.approx(0.75)
    assert [r.id for r in store.list_experiments(limit=2)] == ids[:-3:-1]
    assert [r.id for r in store.list_experiments(limit=2, offset=2)] == [ids[2], ids[1]]
    assert {r.kind for r in store.list_experiments(kind="sweep")} == {"sweep"}
    store.finish_experiment(ids[0], "cancelled")
    assert [r.id for r in store.list_experiments(status="cancelled")] == [ids[0]]
    assert store.count_experiments() == 5 and store.count_experiments(kind="sweep") == 2
    assert r1.to_dict()["created_at"]
    with pytest.raises(StoreError):
        store.list_experiments(kind="bogus")


def test_search_title_notes_and_questions(store):
    a = store.create_experiment("sweep", "Peyton's pay", {})
    b = store.create_experiment("sweep", "other", {})
    store.annotate(b, "the 100% discount case")
    c = store.create_experiment("playground", "third", {})
    store.record_call(c, make_record(question="How many apples does Janet_X have?"))
    assert {r.id for r in store.search("peyton")} == {a}
    assert {r.id for r in store.search("100%")} == {b}  # % is literal, not a wildcard
    assert {r.id for r in store.search("janet_x")} == {c}  # _ is literal too
    assert store.search("nothing like this") == []
    assert {r.id for r in store.list_experiments(search="  ")} == {a, b, c}


def test_datasets(store):
    did = store.save_dataset("mini", "jsonl", '{"question": "1+1?", "answer": "2"}\n', 1)
    assert store.save_dataset("mini", "jsonl", '{"question": "1+1?", "answer": "2"}\n', 1) == did
    [info] = store.list_datasets()
    assert (info.name, info.item_count, len(info.sha256)) == ("mini", 1, 64)
    assert store.get_dataset(did).content.startswith('{"question"')
    assert store.delete_dataset(did) is True
    with pytest.raises(StoreError):
        store.get_dataset(did)


def test_strings_that_postgres_cannot_store_are_made_safe(store):
    eid = store.create_experiment("playground", "nul \x00 title", {"weird": "a\x00b\ud800c"})
    store.record_call(eid, make_record(text="bad \x00 byte and \udcff surrogate [[42]]", question="q\x00"))
    d = store.get_experiment(eid)
    assert "\x00" not in d.title and "\x00" not in d.config["weird"]
    assert d.calls[0].response.startswith("bad ") and "\x00" not in d.calls[0].response


def test_overlong_short_fields_are_clipped(store):
    eid = store.create_experiment("playground", "t" * 2000, {})
    store.record_call(eid, make_record(spec="fake/" + "m" * 1000, role="answer"))
    d = store.get_experiment(eid)
    assert len(d.title) == 500 and len(d.calls[0].spec) == 300


def test_store_creates_sqlite_file_under_tale_data_dir(tmp_path, monkeypatch):
    from db.engine import database_url, dispose

    monkeypatch.setenv("TALE_DATA_DIR", str(tmp_path / "nested" / "data"))
    monkeypatch.delenv("TALE_DATABASE_URL", raising=False)
    url = database_url()
    try:
        s = Store()
        s.create_experiment("playground", "x", {})
        assert (tmp_path / "nested" / "data" / "tale.db").is_file()
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        dispose(url)


def test_tale_database_url_switches(monkeypatch, tmp_path):
    from db.engine import database_url

    monkeypatch.setenv("TALE_DATABASE_URL", "postgresql+psycopg://u:secretpw@127.0.0.1:5/x")
    assert database_url() == "postgresql+psycopg://u:secretpw@127.0.0.1:5/x"
    from db.engine import redact_url

    assert "secretpw" not in redact_url(database_url())


def test_unreachable_database_is_a_clear_error():
    from db.engine import DatabaseError, dispose

    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    try:
        with pytest.raises(DatabaseError, match="Cannot open the database"):
            Store(url)
    finally:
        dispose(url)


def test_in_memory_sqlite_works_for_single_threaded_use():
    from db.engine import dispose

    try:
        s = Store("sqlite://")
        eid = s.create_experiment("playground", "memory", {})
        s.record_call(eid, make_record())
        assert s.list_experiments()[0].n_calls == 1
        dispose("sqlite://")
        assert Store("sqlite://").list_experiments() == []  # a new, empty database again
    finally:
        dispose("sqlite://")


def test_long_cell_ids_stay_distinct_and_resumable(store):
    eid = store.create_experiment("sweep", "long spec", {})
    spec = "compat:my-lab-endpoint/" + "very-long-model-name-" * 15
    ids = [f"{spec}|{b}|0" for b in (10, 20)]
    assert len(ids[0]) > 300
    for cid in ids:
        assert store.record_call(eid, make_record(cell_id=cid)) is True
    assert store.record_call(eid, make_record(cell_id=ids[0])) is False
    assert store.done_cell_ids(eid) == set(ids)


def test_new_ids_never_start_with_a_dash(monkeypatch):
    """An id starting with '-' is read as an option by the CLI (``experiments show ID``)."""
    import db.store as store_mod

    draws = iter(["-dashfirst12", "_fine_id_123"])
    monkeypatch.setattr(store_mod._secrets, "token_urlsafe", lambda n: next(draws))
    assert store_mod.new_id() == "_fine_id_123"
