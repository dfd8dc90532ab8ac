"""tale_core.analysis.charts: pure plotly builders, fed with real engine objects (scripted sweep) and dicts."""

from __future__ import annotations

import math

from tale_core.analysis import charts
from tale_core.analysis.elasticity import analyze
from tale_core.experiments.sweep import SweepConfig, run_sweep
from tale_core.providers.scripted import scripted_model


def _sweep(models=("fake/elastic",), budgets=(5, 10, 50, 200), repeats=1):
    cfg = SweepConfig(
        question="What is 6 times 7?",
        gold="42",
        models=models,
        budgets=budgets,
        repeats=repeats,
        temperature=0.0 if repeats == 1 else 0.7,
    )
    out = run_sweep(cfg, {m: scripted_model(m.split("/", 1)[1]) for m in models})
    return out.cells


def _titled(fig):
    layout = fig.to_plotly_json()["layout"]
    assert layout["title"]["text"]
    return layout


def test_elasticity_figure_has_curve_reference_diagonal_sweet_spot_and_region():
    cells = _sweep()
    reports = analyze(cells)
    fig = charts.elasticity_figure(reports, raw=[c.to_row() for c in cells])
    layout = _titled(fig)
    assert layout["xaxis"]["type"] == "log"
    assert "tokens" in layout["xaxis"]["title"]["text"] and "tokens" in layout["yaxis"]["title"]["text"]
    assert layout["xaxis"]["tickvals"] == [5, 10, 50, 200]
    names = [t.name for t in fig.data]
    assert "Spending exactly the budget (y = x)" in names
    assert "fake/elastic: vanilla CoT (258 tokens)" in names
    curve = next(t for t in fig.data if t.name == "fake/elastic")
    assert list(curve.y) == [165, 157, 86, 200]
    assert all("Budget asked" in h for h in curve.hovertext)
    texts = [a["text"] for a in layout["annotations"]]
    assert any("sweet spot: budget 50" in t for t in texts)
    region = next(a for a in layout["annotations"] if "elastic region" in a["text"])
    assert math.isclose(region["x"], (math.log10(5) + math.log10(50)) / 2)  # log-axis annotation position
    assert layout["shapes"][0]["x0"] == 5 and layout["shapes"][0]["x1"] == 50


def test_elasticity_figure_accepts_report_dicts_and_shows_repeat_spread():
    cells = _sweep(repeats=2)
    reports = {k: v.to_dict() for k, v in analyze(cells).items()}
    fig = charts.elasticity_figure(reports, raw=[c.to_row() for c in cells])
    assert any(t.name == "fake/elastic: each repeat" for t in fig.data)


def test_repeats_draw_a_spread_band_around_the_mean():
    from tale_core.analysis.elasticity import BudgetPoint, ElasticityReport

    def pt(b: int, mean: float, sd: float) -> BudgetPoint:
        return BudgetPoint(b, mean, sd, 3, 3, 1.0, mean / b, None, n_graded=3)

    rep = ElasticityReport("m", [pt(10, 100, 10), pt(50, 60, 5)], None, None, None, None, None)
    fig = charts.elasticity_figure({"m": rep})
    band = next(t for t in fig.data if t.name == "m: spread over repeats (mean ± 1 SD)")
    assert band.fill == "toself"
    assert list(band.x) == [10, 50, 50, 10] and list(band.y) == [110, 65, 55, 90]
    # one repeat: no band
    single = ElasticityReport("m", [BudgetPoint(10, 100, 0, 1, 1, 1.0, 10, None)], None, None, None, None, None)
    assert not any("spread" in (t.name or "") for t in charts.elasticity_figure({"m": single}).data)


