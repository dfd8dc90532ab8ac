"""Elasticity analysis on scripted models whose curves are known exactly."""

import pytest

from tale_core.analysis.elasticity import analyze, elastic_region, sweet_spot
from tale_core.engine.methods import MethodResult, MethodSpec
from tale_core.errors import TaleError
from tale_core.experiments.sweep import CellKey, SweepCell, SweepConfig, run_sweep
from tale_core.providers.scripted import scripted_model

Q = "Anna has 40 pens and gets 2 more. How many pens?"


def sweep(specs, budgets, gold="42", repeats=1):
    c = SweepConfig(question=Q, gold=gold, models=tuple(specs), budgets=tuple(budgets), repeats=repeats)
    return run_sweep(c, {s: scripted_model(s.split("/", 1)[1]) for s in specs}).cells


def fake_cell(spec, budget, tokens, correct, repeat=0, status=None):
    st = status or ("ungraded" if correct is None else ("correct" if correct else "wrong"))
    res = MethodResult(
        method=MethodSpec("vanilla") if budget is None else MethodSpec("budget", budget),
        spec=spec,
        records=[],
        status=st,
        text="",
        extracted=None,
        correct=correct,
        budget_used=budget,
        input_tokens=10,
        output_tokens=tokens,
        answer_output_tokens=tokens,
        estimate_output_tokens=0,
        reasoning_tokens=0,
        cost_usd=tokens * 1e-6,
        latency_s=0.0,
        estimate=None,
        error={"kind": "server_error", "message": "x"} if st == "error" else None,
        cache_hit=False,
    )
    return SweepCell(CellKey(spec, budget, repeat), res)


def test_elastic_curve():
    rep = analyze(sweep(["fake/elastic"], (2, 5, 10, 25, 50, 100, 200)))["fake/elastic"]
    by = {p.budget: p for p in rep.points}
    assert [p.budget for p in rep.points] == [2, 5, 10, 25, 50, 100, 200]
    assert by[10].mean_tokens == 157 and by[50].mean_tokens == 86 and by[2].accuracy == 0.0
    assert by[10].compliance == pytest.approx(15.7) and by[200].compliance == pytest.approx(1.0)
    assert rep.reference_tokens == 258 and rep.reference_correct == 1.0
    assert rep.sweet_spot.budget == 50 and rep.sweet_spot_rule == "all"
    # budget 2 is wrong (the curve fails below 5): that is the cliff, not part of the elastic region
    assert rep.elastic_region == (5, 50) and rep.cliff == (2, 5) and rep.wrong_budgets == [2]
    assert rep.savings_vs_reference == pytest.approx(1 - 86 / 258)
    d = rep.to_dict()
    assert d["sweet_spot_budget"] == 50 and d["elastic_region"] == [5, 50] and len(d["points"]) == 7
    assert d["cliff"] == [2, 5]


def test_compliant_and_flat_curves_have_no_elastic_region():
    reps = analyze(sweep(["fake/compliant", "fake/flat"], (10, 20, 40, 80)))
    comp, flat = reps["fake/compliant"], reps["fake/flat"]
    assert comp.elastic_region is None and flat.elastic_region is None
    assert comp.cliff == (10, 20) and flat.cliff is None
    assert all(p.compliance == 1.0 for p in comp.points)
    assert comp.sweet_spot.budget == 20  # cheapest budget that is still correct (wrong below 20)
    assert comp.savings_vs_reference == pytest.approx(1 - 20 / 240)
    assert flat.sweet_spot.budget == 80 and flat.savings_vs_reference == 0  # tie: the larger budget
    assert list(reps) == ["fake/compliant", "fake/flat"]


def test_ungraded_sweep():
    rep = analyze(sweep(["fake/elastic"], (10, 50), gold=None))["fake/elastic"]
    assert rep.sweet_spot_rule == "ungraded" and rep.sweet_spot.budget == 50
    assert rep.reference_correct is None and all(p.accuracy is None for p in rep.points)


