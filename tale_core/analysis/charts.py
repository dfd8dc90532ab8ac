"""Plotly figure builders for TALE Explorer (pure: no Streamlit; the pages just display the figures).

Every builder accepts the engine's objects (``ElasticityReport``, ``BudgetPoint``, ...) or their
``to_dict()`` form, so a reopened experiment draws exactly like a live one. Every figure has a title,
axis titles with units and hover text that reads as a sentence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

#: Okabe-Ito's colour-blind-safe hues, darkened where needed so that every mark keeps a contrast of at
#: least 3:1 against both Streamlit backgrounds (white, and the dark theme's near-black); see
#: :func:`contrast_ratio` and tests/test_app_charts.py
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8856A7", "#A16C00", "#757575")
CORRECT = "#009E73"
WRONG = "#D55E00"
UNKNOWN = "#757575"
#: correct / wrong / not graded differ by shape as well as colour (readable without colour vision)
CORRECT_SYMBOL = "circle"
WRONG_SYMBOL = "x"
UNKNOWN_SYMBOL = "diamond"
GUIDE = "#808080"  # the y = x line, the vanilla level of the search chart, the curve behind a search path
STAR = "#B8860B"  # sweet spot / chosen budget
LIGHT_BG = "#FFFFFF"
DARK_BG = "#0E1117"  # Streamlit's dark theme background
FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or key: works for dataclasses and their to_dict() form."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _luminance(hex_color: str) -> float:
    h = hex_color.lstrip("#")
    rgb = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21; marks need at least 3)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def identity_line(lo: float, hi: float, *, points: int = 120, include: Iterable[float] = ()) -> list[float]:
    """x values for drawing y = x on a log x axis: evenly spaced in log(x), so the drawn line curves as
    it should (two end points would draw a straight segment in screen space, far below y = x between
    them); ``include`` adds exact values (the budgets asked) so points that spend exactly their budget
    sit on a vertex of the line."""
    lo, hi = float(min(lo, hi)), float(max(lo, hi))
    if lo <= 0 or hi <= lo:
        return [lo, hi] if hi > lo else [lo]
    step = (math.log(hi) - math.log(lo)) / (points - 1)
    exact = {float(v) for v in include if lo <= float(v) <= hi} | {lo, hi}
    inner = (lo * math.exp(step * k) for k in range(1, points - 1))
    return sorted(exact | {x for x in inner if all(abs(x - e) > 1e-6 * e for e in exact)})


def _verdict_symbol(ok: Any) -> str:
    return CORRECT_SYMBOL if ok else (UNKNOWN_SYMBOL if ok is None else WRONG_SYMBOL)


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, *, log_x: bool = False) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left"),
        font=FONT,
        template="plotly_white",
        hovermode="closest",
        legend=dict(orientation="h", yanchor="top", y=-0.18, x=0),
        margin=dict(l=60, r=20, t=60, b=80),
    )
    fig.update_xaxes(title_text=x_title)
    if log_x:  # otherwise plotly picks the type (categories for the Learn page's bars)
        fig.update_xaxes(type="log")
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    return fig


def _point_color(accuracy: float | None) -> str:
    if accuracy is None:
        return UNKNOWN
    return CORRECT if accuracy >= 0.5 else WRONG


def _point_symbol(accuracy: float | None) -> str:
    return _verdict_symbol(None if accuracy is None else accuracy >= 0.5)


def _fmt_acc(acc: float | None) -> str:
    return "not graded" if acc is None else f"{100 * acc:.0f}% correct"


def _fmt_money(v: float | None) -> str:
    if v is None:
        return "unknown"
    return f"${v:.6f}" if v < 0.01 else f"${v:.4f}"


def _budget_range(reports: Iterable[Any]) -> tuple[float, float] | None:
    budgets = [_get(p, "budget") for r in reports for p in (_get(r, "points") or [])]
    budgets = [b for b in budgets if b]
    if not budgets:
        return None
    return float(min(budgets)), float(max(budgets))


def _budget_ticks(fig: go.Figure, budgets: Iterable[float], **where: Any) -> None:
    """Label a log budget axis with the budgets actually asked (not plotly's 2-3-5 minor ticks)."""
    vals = sorted({float(b) for b in budgets if b})
    if not vals:
        return
    if len(vals) <= 15:
        fig.update_xaxes(tickvals=vals, ticktext=[f"{v:g}" for v in vals], **where)
    else:
        fig.update_xaxes(dtick=1, **where)


def empty_figure(title: str, message: str) -> go.Figure:
    """A figure that says what to do instead of showing empty axes."""
    fig = go.Figure()
    fig.add_annotation(
        text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font=dict(size=15, color=UNKNOWN)
    )
    fig.update_layout(
        title=dict(text=title, x=0.0),
        font=FONT,
        template="plotly_white",
        xaxis=dict(visible=False),
        yaxis=dict(visible=False),
        height=320,
    )
    return fig


def elasticity_figure(
    reports: Mapping[str, Any] | Sequence[Any],
    *,
    raw: Sequence[Mapping[str, Any]] = (),
    title: str = "Token elasticity: budget asked vs tokens spent",
) -> go.Figure:
    """The elasticity curve per model.

    ``reports``: ElasticityReport objects (or dicts) keyed by model spec, or a list of them. ``raw``:
    optional per-cell rows (``spec``, ``budget``, ``output_tokens``, ``correct``) drawn as faint dots to
    show the spread across repeats. Log budget axis; y = x line (spending exactly the budget); dotted
    vanilla CoT level per model; green/red markers for correct/wrong; sweet spot starred. With repeats
    the mean is drawn with a band of one standard deviation around it. The elastic region (correct
    answers get longer as the budget shrinks) is shaded in the model's colour; the cliff (answers turn
    wrong below a budget) is a red dashed boundary with its own label: two different findings.
    """
    items = list(reports.values()) if isinstance(reports, Mapping) else list(reports)
    items = [r for r in items if _get(r, "points")]
    if not items:
        return empty_figure(title, "No budget results yet: start a sweep to draw the curve.")
    fig = go.Figure()
    rng = _budget_range(items)
    lo, hi = rng if rng else (1.0, 1000.0)
    diag = identity_line(lo, hi, include=[_get(p, "budget") for r in items for p in (_get(r, "points") or [])])
    fig.add_trace(
        go.Scatter(
            x=diag,
            y=diag,
            mode="lines",
            name="Spending exactly the budget (y = x)",
            line=dict(color=GUIDE, dash="dash", width=1.5),
            hoverinfo="skip",
        )
    )
    for i, rep in enumerate(items):
        spec = str(_get(rep, "spec", f"model {i + 1}"))
        color = _color(i)
        pts = sorted(_get(rep, "points") or [], key=lambda p: _get(p, "budget"))
        xs = [_get(p, "budget") for p in pts]
        ys = [_get(p, "mean_tokens") for p in pts]
        stds = [(_get(p, "std_tokens") or 0.0) if (_get(p, "n") or 1) > 1 else 0.0 for p in pts]
        if any(stds):
            # the spread across repeats: a band of +-1 standard deviation around the mean
            upper = [y + sd for y, sd in zip(ys, stds)]
            lower = [max(0.0, y - sd) for y, sd in zip(ys, stds)]
            fig.add_trace(
                go.Scatter(
                    x=xs + xs[::-1],
                    y=upper + lower[::-1],
                    mode="lines",
                    fill="toself",
                    fillcolor=color,
                    opacity=0.15,
                    line=dict(width=0),
                    name=f"{spec}: spread over repeats (mean ± 1 SD)",
                    legendgroup=spec,
                    hoverinfo="skip",
                )
            )
        hover = [
            (
                f"<b>{spec}</b><br>Budget asked: {_get(p, 'budget')} tokens<br>"
                f"Tokens spent: {_get(p, 'mean_tokens'):.0f} (mean of {_get(p, 'n') or 1}"
                + (f", SD {_get(p, 'std_tokens'):.0f}" if (_get(p, "n") or 1) > 1 else "")
                + ")<br>"
                f"{_fmt_acc(_get(p, 'accuracy'))}<br>Mean cost: {_fmt_money(_get(p, 'mean_cost'))}"
            )
            for p in pts
        ]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name=spec,
                legendgroup=spec,
                line=dict(color=color, width=2),
                marker=dict(
                    size=11,
                    color=[_point_color(_get(p, "accuracy")) for p in pts],
                    symbol=[_point_symbol(_get(p, "accuracy")) for p in pts],
                    line=dict(color=color, width=2),
                ),
                hovertext=hover,
                hoverinfo="text",
            )
        )
        spec_raw = [
            r
            for r in raw
            if r.get("spec") == spec and r.get("budget") is not None and r.get("output_tokens") is not None
        ]
        if spec_raw and any((_get(p, "n") or 1) > 1 for p in pts):
            fig.add_trace(
                go.Scatter(
                    x=[r["budget"] for r in spec_raw],
                    y=[r["output_tokens"] for r in spec_raw],
                    mode="markers",
                    name=f"{spec}: each repeat",
                    legendgroup=spec,
                    showlegend=False,
                    marker=dict(size=5, color=color, opacity=0.35),
                    hovertext=[
                        f"{spec}, budget {r['budget']}: {r['output_tokens']} tokens (one repeat)" for r in spec_raw
                    ],
                    hoverinfo="text",
                )
            )
        ref = _get(rep, "reference_tokens")
        if ref is not None:
            fig.add_trace(
                go.Scatter(
                    x=[lo, hi],
                    y=[ref, ref],
                    mode="lines",
                    name=f"{spec}: vanilla CoT ({ref:.0f} tokens)",
                    legendgroup=spec,
                    line=dict(color=color, dash="dot", width=1.5),
                    hovertext=f"{spec}: vanilla CoT without a budget spends {ref:.0f} tokens "
                    f"({_fmt_acc(_get(rep, 'reference_correct'))})",
                    hoverinfo="text",
                )
            )
        sweet = _get(rep, "sweet_spot")
        if sweet is not None:
            savings = _get(rep, "savings_vs_reference")
            note = f"sweet spot: budget {_get(sweet, 'budget')}"
            if savings is not None:
                note += (
                    f", {100 * savings:.0f}% fewer tokens than vanilla"
                    if savings >= 0
                    else f", {1 - savings:.1f}x the tokens of the reference (no budget)"
                )
            fig.add_trace(
                go.Scatter(
                    x=[_get(sweet, "budget")],
                    y=[_get(sweet, "mean_tokens")],
                    mode="markers",
                    name=f"{spec}: sweet spot",
                    legendgroup=spec,
                    showlegend=False,
                    marker=dict(symbol="star", size=20, color=STAR, line=dict(color=color, width=1.5)),
                    hovertext=f"{spec}: {note}",
                    hoverinfo="text",
                )
            )
            fig.add_annotation(
                x=math.log10(_get(sweet, "budget")),
                y=_get(sweet, "mean_tokens"),
                text=note,
                showarrow=True,
                arrowhead=2,
                # below and to the right: the sweet spot is the curve's lowest correct point, so the space
                # under it to the right holds no points (above-left it printed over the descending curve)
                ax=40,
                ay=48,
                xanchor="left",
                font=dict(size=12, color="#333"),
                bgcolor="rgba(255,255,255,0.88)",
                bordercolor=GUIDE,
                borderwidth=1,
            )
        region = _get(rep, "elastic_region")
        if region:
            a, b = region
            fig.add_vrect(x0=a, x1=b, fillcolor=color, opacity=0.08, line_width=0)
            # annotations on a log axis take log10 positions
            fig.add_annotation(
                x=(math.log10(a) + math.log10(b)) / 2,
                y=1.0,
                yref="paper",
                yanchor="bottom",
                text=f"elastic region ({spec}): shorter budgets, longer correct answers",
                showarrow=False,
                font=dict(size=11, color=color),
            )
        edge = _get(rep, "cliff")
        if edge:
            wrong_b, right_b = edge
            # the cliff: answers turn wrong between these budgets; a red dashed boundary, not a shade
            fig.add_vrect(
                x0=wrong_b,
                x1=right_b,
                fillcolor="rgba(211, 47, 47, 0.06)",
                line=dict(color="#d32f2f", dash="dash", width=1.5),
            )
            fig.add_annotation(
                x=(math.log10(wrong_b) + math.log10(right_b)) / 2,
                y=0.0,
                yref="paper",
                yanchor="bottom",
                text=f"cliff ({spec}): wrong at budget {wrong_b}, correct from {right_b}",
                showarrow=False,
                font=dict(size=11, color="#b71c1c"),
                bgcolor="rgba(255,255,255,0.8)",
            )
    _layout(fig, title, "Token budget in the prompt (tokens, log scale)", "Output tokens spent", log_x=True)
    _budget_ticks(fig, [_get(p, "budget") for r in items for p in (_get(r, "points") or [])])
    top = _spent_top(items, raw)
    if top:  # fit the curves, not the y = x guide (which would run up to the largest budget)
        fig.update_yaxes(range=[0, top * 1.15], autorange=False)
    return fig


