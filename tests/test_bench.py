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
    # TALE-EP: the estimate "Budget: [[60]]" (2 tokens) then budget 60 -> 92 tokens on the elastic curve;
    # the paper's convention counts the answer call only, the total counts both
    t = by["tale-ep"]
    assert t.avg_output_tokens == t.answer_tokens == 92 and t.estimator_tokens == 2 and t.total_tokens == 94
    assert t.reduction_tokens_vs_vanilla == pytest.approx(1 - 92 / 258)
    assert t.reduction_total_tokens_vs_vanilla == pytest.approx(1 - 94 / 258)
    assert by["vanilla"].estimator_tokens == 0 and by["vanilla"].total_tokens == 258
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
    assert van.accuracy_ci == pytest.approx([0.0945, 0.9055], abs=1e-4)  # Wilson, 1 of 2
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


# ---------------------------------------------------------------- intervals, pairing, repeats


def _row(q: str, method: str, status: str, tokens: int, repeat: int = 0, est: int = 0, text: str | None = None):
    return {
        "spec": "m",
        "item_id": q,
        "repeat": repeat,
        "method": method,
        "status": status,
        "output_tokens": tokens + est,
        "answer_output_tokens": tokens,
        "estimate_output_tokens": est,
        "input_tokens": 10,
        "cost_usd": None,
        "text": text,
    }


def test_paired_comparison_with_mcnemar_and_intervals():
    rows = []
    for i in range(20):
        rows.append(_row(f"q{i}", "vanilla", "correct", 300 + i))
        # TALE-EP: right on 14 of 20 (all 6 misses are questions vanilla got right), 5 estimator tokens
        rows.append(_row(f"q{i}", "tale-ep", "correct" if i < 14 else "wrong", 100 + i, est=5))
    van, tale = summarize(rows)
    assert van.accuracy == 1.0 and van.accuracy_ci_method == "wilson"
    assert van.accuracy_ci == pytest.approx([0.8389, 1.0], abs=1e-4)
    assert tale.accuracy == pytest.approx(0.7) and tale.accuracy_ci == pytest.approx([0.4810, 0.8545], abs=1e-4)
    assert (tale.mcnemar_b, tale.mcnemar_c) == (0, 6) and tale.mcnemar_p == pytest.approx(2 / 64)
    assert tale.accuracy_delta_vs_vanilla == pytest.approx(-0.3) and tale.n_paired == 20
    assert tale.reduction_tokens_vs_vanilla == pytest.approx(1 - 109.5 / 309.5)
    lo, hi = tale.reduction_vs_vanilla_ci
    assert lo < tale.reduction_tokens_vs_vanilla < hi and hi - lo < 0.05
    assert tale.estimator_tokens == 5 and tale.total_tokens == pytest.approx(114.5)
    lo, hi = tale.avg_output_tokens_ci
    assert lo < 109.5 < hi
    assert van.mcnemar_p is None and van.reduction_vs_vanilla_ci is None
    d = tale.to_dict()
    assert {"accuracy_ci", "avg_output_tokens_ci", "answer_tokens", "estimator_tokens"} <= set(d)
    assert {"reduction_vs_vanilla_ci", "mcnemar_p", "total_tokens"} <= set(d)


def test_repeats_are_aggregated_per_question_before_pairing():
    rows = []
    for i in range(6):
        for k in range(3):
            rows.append(_row(f"q{i}", "vanilla", "correct", 200, repeat=k))
            # question q0 right in 1 of 3 trials (majority wrong), q1 right in 2 of 3, the rest always right
            ok = not ((i == 0 and k > 0) or (i == 1 and k == 0))
            rows.append(_row(f"q{i}", "budget:50", "correct" if ok else "wrong", 40 + 10 * k, repeat=k))
    van, bud = summarize(rows)
    assert bud.repeats == 3 and bud.n_questions == 6 and bud.n == 18
    assert bud.accuracy_ci_method == "bootstrap over questions"
    assert bud.accuracy == pytest.approx((1 / 3 + 2 / 3 + 4) / 6)
    # McNemar sees one yes/no per question (the majority): only q0 is discordant
    assert (bud.mcnemar_b, bud.mcnemar_c) == (0, 1) and bud.mcnemar_p == 1.0
    assert bud.avg_output_tokens == 50 and bud.reduction_tokens_vs_vanilla == pytest.approx(0.75)
    assert bud.reduction_vs_vanilla_ci == pytest.approx([0.75, 0.75])  # no spread: every question 50 vs 200


def test_hedged_answers_count_as_not_correct_and_are_reported_apart():
    rows = [_row("a", "vanilla", "correct", 10), _row("b", "vanilla", "hedged", 10), _row("c", "vanilla", "wrong", 10)]
    (s,) = summarize(rows)
    assert s.accuracy == pytest.approx(1 / 3) and s.hedged == 1 and s.no_answer == 0 and s.n_graded == 3


def test_paper_token_count_uses_cl100k_over_the_answer_text():
    from tale_core.experiments.benchmark import paper_token_count

    text = "Let's think step by step. 3 + 4 = 7. Answer: [[7]]"
    rows = [_row("a", "vanilla", "correct", 99, text=text)]
    (s,) = summarize(rows)
    assert s.paper_tokens == paper_token_count(text) and 10 < s.paper_tokens < 30
    assert summarize(rows, paper_tokens=False)[0].paper_tokens is None
    assert paper_token_count(None) is None
