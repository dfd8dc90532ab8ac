"""Charts of budget estimators: predicted vs searched-optimal budget."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

# Okabe-Ito: colour-blind safe, each at least 3:1 against white
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00")
_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross")


def predicted_vs_optimal(scores: Sequence[dict[str, Any]]) -> go.Figure:
    """One point per held-out question and estimator; the y = x line is a perfect estimate (log axes)."""
    fig = go.Figure()
    lo, hi = float("inf"), 0.0
    for i, s in enumerate(scores):
        pts = [(r["optimal"], r["predicted"]) for r in s.get("rows", []) if r.get("predicted") is not None]
        if not pts:
            continue
        xs, ys = zip(*pts)
        lo, hi = min(lo, *xs, *ys), max(hi, *xs, *ys)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers",
                name=f"{s['label']} (n={len(pts)})",
                marker={
                    "color": _COLOURS[i % len(_COLOURS)],
                    "symbol": _SYMBOLS[i % len(_SYMBOLS)],
                    "size": 9,
                    "line": {"width": 1, "color": "#333333"},
                },
                hovertemplate="optimal %{x}<br>predicted %{y}<extra>" + str(s["label"]) + "</extra>",
            )
        )
    if hi <= 0:  # no estimate at all: an empty chart with a sensible range
        lo, hi = 1.0, 1000.0
    lo, hi = lo / 1.5, hi * 1.5
    # y = x is a straight line on log-log axes: its two ends suffice
    fig.add_trace(
        go.Scatter(
            x=[lo, hi],
            y=[lo, hi],
            mode="lines",
            name="perfect estimate (y = x)",
            line={"color": "#555555", "dash": "dash", "width": 2},
            hoverinfo="skip",
        )
    )
    fig.update_xaxes(type="log", title="searched optimal budget (tokens)")
    fig.update_yaxes(type="log", title="estimated budget (tokens)")
    fig.update_layout(
        height=460,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
    )
    return fig
