"""The dataset benchmark runner and its Table-3 style summary, on scripted fake models."""

from __future__ import annotations

import threading

import pytest

from tale_core.engine.methods import MethodSpec
from tale_core.errors import TaleError
from tale_core.experiments.benchmark import (
    PAPER_TABLE3,
    BenchOutcome,
    paper_reference,
    run_benchmark,
    summarize,
    write_rows_csv,
)
from tale_core.protocols import MemoryCache
from tale_core.providers.scripted import scripted_model

ITEMS = [
    {"id": f"q{i}", "question": f"Question number {i}: how many apples are in basket {i}?", "answer": str(40 + i)}
    for i in range(1, 5)
]
ANSWERS = {it["question"]: it["answer"] for it in ITEMS}
METHODS = [MethodSpec("direct"), MethodSpec("vanilla"), MethodSpec("tale-ep")]


def fake(name: str):
    return scripted_model(name, answers=ANSWERS)


def test_rows_cover_every_item_method_and_model_in_a_stable_order():
    out = run_benchmark(ITEMS, METHODS, {"fake/elastic": fake("elastic"), "fake/compliant": fake("compliant")})
    assert isinstance(out, BenchOutcome) and out.status == "done" and out.errors == 0
    assert len(out.rows) == 4 * 3 * 2
    keys = [(r["spec"], r["item_id"], r["method"]) for r in out.rows]
    assert keys[:3] == [
        ("fake/elastic", "q1", "direct"),
        ("fake/elastic", "q1", "vanilla"),
        ("fake/elastic", "q1", "tale-ep"),
    ]
    assert keys[12][0] == "fake/compliant"
    assert all(r["status"] == "correct" for r in out.rows)


def test_summary_matches_the_known_curves():
    out = run_benchmark(ITEMS, METHODS, {"fake/elastic": fake("elastic")})
    by = {s.method: s for s in out.summary}
    assert set(by) == {"direct", "vanilla", "tale-ep"}
    assert by["vanilla"].avg_output_tokens == 258
    assert by["direct"].avg_output_tokens == 15
    # TALE-EP: the estimate "Budget: [[60]]" (2 tokens) then budget 60 -> 92 tokens on the elastic curve
    assert by["tale-ep"].avg_output_tokens == 2 + 92
    assert by["tale-ep"].reduction_tokens_vs_vanilla == pytest.approx(1 - 94 / 258)
    assert by["tale-ep"].accuracy == 1.0 and by["tale-ep"].accuracy_delta_vs_vanilla == 0.0
    assert by["vanilla"].reduction_tokens_vs_vanilla == 0.0
    assert all(s.n == 4 and s.errors == 0 for s in out.summary)


def test_errors_are_rows_counted_but_left_out_of_means():
    out = run_benchmark(ITEMS[:2], [MethodSpec("vanilla")], {"fake/error": fake("error")})
    assert out.errors == 2 and [r["status"] for r in out.rows] == ["error", "error"]
    assert "rate limit" in out.rows[0]["error"].lower()
    s = out.summary[0]
    assert s.errors == 2 and s.n == 2 and s.accuracy is None and s.avg_output_tokens is None


def test_flaky_model_gives_some_error_rows_and_the_run_goes_on():
    m = scripted_model("flaky?concurrency=1", answers=ANSWERS)
    out = run_benchmark(ITEMS, [MethodSpec("vanilla")], {"fake/flaky": m})
    assert out.status == "done" and len(out.rows) == 4
    assert out.errors == 1  # calls 1, 2, 3 (fails), 4
    assert out.summary[0].avg_output_tokens == 258 and out.summary[0].accuracy == 1.0


def test_wrong_and_no_answer_count_against_accuracy():
    rows = [
        {
            "spec": "m",
            "method": "vanilla",
            "status": "correct",
            "output_tokens": 100,
            "input_tokens": 10,
            "cost_usd": 0.002,
        },
        {
            "spec": "m",
            "method": "vanilla",
            "status": "wrong",
            "output_tokens": 300,
            "input_tokens": 10,
            "cost_usd": 0.004,
        },
        {
            "spec": "m",
            "method": "budget:50",
            "status": "correct",
            "output_tokens": 40,
            "input_tokens": 12,
            "cost_usd": 0.001,
        },
        {
            "spec": "m",
            "method": "budget:50",
            "status": "no_answer",
            "output_tokens": 60,
            "input_tokens": 12,
            "cost_usd": 0.001,
        },
        {
            "spec": "m",
            "method": "budget:50",
            "status": "error",
            "output_tokens": 0,
            "input_tokens": 0,
            "cost_usd": None,
        },
    ]
    van, bud = summarize(rows)
    assert van.accuracy == 0.5 and van.avg_output_tokens == 200 and van.expense_usd == pytest.approx(0.006)
    assert bud.n == 3 and bud.errors == 1 and bud.no_answer == 1 and bud.accuracy == 0.5
    assert bud.avg_output_tokens == 50
    assert bud.reduction_tokens_vs_vanilla == pytest.approx(0.75)
    assert bud.reduction_expense_vs_vanilla == pytest.approx(1 - 0.001 / 0.003)
    assert bud.accuracy_delta_vs_vanilla == 0.0
    assert bud.to_dict()["accuracy_pct"] == 50.0


