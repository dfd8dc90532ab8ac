"""The estimator CLI end to end: search a dataset, train, score, export, and read it back from the database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tale_core", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_search_train_score_export(tmp_path, monkeypatch):
    import os

    env = dict(os.environ, TALE_DATA_DIR=str(tmp_path / "data"), TALE_FAKE_MODELS="1")
    data = tmp_path / "q.jsonl"
    # the scripted elastic model answers 42 to anything: a data set whose answers are 42 is all "correct"
    data.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": f"Question {i}: how much is {i} x 0 + 42?", "answer": "42"}) + "\n"
            for i in range(8)
        )
    )
    r = _cli(
        env,
        "search-dataset",
        "--model",
        "fake/elastic",
        "--dataset",
        str(data),
        "--algorithm",
        "paper",
        "--out",
        str(tmp_path / "s.json"),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["searched"] == 8 and out["experiment_id"]
    assert all(row["optimal_budget"] and row["beats_vanilla"] for row in out["rows"])

    # train from the stored experiment (by id) and from the file
    r = _cli(env, "estimator", "train", "--search", out["experiment_id"], "--train", "6", "--json")
    assert r.returncode == 0, r.stderr
    trained = json.loads(r.stdout)
    assert trained["trained_on"] == 6 and trained["search_experiment_id"] == out["experiment_id"]
    assert Path(trained["path"]).is_file()
    r = _cli(env, "estimator", "list", "--json")
    assert json.loads(r.stdout)[0]["model"] == "fake/elastic"

    r = _cli(env, "estimator", "score", "--search", str(tmp_path / "s.json"), "--train", "6", "--end-to-end", "--json")
    assert r.returncode == 0, r.stderr
    scored = json.loads(r.stdout)
    assert scored["held_out"] == 2
    by = {s["key"]: s for s in scored["optimum"]}
    assert by["oracle"]["mean_abs_log2_error"] == 0.0
    assert {s["method"] for s in scored["end_to_end"]} >= {"vanilla", "zero-shot", "oracle"}

    for fmt in ("sft", "dpo", "openai"):
        r = _cli(
            env,
            "export-pt",
            "--search",
            out["experiment_id"],
            "--format",
            fmt,
            "--out",
            str(tmp_path / f"{fmt}.jsonl"),
            "--json",
        )
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["examples"] == 8
        assert len((tmp_path / f"{fmt}.jsonl").read_text().splitlines()) == 8


def test_bad_references_are_clear_errors(tmp_path):
    import os

    env = dict(os.environ, TALE_DATA_DIR=str(tmp_path / "data"))
    r = _cli(env, "estimator", "train", "--search", "no-such-id")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    r = _cli(env, "export-pt", "--search", str(tmp_path / "missing.json"), "--format", "sft", "--out", "x")
    assert r.returncode != 0 and "Traceback" not in r.stderr