def test_repeats_mean_std_and_majority_rule():
    cells = [
        fake_cell("m", 10, 100, True),
        fake_cell("m", 10, 120, False, 1),
        fake_cell("m", 10, 110, True, 2),
        fake_cell("m", 50, 150, True),
        fake_cell("m", 50, 150, True, 1),
        fake_cell("m", 50, 150, True, 2),
    ]
    rep = analyze(cells)["m"]
    p10 = rep.points[0]
    assert (p10.n, p10.n_correct, p10.mean_tokens) == (3, 2, 110)
    assert p10.std_tokens == pytest.approx((200 / 3) ** 0.5) and p10.accuracy == pytest.approx(2 / 3)
    assert p10.mean_cost == pytest.approx(110e-6) and (p10.min_tokens, p10.max_tokens) == (100, 120)
    assert rep.sweet_spot.budget == 50
    assert analyze(cells, rule="majority")["m"].sweet_spot.budget == 10
    assert rep.reference_tokens is None and rep.savings_vs_reference is None and rep.notes


def test_error_cells_are_excluded_and_reported():
    cells = [
        fake_cell("m", 10, 0, None, status="error"),
        fake_cell("m", 20, 0, None, status="error"),
        fake_cell("m", 20, 90, True, 1),
        fake_cell("m", None, 300, True),
    ]
    rep = analyze(cells)["m"]
    assert [p.budget for p in rep.points] == [20] and rep.points[0].n_errors == 1
    assert rep.failed_budgets == [10] and rep.sweet_spot.budget == 20
    assert rep.savings_vs_reference == pytest.approx(0.7)
    assert analyze(sweep(["fake/error"], (10, 50)))["fake/error"].points == []


def test_no_budget_correct_means_no_sweet_spot():
    rep = analyze([fake_cell("m", 10, 50, False), fake_cell("m", 20, 40, False)])["m"]
    assert rep.sweet_spot is None and any("sweet spot" in n for n in rep.notes)


def test_tolerance_ignores_noise():
    pts = analyze([fake_cell("m", 10, 102, True), fake_cell("m", 50, 100, True)])["m"].points
    assert elastic_region(pts) is None and elastic_region(pts, tolerance=0.0) == (10, 50)
    assert sweet_spot([]) == (None, "all")


def test_bad_rule_is_an_error():
    with pytest.raises(TaleError):
        analyze([], rule="some")
    assert analyze([]) == {}


def test_issue_example_elastic_region_uses_correctness():
    """10: 300 tokens correct, 20: 40 wrong, 50: 80 correct. The sweet spot is 50; 20 is a cliff (answers
    turn wrong), not an elastic region; 10 is correct again but lies beyond the cliff."""
    cells = [fake_cell("m", 10, 300, True), fake_cell("m", 20, 40, False), fake_cell("m", 50, 80, True)]
    rep = analyze(cells)["m"]
    assert rep.sweet_spot.budget == 50
    assert rep.elastic_region is None and rep.elastic_region != (10, 20)
    assert rep.cliff == (20, 50) and rep.wrong_budgets == [20]
    assert any("Correct again below the cliff at budget(s) 10 (300 tokens)" in n for n in rep.notes)


def test_elastic_region_and_cliff_together():
    cells = [
        fake_cell("m", 5, 30, False),
        fake_cell("m", 10, 200, True),
        fake_cell("m", 20, 150, True),
        fake_cell("m", 50, 80, True),
        fake_cell("m", 100, 120, True),
    ]
    rep = analyze(cells)["m"]
    assert rep.elastic_region == (10, 50) and rep.cliff == (5, 10)


def test_elastic_region_counts_the_tokens_of_correct_answers():
    # majority rule: at budget 10 two of three are right; their answers (200, 220) are long, the wrong one
    # is short (20): the mean of all (146.7) hides that correct answers got longer
    cells = [
        fake_cell("m", 10, 200, True),
        fake_cell("m", 10, 220, True, 1),
        fake_cell("m", 10, 20, False, 2),
        fake_cell("m", 50, 150, True),
        fake_cell("m", 50, 150, True, 1),
        fake_cell("m", 50, 150, True, 2),
    ]
    rep = analyze(cells, rule="majority")["m"]
    p10 = rep.points[0]
    assert p10.mean_tokens == pytest.approx(440 / 3) and p10.mean_tokens_correct == 210
    assert rep.elastic_region == (10, 50) and rep.cliff is None
    # under the "all" rule budget 10 fails: a cliff, and no elastic region
    strict = analyze(cells)["m"]
    assert strict.cliff == (10, 50) and strict.elastic_region is None


def test_ungraded_sweep_has_no_cliff_but_an_elastic_region():
    rep = analyze(sweep(["fake/elastic"], (2, 10, 50), gold=None))["fake/elastic"]
    assert rep.cliff is None and rep.elastic_region == (2, 50)