def _spent_top(items: Sequence[Any], raw: Sequence[Mapping[str, Any]]) -> float:
    """The highest token count the elasticity chart shows (means + spread, references, raw repeats)."""
    ys = [0.0]
    for rep in items:
        for p in _get(rep, "points") or []:
            mean = _get(p, "mean_tokens") or 0.0
            ys.append(mean + ((_get(p, "std_tokens") or 0.0) if (_get(p, "n") or 1) > 1 else 0.0))
        ys.append(_get(rep, "reference_tokens") or 0.0)
    ys += [r["output_tokens"] for r in raw if r.get("budget") is not None and r.get("output_tokens") is not None]
    return float(max(ys))


def accuracy_cost_figure(
    reports: Mapping[str, Any] | Sequence[Any], title: str = "Accuracy and cost per budget"
) -> go.Figure:
    """Two stacked panels sharing a log budget axis: accuracy (%) and mean cost per call (USD)."""
    items = list(reports.values()) if isinstance(reports, Mapping) else list(reports)
    items = [r for r in items if _get(r, "points")]
    if not items:
        return empty_figure(title, "No budget results yet: start a sweep to see accuracy and cost.")
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=("Accuracy", "Mean cost per call")
    )
    for i, rep in enumerate(items):
        spec = str(_get(rep, "spec", f"model {i + 1}"))
        pts = sorted(_get(rep, "points") or [], key=lambda p: _get(p, "budget"))
        xs = [_get(p, "budget") for p in pts]
        acc = [None if _get(p, "accuracy") is None else 100 * _get(p, "accuracy") for p in pts]
        cost = [_get(p, "mean_cost") for p in pts]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=acc,
                mode="lines+markers",
                name=spec,
                legendgroup=spec,
                line=dict(color=_color(i)),
                hovertext=[
                    f"{spec}, budget {x}: {_fmt_acc(_get(p, 'accuracy'))} ({_get(p, 'n_correct')}/{_get(p, 'n')})"
                    for x, p in zip(xs, pts)
                ],
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=cost,
                mode="lines+markers",
                name=spec,
                legendgroup=spec,
                showlegend=False,
                line=dict(color=_color(i), dash="dot"),
                hovertext=[f"{spec}, budget {x}: {_fmt_money(c)} per call" for x, c in zip(xs, cost)],
                hoverinfo="text",
            ),
            row=2,
            col=1,
        )
    _layout(fig, title, "", "", log_x=True)
    fig.update_xaxes(type="log")
    _budget_ticks(fig, [_get(p, "budget") for r in items for p in (_get(r, "points") or [])])
    fig.update_xaxes(title_text="Token budget in the prompt (tokens, log scale)", row=2, col=1)
    fig.update_yaxes(title_text="Correct (%)", range=[0, 105], row=1, col=1)
    fig.update_yaxes(title_text="Cost (USD)", rangemode="tozero", row=2, col=1)
    fig.update_layout(height=520)
    return fig


