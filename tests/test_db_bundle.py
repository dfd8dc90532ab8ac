"""Bundles: round trip, and imports of broken, truncated, wrong-version and hostile files."""

from __future__ import annotations

import json

import pytest

from db.bundle import (
    FORMAT,
    MAX_BUNDLE_BYTES,
    BundleError,
    export_bytes,
    export_experiment,
    import_bundle,
    import_bundle_report,
)
from db.store import ExperimentNotFound
from tale_core.errors import TaleError
from tests.helpers_db import make_record


def _experiment(store, n_calls: int = 3) -> str:
    eid = store.create_experiment(
        "sweep", "Elasticity of 6x7", {"question": "What is 6 x 7?", "budgets": [10, 50], "models": ["fake/elastic"]}
    )
    store.record_call(eid, make_record(cell_id="fake/elastic|ref|0", role="reference", budget=None, output_tokens=258))
    for i in range(1, n_calls):
        store.record_call(eid, make_record(cell_id=f"fake/elastic|{10 * i}|0", budget=10 * i, output_tokens=80))
    store.record_call(
        eid, make_record(cell_id="fake/elastic|99|0", budget=99, error={"kind": "rate_limit", "message": "slow down"})
    )
    store.annotate(eid, "first look")
    store.finish_experiment(eid, "done", {"sweet_spot": 20})
    return eid


def _bundle(store) -> dict:
    return export_experiment(_experiment(store), store)


def test_round_trip_into_another_database(store, tmp_path):
    from db.engine import dispose
    from db.store import Store

    eid = _experiment(store)
    data = export_bytes(eid, store)
    doc = json.loads(data)
    assert doc["format"] == FORMAT and doc["version"] == 1 and doc["exported_at"] and doc["app_version"]
    assert doc["experiment"]["kind"] == "sweep" and len(doc["calls"]) == 4
    assert doc["price_table"]["prices"]["fake/elastic"]["input_per_mtok"] == 0.0
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    try:
        other = Store(other_url)
        new = import_bundle(data, other)
        assert new != eid  # ids are always ours, even where the bundle's id is free (issue 10)
        a, b = store.get_experiment(eid), other.get_experiment(new)
        assert (b.title, b.kind, b.status, b.config) == (a.title, a.kind, a.status, a.config)
        assert b.summary["sweet_spot"] == 20 and b.summary["imported_from"]["original_id"] == eid
        assert b.notes.startswith("first look") and eid in b.notes
        assert [(c.spec, c.role, c.budget, c.output_tokens, c.response, c.status, c.cell_id) for c in b.calls] == [
            (c.spec, c.role, c.budget, c.output_tokens, c.response, c.status, c.cell_id) for c in a.calls
        ]
        assert [c.to_record().messages for c in b.calls] == [c.to_record().messages for c in a.calls]
        assert other.done_cell_ids(new) == store.done_cell_ids(eid)
        # imported calls never feed the call cache
        assert other.cache_size() == 0
    finally:
        dispose(other_url)


def test_import_into_same_database_gets_a_new_id_and_keeps_the_original(store):
    eid = _experiment(store)
    data = export_bytes(eid, store)
    new = import_bundle(data, store)
    again = import_bundle(data, store)
    assert len({eid, new, again}) == 3
    d = store.get_experiment(new)
    assert d.summary["imported_from"]["original_id"] == eid and eid in d.notes
    assert len(d.calls) == 4 and len(store.get_experiment(eid).calls) == 4  # the original is untouched
    assert {c.id for c in d.calls}.isdisjoint({c.id for c in store.calls_for(eid)})


def test_export_of_missing_experiment(store):
    with pytest.raises(ExperimentNotFound):
        export_bytes("nope", store)


def _problems(data, store) -> list[str]:
    with pytest.raises(BundleError) as ei:
        import_bundle(data, store)
    assert isinstance(ei.value, TaleError) and str(ei.value).startswith("This file is not")
    return ei.value.problems


