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

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
CORRECT = "#2e7d32"
WRONG = "#c62828"
UNKNOWN = "#757575"
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
    vanilla CoT level per model; green/red markers for correct/wrong; sweet spot starred; elastic region
    shaded.
    """
    items = list(reports.values()) if isinstance(reports, Mapping) else list(reports)
    items = [r for r in items if _get(r, "points")]
    if not items:
        return empty_figure(title, "No budget results yet: start a sweep to draw the curve.")
    fig = go.Figure()
    rng = _budget_range(items)
    lo, hi = rng if rng else (1.0, 1000.0)
    fig.add_trace(
        go.Scatter(
            x=[lo, hi],
            y=[lo, hi],
            mode="lines",
            name="Spending exactly the budget (y = x)",
            line=dict(color="#9e9e9e", dash="dash", width=1),
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
        hover = [
            (
                f"<b>{spec}</b><br>Budget asked: {_get(p, 'budget')} tokens<br>"
                f"Tokens spent: {_get(p, 'mean_tokens'):.0f} (mean of {_get(p, 'n') or 1})<br>"
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
                    size=10, color=[_point_color(_get(p, "accuracy")) for p in pts], line=dict(color=color, width=2)
                ),
                error_y=dict(type="data", array=stds, visible=any(stds), color=color, thickness=1),
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
                    marker=dict(symbol="star", size=20, color="#fbc02d", line=dict(color="#333", width=1)),
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
                ax=30,
                ay=-40,
                font=dict(size=12, color="#333"),
                bgcolor="rgba(255,255,255,0.8)",
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
                text=f"elastic region ({spec})",
                showarrow=False,
                font=dict(size=11, color=color),
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
                line=dict(color="#bdbdbd", width=3),
                marker=dict(size=5, color="#bdbdbd"),
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
        symbols = ["circle" if _get(p, "accepted", True) else "x" for p in probes]
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
                marker=dict(symbol="star", size=22, color="#fbc02d", line=dict(color=_color(i), width=2)),
                hovertext=f"{name} chose budget {pick[0]} ({pick[1]:.0f} tokens)",
                hoverinfo="text",
            )
        )
    if reference_tokens is not None:
        fig.add_hline(
            y=reference_tokens,
            line_dash="dot",
            line_color="#616161",
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
            line=dict(color="#9e9e9e", dash="dash", width=1),
            hoverinfo="skip",
        )
    )

    def label(ok: Any) -> str:
        return "correct" if ok else ("not graded" if ok is None else "wrong")

    groups = {"TALE correct": CORRECT, "TALE wrong": WRONG, "not graded": UNKNOWN}
    for name, color in groups.items():
        sel = [
            r
            for r in rows
            if {True: "TALE correct", False: "TALE wrong"}.get(r.get("tale_correct"), "not graded") == name
        ]
        if not sel:
            continue
        fig.add_trace(
            go.Scatter(  # the count in the name: questions often land on the same spot
                x=[r["vanilla_tokens"] for r in sel],
                y=[r["tale_tokens"] for r in sel],
                mode="markers",
                name=f"{name} ({len(sel)} question{'s' if len(sel) != 1 else ''})",
                marker=dict(size=9, color=color, opacity=0.8),
                hovertext=[
                    f"Question {r.get('question_id', '?')}<br>Vanilla CoT: {r['vanilla_tokens']} tokens "
                    f"({label(r.get('vanilla_correct'))})<br>TALE-EP: {r['tale_tokens']} tokens "
                    f"({label(r.get('tale_correct'))})"
                    for r in sel
                ],
                hoverinfo="text",
            )
        )
    return _layout(fig, title, "Vanilla CoT output tokens", "TALE-EP output tokens")


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
            marker_color="#90a4ae",
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