def search_path_figure(
    paths: Mapping[str, Sequence[Any]] | Sequence[Any],
    *,
    curve: Sequence[Any] = (),
    reference_tokens: float | None = None,
    chosen: Mapping[str, tuple[int, float] | None] | None = None,
    title: str = "Budget search: where each search probed",
) -> go.Figure:
    """The probes of one or more budget searches, numbered in call order, on the model's curve.

    ``paths``: ``{"Paper (halving)": probes, ...}`` or one list of probes; a probe is an object or dict
    with ``budget`` (None for the vanilla reference, drawn at its own token count), ``output_tokens``
    (or ``tokens``), ``correct``, ``accepted`` and ``step``. ``curve``: points with ``budget`` and
    ``mean_tokens`` (or ``output_tokens``) drawn as a grey line behind the paths. ``chosen``: per path
    name, the ``(budget, tokens)`` the search settled on, starred.
    """
    named = dict(paths) if isinstance(paths, Mapping) else {"Search path": list(paths)}

    def tokens_of(p: Any) -> Any:
        t = _get(p, "output_tokens")
        return _get(p, "tokens") if t is None else t

    def x_of(p: Any) -> Any:
        b = _get(p, "budget")
        return b if b is not None else tokens_of(p)  # the reference sits at its own length

    if not any(named.values()):
        return empty_figure(title, "No probes yet: run a search to see its path.")
    fig = go.Figure()
    xs_all: list[float] = []
    curve_pts = sorted((p for p in curve if _get(p, "budget")), key=lambda p: _get(p, "budget"))
    if curve_pts:
        cy = [_get(p, "mean_tokens", tokens_of(p)) for p in curve_pts]
        fig.add_trace(
            go.Scatter(
                x=[_get(p, "budget") for p in curve_pts],
                y=cy,
                mode="lines+markers",
                name="Tokens spent per budget",
                line=dict(color=GUIDE, width=3),
                marker=dict(size=5, color=GUIDE),
                hoverinfo="skip",
            )
        )
        xs_all += [_get(p, "budget") for p in curve_pts]
    for i, (name, probes) in enumerate(named.items()):
        probes = [p for p in probes if x_of(p) is not None]
        if not probes:
            continue
        xs = [x_of(p) for p in probes]
        ys = [tokens_of(p) for p in probes]
        xs_all += xs
        steps = [_get(p, "step", k) for k, p in enumerate(probes)]

        def verdict(p: Any) -> str:
            c = _get(p, "correct")
            return "correct" if c else ("not graded" if c is None else "wrong")

        colors = [CORRECT if _get(p, "correct") else (UNKNOWN if _get(p, "correct") is None else WRONG) for p in probes]
        # shape = verdict (circle correct, x wrong, diamond not graded); an open shape = rejected probe
        symbols = [_verdict_symbol(_get(p, "correct")) + ("" if _get(p, "accepted", True) else "-open") for p in probes]
        hover = [
            (
                f"<b>{name}</b>, call {s}: "
                + ("vanilla CoT (no budget)" if _get(p, "budget") is None else f"budget {_get(p, 'budget')}")
                + f" -> {y} tokens, {verdict(p)}, {'accepted' if _get(p, 'accepted', True) else 'rejected'}"
                + (f"<br>{_get(p, 'note')}" if _get(p, "note") else "")
            )
            for s, y, p in zip(steps, ys, probes)
        ]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers+text",
                name=name,
                line=dict(color=_color(i), width=1.5, dash="dot"),
                marker=dict(size=14, color=colors, symbol=symbols, line=dict(color=_color(i), width=2)),
                text=[str(s) for s in steps],
                textposition="top center" if i == 0 else "bottom center",
                textfont=dict(color=_color(i)),
                hovertext=hover,
                hoverinfo="text",
            )
        )
    for i, (name, pick) in enumerate((chosen or {}).items()):
        if not pick:
            continue
        fig.add_trace(
            go.Scatter(
                x=[pick[0]],
                y=[pick[1]],
                mode="markers",
                name=f"{name}: chosen budget {pick[0]}",
                marker=dict(symbol="star", size=22, color=STAR, line=dict(color=_color(i), width=2)),
                hovertext=f"{name} chose budget {pick[0]} ({pick[1]:.0f} tokens)",
                hoverinfo="text",
            )
        )
    if reference_tokens is not None:
        fig.add_hline(
            y=reference_tokens,
            line_dash="dot",
            line_color=GUIDE,
            annotation_text=f"vanilla CoT: {reference_tokens:.0f} tokens",
            annotation_position="top left",
        )
    _layout(fig, title, "Token budget in the prompt (tokens, log scale)", "Output tokens spent", log_x=True)
    _budget_ticks(fig, xs_all)
    return fig