def test_cliff_and_elastic_region_are_drawn_differently():
    from tale_core.analysis.elasticity import BudgetPoint, ElasticityReport

    pts = [
        BudgetPoint(5, 30, 0, 1, 0, 0.0, 6, None, n_graded=1),
        BudgetPoint(10, 200, 0, 1, 1, 1.0, 20, None, n_graded=1),
        BudgetPoint(50, 80, 0, 1, 1, 1.0, 1.6, None, n_graded=1),
    ]
    rep = ElasticityReport("m", pts, None, None, pts[2], (10, 50), None, cliff=(5, 10))
    layout = charts.elasticity_figure({"m": rep}).to_plotly_json()["layout"]
    region, edge = layout["shapes"][0], layout["shapes"][1]
    assert (region["x0"], region["x1"]) == (10, 50) and not region.get("line", {}).get("dash")
    assert (edge["x0"], edge["x1"]) == (5, 10) and edge["line"]["dash"] == "dash"
    texts = [a["text"] for a in layout["annotations"]]
    assert any(t.startswith("elastic region (m)") for t in texts)
    assert "cliff (m): wrong at budget 5, correct from 10" in texts


def test_empty_inputs_give_a_message_not_empty_axes():
    for fig in (
        charts.elasticity_figure({}),
        charts.accuracy_cost_figure([]),
        charts.search_path_figure([]),
        charts.vanilla_vs_tale_figure([]),
    ):
        ann = fig.to_plotly_json()["layout"]["annotations"]
        assert ann and ann[0]["text"]


def test_accuracy_cost_figure_two_panels_with_units():
    fig = charts.accuracy_cost_figure(analyze(_sweep(models=("fake/compliant",))))
    layout = _titled(fig)
    assert layout["yaxis"]["title"]["text"] == "Correct (%)"
    assert layout["yaxis2"]["title"]["text"] == "Cost (USD)"
    acc = fig.data[0]
    assert list(acc.y) == [0, 0, 100, 100]  # compliant is wrong below budget 20


def test_search_path_numbers_probes_and_stars_the_choice():
    probes = [
        {"step": 0, "budget": None, "output_tokens": 258, "correct": True, "accepted": True},
        {"step": 1, "budget": 129, "output_tokens": 143, "correct": True, "accepted": True},
        {"step": 2, "budget": 64, "output_tokens": 94, "correct": True, "accepted": True},
        {"step": 3, "budget": 32, "output_tokens": 98, "correct": True, "accepted": False},
    ]
    fig = charts.search_path_figure({"Paper": probes}, reference_tokens=258, chosen={"Paper": (64, 94)})
    path = next(t for t in fig.data if t.name == "Paper")
    assert list(path.x) == [258, 129, 64, 32] and list(path.text) == ["0", "1", "2", "3"]
    # shape = verdict, open = rejected: the last probe was correct but rejected
    assert list(path.marker.symbol) == ["circle", "circle", "circle", "circle-open"]
    assert any(t.name == "Paper: chosen budget 64" for t in fig.data)


def test_vanilla_vs_tale_splits_correct_and_wrong():
    rows = [
        {"question_id": "a", "vanilla_tokens": 250, "tale_tokens": 80, "tale_correct": True},
        {"question_id": "b", "vanilla_tokens": 300, "tale_tokens": 120, "tale_correct": False},
    ]
    fig = charts.vanilla_vs_tale_figure(rows)
    assert {t.name for t in fig.data} == {"Same tokens (y = x)", "TALE correct (1 question)", "TALE wrong (1 question)"}
    assert "Question a" in next(t for t in fig.data if t.name.startswith("TALE correct")).hovertext[0]


def test_paper_vs_now_bars():
    rows = [
        {"label": "Direct answer", "paper_tokens": 15, "now_tokens": 12},
        {"label": "Vanilla CoT", "paper_tokens": 258, "now_tokens": None},
    ]
    fig = charts.paper_vs_now_figure(rows, model="fake/elastic")
    assert [t.name for t in fig.data] == ["Paper (GPT-4o-mini)", "Now (fake/elastic)"]
    assert fig.to_plotly_json()["layout"]["xaxis"].get("type") in (None, "category")  # bars need categories
    fig = charts.paper_vs_now_figure([dict(r, now_tokens=None) for r in rows], model="x")
    assert [t.name for t in fig.data] == ["Paper (GPT-4o-mini)"]