def test_broken_files_are_rejected_with_a_reason(store):
    good = export_bytes(_experiment(store), store)
    before = store.count_experiments()
    assert "empty" in _problems(b"", store)[0]
    assert "not valid JSON" in _problems(b"{nope", store)[0]
    truncated = _problems(good[: len(good) // 2], store)[0]
    assert "not valid JSON" in truncated and "cut off" in truncated
    assert "UTF-8" in _problems(b"\xff\xfe\x00garbage", store)[0]
    assert "top level" in _problems(b"[1, 2]", store)[0]
    assert "format" in _problems(json.dumps({"format": "something-else", "version": 1}).encode(), store)[0]
    assert store.count_experiments() == before


def test_wrong_versions(store):
    doc = _bundle(store)
    for version, expect in (
        (2, "not supported"),
        (0, "unknown"),
        ("1", "whole number"),
        (True, "whole number"),
        (None, "whole number"),
    ):
        doc["version"] = version
        assert expect in _problems(json.dumps(doc), store)[0]


def test_oversized_file_is_rejected_before_parsing(store):
    assert "larger than" in _problems(b" " * (MAX_BUNDLE_BYTES + 1), store)[0]


def test_wrong_types_are_all_reported_together(store):
    doc = _bundle(store)
    n = store.count_experiments()
    doc["experiment"]["kind"] = "rocket"
    doc["experiment"]["config"] = "not an object"
    doc["calls"][0]["output_tokens"] = "many"
    doc["calls"][0]["budget"] = -5
    doc["calls"][1]["messages"] = [{"role": "wizard", "content": 3}]
    doc["calls"][1]["correct"] = "yes"
    doc["calls"][2]["params"] = {"max_tokens": "lots", "temperature": float("1e400")}
    doc["calls"].append("not a call")
    problems = _problems(json.dumps(doc), store)
    text = "\n".join(problems)
    for needle in (
        "experiment.kind",
        "experiment.config",
        "calls[0].output_tokens",
        "calls[0].budget",
        "calls[1].messages[0].role",
        "calls[1].messages[0].content",
        "calls[1].correct",
        "calls[2].params.max_tokens",
        "calls[4]",
    ):
        assert needle in text, needle
    assert store.count_experiments() == n  # nothing stored


def test_missing_sections(store):
    assert any("experiment" in p for p in _problems(json.dumps({"format": FORMAT, "version": 1}), store))
    doc = {"format": FORMAT, "version": 1, "experiment": {"kind": "sweep"}, "calls": {"a": 1}}
    assert any(p.startswith("calls:") for p in _problems(json.dumps(doc), store))
    doc["calls"] = [{"messages": []}]
    assert any("calls[0].spec: missing" in p for p in _problems(json.dumps(doc), store))


def test_minimal_bundle_imports(store):
    doc = {
        "format": FORMAT,
        "version": 1,
        "experiment": {"kind": "playground"},
        "calls": [{"spec": "fake/elastic", "messages": [{"role": "user", "content": "hi"}], "response": "yo"}],
    }
    d = store.get_experiment(import_bundle(json.dumps(doc), store))
    assert d.title == "Imported experiment" and d.calls[0].response == "yo" and d.calls[0].provider == "fake"


def test_unknown_fields_are_ignored(store):
    doc = _bundle(store)
    doc["surprise"] = {"x": 1}
    doc["experiment"]["__proto__"] = "polluted"
    doc["experiment"]["parent_id"] = "somebody-else"
    doc["calls"][0]["exec"] = "import os; os.system('rm -rf /')"
    doc["calls"][0]["params"]["evil_param"] = "x"
    d = store.get_experiment(import_bundle(json.dumps(doc), store))
    assert d.parent_id is None
    assert "evil_param" not in d.calls[0].params and "exec" not in d.calls[0].to_dict()


def test_huge_strings_are_rejected_with_a_message(store):
    doc = _bundle(store)
    doc["calls"][0]["response"] = "x" * 1_000_001
    doc["experiment"]["title"] = "t" * 501
    problems = _problems(json.dumps(doc), store)
    assert any("calls[0].response" in p and "longer than" in p for p in problems)
    assert any("experiment.title" in p for p in problems)


def test_html_and_script_text_is_stored_as_plain_text(store):
    doc = _bundle(store)
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    doc["experiment"]["title"] = evil
    doc["experiment"]["notes"] = evil
    doc["calls"][0]["response"] = evil
    doc["calls"][0]["question"] = evil
    d = store.get_experiment(import_bundle(json.dumps(doc), store))
    assert d.title == evil and d.notes.startswith(evil) and d.calls[0].response == evil


def test_hostile_ids_and_collisions(store):
    doc = _bundle(store)
    original = doc["experiment"]["id"]
    # the id is taken: a new id, the original untouched
    new = import_bundle(json.dumps(doc), store)
    assert new != original and store.get_experiment(original).title == "Elasticity of 6x7"
    # an id with path or SQL characters is a problem, not used
    doc["experiment"]["id"] = "../../etc/passwd'; DROP TABLE experiments;--"
    assert any("experiment.id" in p for p in _problems(json.dumps(doc), store))
    doc["experiment"]["id"] = 12345
    assert any("experiment.id" in p for p in _problems(json.dumps(doc), store))


def test_deeply_nested_and_huge_numbers_do_not_crash(store):
    deep = '{"format": "tale-explorer-bundle", "version": 1, "experiment": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert _problems(deep.encode(), store)
    big = json.dumps(_bundle(store)).replace('"version": 1', '"version": 1' + "0" * 5000, 1)
    assert _problems(big, store)
    doc = _bundle(store)
    doc["calls"][0]["input_tokens"] = 10**30
    doc["calls"][0]["latency_s"] = float("nan")
    problems = _problems(json.dumps(doc), store)
    assert any("input_tokens" in p for p in problems) and any("latency_s" in p for p in problems)


def test_nul_and_surrogates_in_text_import_safely(store):
    doc = _bundle(store)
    doc["calls"][0]["response"] = "a\u0000b"
    doc["experiment"]["notes"] = "lone \ud800 surrogate"
    data = json.dumps(doc)  # json escapes keep the lone surrogate as \\ud800
    d = store.get_experiment(import_bundle(data, store))
    assert "\x00" not in d.calls[0].response and "lone" in d.notes


def test_running_experiment_is_imported_as_cancelled(store):
    doc = _bundle(store)
    doc["experiment"]["status"] = "running"
    assert store.get_experiment(import_bundle(json.dumps(doc), store)).status == "cancelled"


def test_problem_list_is_capped(store):
    doc = _bundle(store)
    doc["calls"] = [{"spec": 1, "messages": 2}] * 200
    problems = _problems(json.dumps(doc), store)
    assert len(problems) <= 51 and problems[-1].startswith("... and")


def test_a_bundle_never_chooses_the_id(store, tmp_path):
    from db.engine import dispose
    from db.store import Store

    doc = _bundle(store)
    doc["experiment"]["id"] = "chosen-by-the-bundle"
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    try:
        other = Store(other_url)
        report = import_bundle_report(json.dumps(doc), other)
        assert report.id != "chosen-by-the-bundle" and not other.exists("chosen-by-the-bundle")
        d = other.get_experiment(report.id)
        assert d.summary["imported_from"]["original_id"] == "chosen-by-the-bundle"
        assert "chosen-by-the-bundle" in d.notes
    finally:
        dispose(other_url)


def test_calls_sharing_a_cell_are_reported(store):
    doc = _bundle(store)
    ok_calls = [c for c in doc["calls"] if c.get("status") == "ok" and c.get("cell_id")]
    assert ok_calls
    doc["calls"].append(dict(ok_calls[0], response="a second answer for the same cell"))
    report = import_bundle_report(json.dumps(doc), store)
    assert report.calls == len(doc["calls"]) - 1
    assert len(report.duplicates) == 1 and f"calls[{len(doc['calls']) - 1}]" in report.duplicates[0]
    assert "not imported" in report.message()
    d = store.get_experiment(report.id)
    assert len(d.calls) == report.calls
    assert d.summary["imported_from"]["duplicate_calls_not_imported"] == report.duplicates
    assert "were not imported" in d.notes


def test_time_zones_keep_the_instant(store):
    from datetime import UTC, datetime

    doc = _bundle(store)
    doc["experiment"]["created_at"] = "2026-03-01T10:00:00+05:30"
    doc["experiment"]["finished_at"] = "2026-03-01T01:00:00-03:00"
    doc["calls"][0]["created_at"] = "2026-03-01T12:00:00+05:30"
    d = store.get_experiment(import_bundle(json.dumps(doc), store))
    assert d.created_at == datetime(2026, 3, 1, 4, 30, tzinfo=UTC)
    assert d.finished_at == datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    assert min(c.created_at for c in d.calls) == datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