def vanilla_vs_tale_figure(
    rows: Sequence[Mapping[str, Any]], title: str = "Per question: vanilla CoT vs TALE-EP output tokens"
) -> go.Figure:
    """One dot per question: vanilla tokens (x) vs TALE tokens (y); below the diagonal TALE saved tokens.

    ``rows``: dicts with ``question_id``, ``vanilla_tokens``, ``tale_tokens`` and optionally
    ``vanilla_correct``, ``tale_correct``.
    """
    rows = [r for r in rows if r.get("vanilla_tokens") is not None and r.get("tale_tokens") is not None]
    if not rows:
        return empty_figure(title, "Run a benchmark with both Vanilla CoT and TALE-EP to compare per question.")
    top = max(max(r["vanilla_tokens"], r["tale_tokens"]) for r in rows) * 1.05 or 1
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, top],
            y=[0, top],
            mode="lines",
            name="Same tokens (y = x)",
            line=dict(color=GUIDE, dash="dash", width=1.5),
            hoverinfo="skip",
        )
    )

    def label(ok: Any) -> str:
        return "correct" if ok else ("not graded" if ok is None else "wrong")

    groups = {
        "TALE correct": (CORRECT, CORRECT_SYMBOL),
        "TALE wrong": (WRONG, WRONG_SYMBOL),
        "not graded": (UNKNOWN, UNKNOWN_SYMBOL),
    }
    for name, (color, symbol) in groups.items():
        sel = [
            r
            for r in rows
            if (
                "not graded" if r.get("tale_correct") is None else "TALE correct" if r["tale_correct"] else "TALE wrong"
            )
            == name
        ]
        if not sel:
            continue
        # questions often land on the same spot (same token counts): one marker per spot, sized by how
        # many questions it holds and saying so, instead of identical markers stacked invisibly
        spots: dict[tuple[Any, Any], list[Mapping[str, Any]]] = {}
        for r in sel:
            spots.setdefault((r["vanilla_tokens"], r["tale_tokens"]), []).append(r)
        fig.add_trace(
            go.Scatter(
                x=[xy[0] for xy in spots],
                y=[xy[1] for xy in spots],
                mode="markers+text",
                name=f"{name} ({len(sel)} question{'s' if len(sel) != 1 else ''})",
                marker=dict(
                    size=[9 + 4 * math.sqrt(len(g) - 1) for g in spots.values()],
                    color=color,
                    symbol=symbol,
                    opacity=0.85,
                    line=dict(color=color, width=1),
                ),
                text=[f"×{len(g)}" if len(g) > 1 else "" for g in spots.values()],
                textposition="middle right",
                textfont=dict(color=color),
                hovertext=[
                    (
                        f"{len(g)} questions here: "
                        + ", ".join(str(r.get("question_id", "?")) for r in g[:12])
                        + (" ..." if len(g) > 12 else "")
                        + "<br>"
                        if len(g) > 1
                        else f"Question {g[0].get('question_id', '?')}<br>"
                    )
                    + f"Vanilla CoT: {xy[0]} tokens ({_verdicts(g, 'vanilla_correct', label)})<br>"
                    f"TALE-EP: {xy[1]} tokens ({_verdicts(g, 'tale_correct', label)})"
                    for xy, g in spots.items()
                ],
                hoverinfo="text",
            )
        )
    return _layout(fig, title, "Vanilla CoT output tokens", "TALE-EP output tokens")


