"""``python -m tale_core sweep|search|bench`` on scripted fake models: in-process and as a subprocess."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tale_core import cli
from tale_core.cli.engine import parse_grid
from tale_core.errors import TaleError

REPO = Path(__file__).resolve().parent.parent
Q = "What is 6 times 7?"


@pytest.fixture(autouse=True)
def fake_models(monkeypatch):
    monkeypatch.setenv("TALE_FAKE_MODELS", "1")
    monkeypatch.setattr(cli, "RECORDER_FACTORY", None)


def run_json(capsys, *argv) -> dict:
    assert cli.main(list(argv) + ["--json"]) == 0
    out = capsys.readouterr().out
    return json.loads(out)


class FakeRecorder:
    made: list[FakeRecorder] = []

    def __init__(self, kind, title, config):
        self.kind, self.title, self.config = kind, title, config
        self.id = f"exp-{len(self.made) + 1}"
        self.calls = []
        self.sink = self
        self.cache = None
        self.finished = None
        self.made.append(self)

    def on_call(self, record):
        self.calls.append(record)

    def finish(self, status, summary):
        self.finished = (status, summary)


# ---------------------------------------------------------------- sweep


def test_sweep_json_rows_and_analysis(capsys):
    d = run_json(capsys, "sweep", Q, "--answer", "42", "--model", "fake/elastic", "--budgets", "10,25,50")
    rows = d["rows"]
    assert [r["budget"] for r in rows] == [None, 50, 25, 10]
    assert [r["output_tokens"] for r in rows] == [258, 86, 112, 157]
    for r in rows:
        assert {"budget", "output_tokens", "correct", "cost_usd", "spec", "status"} <= set(r)
        assert r["spec"] == "fake/elastic" and r["correct"] is True
    a = d["analysis"]["fake/elastic"]
    assert a["sweet_spot_budget"] == 50 and a["reference_tokens"] == 258
    assert d["status"] == "done" and d["experiment_id"] is None


def test_sweep_grid_two_models_repeats_and_no_reference(capsys):
    d = run_json(
        capsys,
        "sweep",
        Q,
        "--answer",
        "42",
        "--model",
        "fake/compliant",
        "--model",
        "fake/flat",
        "--grid",
        "log:5:500:3",
        "--repeats",
        "2",
        "--no-reference",
    )
    budgets = parse_grid("log:5:500:3")
    assert len(d["rows"]) == 2 * 2 * len(budgets)
    assert all(r["budget"] is not None for r in d["rows"])
    assert set(d["analysis"]) == {"fake/compliant", "fake/flat"}


def test_sweep_text_output(capsys):
    assert cli.main(["sweep", Q, "--answer", "42", "--model", "fake/elastic", "--budgets", "50"]) == 0
    out = capsys.readouterr().out
    assert "vanilla" in out and "sweet spot budget 50" in out and "status done" in out


def test_sweep_error_cells_do_not_stop_the_run(capsys):
    d = run_json(
        capsys, "sweep", Q, "--answer", "42", "--model", "fake/elastic", "--model", "fake/error", "--budgets", "50"
    )
    errors = [r for r in d["rows"] if r["status"] == "error"]
    assert d["status"] == "done" and d["errors"] == 2 == len(errors) and len(d["rows"]) == 4
    assert "rate limit" in errors[0]["error"].lower()


def test_a_sweep_whose_every_cell_failed_is_failed_and_exits_non_zero(capsys, monkeypatch):
    FakeRecorder.made.clear()
    monkeypatch.setattr(cli, "RECORDER_FACTORY", FakeRecorder)
    argv = ["sweep", Q, "--answer", "42", "--model", "fake/error", "--budgets", "50", "--json"]
    assert cli.main(argv) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["status"] == "failed" and d["errors"] == 2 and all(r["status"] == "error" for r in d["rows"])
    assert FakeRecorder.made[-1].finished[0] == "failed"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--budgets", "10,abc"], "abc"),
        (["--budgets", "0"], ""),
        (["--grid", "log:5:500"], "log:LO:HI:N"),
        ([], "either --budgets"),
        (["--budgets", "10", "--grid", "log:5:500:8"], "either --budgets"),
        (["--budgets", "10", "--repeats", "0"], "Repeats"),
    ],
)
def test_sweep_bad_input_is_a_clear_error(capsys, argv, message):
    assert cli.main(["sweep", Q, "--model", "fake/elastic", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_unknown_model_is_a_clear_error(capsys):
    assert cli.main(["sweep", Q, "--model", "fake/nope", "--budgets", "10"]) == 2
    assert "Unknown scripted model" in capsys.readouterr().err
    assert cli.main(["search", Q, "--answer", "1", "--model", "nonsense"]) == 2
    assert "provider/model" in capsys.readouterr().err


def test_parse_grid():
    assert parse_grid("lin:10:50:5") == [10, 20, 30, 40, 50]
    assert parse_grid("log:5:500:3") == [5, 50, 500]
    with pytest.raises(TaleError, match="whole numbers"):
        parse_grid("log:a:500:3")


# ---------------------------------------------------------------- search


def test_search_json_both_algorithms_share_the_reference(capsys):
    d = run_json(capsys, "search", Q, "--answer", "42", "--model", "fake/elastic")
    assert d["reference"]["output_tokens"] == 258 and d["reference"]["correct"] is True
    paper, ours = d["results"]["paper"], d["results"]["bracket"]
    assert paper["chosen_budget"] == 64 and [p["budget"] for p in paper["probes"]] == [None, 129, 64, 32]
    assert ours["chosen_budget"] == 48 and ours["chosen_tokens"] <= paper["chosen_tokens"]
    assert ours["probes"][0]["output_tokens"] == 258


def test_search_one_algorithm_and_text_output(capsys):
    assert cli.main(["search", Q, "--answer", "42", "--model", "fake/compliant", "--algorithm", "paper"]) == 0
    out = capsys.readouterr().out
    assert "== paper search on fake/compliant" in out and "bracket" not in out
    assert "chosen budget: 30" in out


def test_search_wrong_vanilla_says_why(capsys):
    d = run_json(capsys, "search", Q, "--answer", "41", "--model", "fake/elastic")
    assert d["results"]["paper"]["chosen_budget"] is None
    assert "wrong" in d["results"]["bracket"]["reason"]


def test_search_needs_an_answer(capsys):
    assert cli.main(["search", Q, "--answer", " ", "--model", "fake/elastic"]) == 2
    assert "gold answer" in capsys.readouterr().err


# ---------------------------------------------------------------- bench


def test_bench_samples_summary_and_csv(capsys, tmp_path):
    out_csv = tmp_path / "rows.csv"
    d = run_json(
        capsys,
        "bench",
        "--dataset",
        "samples",
        "--limit",
        "2",
        "--methods",
        "direct,vanilla,tale-ep",
        "--model",
        "fake/elastic",
        "--out",
        str(out_csv),
    )
    assert d["items"] == 2 and d["status"] == "done"
    by = {s["method"]: s for s in d["summary"]}
    assert set(by) == {"direct", "vanilla", "tale-ep"}
    for s in d["summary"]:
        assert {"method", "accuracy", "avg_output_tokens", "expense_usd"} <= set(s)
    assert by["vanilla"]["avg_output_tokens"] == 258
    with out_csv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and rows[0]["method"] == "direct"


def test_bench_jsonl_file_with_gold_answers(capsys, tmp_path):
    data = tmp_path / "mini.jsonl"
    data.write_text(
        "\n".join(json.dumps({"question": f"How many eggs in box {i}?", "answer": "42"}) for i in range(3)),
        encoding="utf-8",
    )
    d = run_json(
        capsys, "bench", "--dataset", str(data), "--methods", "vanilla,budget:50", "--model", "fake/compliant", "--rows"
    )
    by = {s["method"]: s for s in d["summary"]}
    assert by["vanilla"]["accuracy"] == 1.0 and by["budget:50"]["avg_output_tokens"] == 50
    assert by["budget:50"]["reduction_tokens_vs_vanilla"] == pytest.approx(1 - 50 / 240)
    assert len(d["rows"]) == 6


def test_bench_text_output(capsys):
    assert (
        cli.main(["bench", "--dataset", "samples", "--limit", "1", "--methods", "vanilla", "--model", "fake/flat"]) == 0
    )
    out = capsys.readouterr().out
    assert "fake/flat" in out and "answer tokens [95% CI]" in out and "McNemar p" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dataset", "no/such/file.jsonl"], "not found"),
        (["--dataset", "samples", "--methods", "bogus"], "Unknown method"),
        (["--dataset", "samples", "--limit", "0"], "--limit"),
        (["--dataset", "samples:weird"], "Unknown sample set"),
    ],
)
def test_bench_bad_input_is_a_clear_error(capsys, argv, message):
    assert cli.main(["bench", "--model", "fake/elastic", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bench_bad_dataset_file(capsys, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x"\nnot json\n', encoding="utf-8")
    assert cli.main(["bench", "--dataset", str(bad), "--model", "fake/elastic"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


# ---------------------------------------------------------------- recording


def test_runs_are_recorded_when_a_recorder_is_installed(capsys, monkeypatch):
    FakeRecorder.made.clear()
    monkeypatch.setattr(cli, "RECORDER_FACTORY", FakeRecorder)
    d = run_json(capsys, "sweep", Q, "--answer", "42", "--model", "fake/elastic", "--budgets", "50")
    rec = FakeRecorder.made[-1]
    assert d["experiment_id"] == rec.id and rec.kind == "sweep"
    assert rec.config["budgets"] == [50] and len(rec.calls) == 2
    assert rec.finished[0] == "done" and "analysis" in rec.finished[1]

    d = run_json(capsys, "search", Q, "--answer", "42", "--model", "fake/compliant")
    rec = FakeRecorder.made[-1]
    assert d["experiment_id"] == rec.id and rec.kind == "search"
    roles = [c.role for c in rec.calls]
    assert roles[0] == "reference" and set(roles[1:]) == {"probe"}
    assert rec.finished[1]["results"]["paper"]["chosen_budget"] == 30

    d = run_json(
        capsys, "bench", "--dataset", "samples", "--limit", "1", "--methods", "vanilla", "--model", "fake/elastic"
    )
    rec = FakeRecorder.made[-1]
    assert d["experiment_id"] == rec.id and rec.kind == "bench" and rec.finished[0] == "done"
    assert rec.calls[0].extra["cell"].startswith("fake/elastic|")


def test_a_failing_run_marks_the_experiment_failed(capsys, monkeypatch):
    FakeRecorder.made.clear()
    monkeypatch.setattr(cli, "RECORDER_FACTORY", FakeRecorder)
    import tale_core.experiments.sweep as sweep_mod

    def boom(*a, **k):
        raise TaleError("the engine broke")

    monkeypatch.setattr(sweep_mod, "run_sweep", boom)
    assert cli.main(["sweep", Q, "--model", "fake/elastic", "--budgets", "50"]) == 2
    assert "the engine broke" in capsys.readouterr().err
    assert FakeRecorder.made[-1].finished[0] == "failed"


# ---------------------------------------------------------------- as a subprocess


def _subprocess(*argv, tmp_path) -> subprocess.CompletedProcess:
    env = dict(os.environ, TALE_FAKE_MODELS="1", PYTHONPATH=str(REPO), TALE_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        [sys.executable, "-m", "tale_core", *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_subprocess_sweep_search_bench(tmp_path):
    p = _subprocess(
        "sweep", Q, "--answer", "42", "--model", "fake/elastic", "--budgets", "10,50", "--json", tmp_path=tmp_path
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert [r["budget"] for r in d["rows"]] == [None, 50, 10]
    assert p.stderr == ""  # not a terminal: no progress bar
    if d.get("experiment_id") is not None:  # the db extension recorded it
        assert isinstance(d["experiment_id"], str)

    p = _subprocess("search", Q, "--answer", "42", "--model", "fake/compliant", "--json", tmp_path=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["results"]["bracket"]["chosen_budget"] == 21

    p = _subprocess(
        "bench", "--dataset", "samples", "--limit", "1", "--model", "fake/elastic", "--json", tmp_path=tmp_path
    )
    assert p.returncode == 0, p.stderr
    assert {s["method"] for s in json.loads(p.stdout)["summary"]} == {"direct", "vanilla", "tale-ep"}


def test_subprocess_bad_input_exit_code_and_message(tmp_path):
    p = _subprocess("sweep", Q, "--model", "fake/elastic", "--budgets", "-5", tmp_path=tmp_path)
    assert p.returncode == 2 and p.stderr.startswith("error: ") and "Traceback" not in p.stderr


# ---------------------------------------------------------------- progress bar


def test_progress_is_quiet_when_not_a_terminal():
    import io

    from tale_core.engine.progress import Progress

    buf = io.StringIO()
    with Progress(3, "sweep", stream=buf) as bar:
        for _ in range(3):
            bar.advance(note="x")
    assert buf.getvalue() == "" and bar.done == 3


def test_progress_draws_one_line_on_a_terminal():
    import io

    from tale_core.engine.progress import Progress

    buf = io.StringIO()
    bar = Progress(4, "bench", stream=buf, enabled=True, width=4, min_interval_s=0)
    bar.advance(note="q1 vanilla")
    bar.advance(3)
    bar.close()
    text = buf.getvalue()
    assert text.startswith("\rbench [#---] 1/4") and "q1 vanilla" in text
    assert "[####] 4/4" in text and text.endswith("\n")
    assert Progress(None, "search", enabled=False).render().startswith("search 0 done")


def test_a_sweep_stopped_by_its_spend_cap_is_recorded_as_cancelled(capsys, monkeypatch):
    """The store knows running/done/cancelled/failed; the engine's "spend_cap" must not reach it."""
    import tale_core.accounting.pricing as pricing

    FakeRecorder.made.clear()
    monkeypatch.setattr(cli, "RECORDER_FACTORY", FakeRecorder)
    monkeypatch.setattr(pricing, "cost_usd", lambda *a, **k: 0.01)  # every fake call costs a cent
    d = run_json(
        capsys,
        "sweep",
        Q,
        "--answer",
        "42",
        "--model",
        "fake/elastic",
        "--budgets",
        "10,25,50,100",
        "--spend-cap",
        "0.015",
    )
    assert d["status"] == "spend_cap"
    assert FakeRecorder.made[-1].finished[0] == "cancelled"