def _y_on_log_axis(trace, x: float) -> float:
    """The y a drawn line shows at ``x`` on a log x axis: plotly joins vertices straight in log(x)."""
    xs, ys = list(trace.x), list(trace.y)
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x0 <= x <= x1:
            t = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0)) if x1 > x0 else 0.0
            return y0 + t * (y1 - y0)
    raise AssertionError(f"{x} outside the line {xs[0]}..{xs[-1]}")


def test_identity_line_passes_through_b_b_on_the_log_axis():
    """Two end points on a log axis draw a straight segment far below y = x; the line must curve."""
    cells = _sweep(budgets=(5, 10, 50, 200, 500))
    fig = charts.elasticity_figure(analyze(cells))
    diag = next(t for t in fig.data if t.name == "Spending exactly the budget (y = x)")
    for b in (5, 7, 10, 23, 50, 120, 200, 333, 500):  # budgets asked and values in between
        assert math.isclose(_y_on_log_axis(diag, b), b, rel_tol=0.01), b


def test_marks_keep_3_to_1_contrast_on_light_and_dark_backgrounds():
    marks = [*charts.PALETTE, charts.CORRECT, charts.WRONG, charts.UNKNOWN, charts.GUIDE, charts.STAR]
    for color in marks:
        for bg in (charts.LIGHT_BG, charts.DARK_BG):
            assert charts.contrast_ratio(color, bg) >= 3.0, (color, bg, charts.contrast_ratio(color, bg))
    assert math.isclose(charts.contrast_ratio("#000000", "#ffffff"), 21.0)


def test_the_drawn_figures_use_only_contrasting_colours_and_shapes_for_verdicts():
    cells = _sweep(models=("fake/elastic", "fake/compliant"))
    fig = charts.elasticity_figure(analyze(cells), raw=[c.to_row() for c in cells])
    used = set()
    for t in fig.data:
        used.add(t.line.color) if t.line and t.line.color else None
        m = t.marker
        if m and m.color is not None:
            used.update([m.color] if isinstance(m.color, str) else m.color)
    for color in used:
        assert charts.contrast_ratio(color, charts.LIGHT_BG) >= 3.0, color
        assert charts.contrast_ratio(color, charts.DARK_BG) >= 3.0, color
    star = next(t for t in fig.data if t.name and t.name.endswith("sweet spot"))
    assert star.marker.color == charts.STAR
    curve = next(t for t in fig.data if t.name == "fake/compliant")
    acc = {p.budget: p.accuracy for p in analyze(cells)["fake/compliant"].points}
    # wrong budgets are crosses, correct ones circles: not told apart by colour alone
    for x, sym in zip(curve.x, curve.marker.symbol):
        assert sym == ("circle" if acc[x] >= 0.5 else "x")
    assert {"circle", "x"} <= set(curve.marker.symbol)


def test_vanilla_vs_tale_gathers_identical_points_and_says_how_many():
    rows = [{"question_id": f"q{i}", "vanilla_tokens": 250, "tale_tokens": 80, "tale_correct": True} for i in range(5)]
    rows.append({"question_id": "z", "vanilla_tokens": 300, "tale_tokens": 90, "tale_correct": True})
    fig = charts.vanilla_vs_tale_figure(rows)
    tr = next(t for t in fig.data if t.name == "TALE correct (6 questions)")
    assert len(tr.x) == 2  # two spots, not six stacked markers
    i = list(tr.x).index(250)
    assert tr.text[i] == "×5" and tr.marker.size[i] > tr.marker.size[1 - i]
    assert "5 questions here: q0, q1, q2, q3, q4" in tr.hovertext[i]