def _verdicts(group: Sequence[Mapping[str, Any]], key: str, label: Any) -> str:
    """'correct' for one question; 'correct for 3 of 5' for a spot holding several."""
    if len(group) == 1:
        return str(label(group[0].get(key)))
    ok = sum(1 for r in group if r.get(key))
    return f"correct for {ok} of {len(group)}"


def paper_vs_now_figure(
    rows: Sequence[Mapping[str, Any]],
    *,
    model: str,
    paper_model: str = "GPT-4o-mini",
    title: str = "Output tokens per prompt: the paper vs your model",
) -> go.Figure:
    """Grouped bars for the Learn page: ``rows`` of ``label``, ``paper_tokens``, ``now_tokens`` (or None)."""
    labels = [r["label"] for r in rows]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=labels,
            y=[r["paper_tokens"] for r in rows],
            name=f"Paper ({paper_model})",
            marker_color=GUIDE,
            hovertext=[f"{r['label']}: {r['paper_tokens']} tokens in the paper ({paper_model})" for r in rows],
            hoverinfo="text",
        )
    )
    if any(r.get("now_tokens") is not None for r in rows):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=[r.get("now_tokens") for r in rows],
                name=f"Now ({model})",
                marker_color=_color(0),
                hovertext=[f"{r['label']}: {r.get('now_tokens')} tokens now ({model})" for r in rows],
                hoverinfo="text",
            )
        )
    fig.update_layout(barmode="group")
    return _layout(fig, title, "Prompt", "Output tokens")