def test_ungraded_items_have_no_accuracy():
    items = [{"question": "How many legs does a spider have?"}]
    out = run_benchmark(items, [MethodSpec("vanilla")], {"fake/elastic": fake("elastic")})
    assert out.rows[0]["status"] == "ungraded" and out.rows[0]["item_id"] == "1"
    assert out.summary[0].accuracy is None and out.summary[0].avg_output_tokens == 258


def test_limit_and_method_strings():
    out = run_benchmark(ITEMS, ["budget:50", "vanilla"], {"fake/compliant": fake("compliant")}, limit=2)
    assert len(out.rows) == 4
    assert {s.method for s in out.summary} == {"budget:50", "vanilla"}


def test_cancel_stops_scheduling():
    cancel = threading.Event()
    seen = []

    def on_result(row):
        seen.append(row)
        cancel.set()

    m = scripted_model("elastic?concurrency=1", answers=ANSWERS)
    out = run_benchmark(ITEMS, METHODS, {"fake/elastic": m}, on_result=on_result, cancel=cancel)
    assert out.status == "cancelled" and len(out.rows) == 1 and seen == out.rows
    assert m.calls == 1 and out.notes


def test_concurrency_follows_the_model_limit():
    m = scripted_model("slow?latency=0.05&concurrency=2", answers=ANSWERS)
    run_benchmark(ITEMS, [MethodSpec("vanilla"), MethodSpec("direct")], {"fake/slow": m})
    assert m.max_in_flight <= 2


def test_cache_and_sink_are_used():
    class Sink:
        def __init__(self):
            self.records = []

        def on_call(self, rec):
            self.records.append(rec)

    cache, sink, m = MemoryCache(), Sink(), fake("elastic")
    run_benchmark(ITEMS, [MethodSpec("vanilla")], {"fake/elastic": m}, cache=cache, sink=sink)
    out = run_benchmark(ITEMS, [MethodSpec("vanilla")], {"fake/elastic": m}, cache=cache, sink=sink)
    assert m.calls == 4 and all(r["cache_hit"] for r in out.rows) and len(sink.records) == 8


def test_bad_input_is_a_clear_error():
    with pytest.raises(TaleError, match="at least one model"):
        run_benchmark(ITEMS, METHODS, {})
    with pytest.raises(TaleError, match="at least one method"):
        run_benchmark(ITEMS, [], {"fake/elastic": fake("elastic")})
    with pytest.raises(TaleError, match="no questions"):
        run_benchmark([], METHODS, {"fake/elastic": fake("elastic")})
    with pytest.raises(TaleError, match="Item 1 has no question"):
        run_benchmark([{"answer": "1"}], METHODS, {"fake/elastic": fake("elastic")})
    with pytest.raises(TaleError, match="Unknown method"):
        run_benchmark(ITEMS, ["nonsense"], {"fake/elastic": fake("elastic")})


def test_dataset_items_work_too():
    datasets = pytest.importorskip("tale_core.data.datasets")
    ds = datasets.load_samples()
    items = ds.items[:2] if hasattr(ds, "items") else list(ds)[:2]
    out = run_benchmark(items, [MethodSpec("direct")], {"fake/elastic": fake("elastic")})
    assert len(out.rows) == 2 and all(r["item_id"] for r in out.rows)


def test_csv_export(tmp_path):
    out = run_benchmark(ITEMS[:1], METHODS, {"fake/elastic": fake("elastic")})
    p = write_rows_csv(out.rows, tmp_path / "rows.csv")
    text = p.read_text(encoding="utf-8").splitlines()
    assert text[0].startswith("spec,item_id,method") and len(text) == 4
    with pytest.raises(TaleError, match="Cannot write"):
        write_rows_csv(out.rows, tmp_path / "missing-dir" / "rows.csv")


def test_paper_table3_reference():
    assert PAPER_TABLE3["GSM8K"]["tale-ep"] == (84.46, 77.26, 279.84)
    assert paper_reference("gsm8k") == PAPER_TABLE3["GSM8K"]
    assert paper_reference("MathBench arithmetic") == PAPER_TABLE3["MathBench-Arithmetic"]
    assert paper_reference("unknown") is None
    # the paper's headline: 67.8% fewer output tokens on average
    avg = PAPER_TABLE3["average"]
    assert 1 - avg["tale-ep"][1] / avg["vanilla"][1] == pytest.approx(0.678, abs=0.001)


def test_cells_carry_ids_and_skip_resumes_only_missing_ones():
    class Sink:
        def __init__(self):
            self.records = []

        def on_call(self, rec):
            self.records.append(rec)

    sink, m = Sink(), fake("elastic")
    out = run_benchmark(ITEMS[:2], METHODS, {"fake/elastic": m}, sink=sink)
    assert out.rows[0]["cell_id"] == "fake/elastic|q1|direct"
    assert {r.extra["cell"] for r in sink.records} == {r["cell_id"] for r in out.rows}
    done = {"fake/elastic|q1|direct", "fake/elastic|q1|vanilla", "fake/elastic|q2|tale-ep"}
    m2 = fake("elastic")
    again = run_benchmark(ITEMS[:2], METHODS, {"fake/elastic": m2}, skip=done)
    assert again.status == "done" and {r["cell_id"] for r in again.rows} == {r["cell_id"] for r in out.rows} - done
    assert m2.calls == 1 + 1 + 2  # q1 tale-ep (estimate + answer), q2 direct, q2 vanilla
