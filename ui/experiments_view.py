"""Pieces of the Experiments page: list rows, share links, the calls table, comparisons."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from tale_core.analysis import charts
from tale_core.analysis.elasticity import analyze
from tale_core.experiments import rebuild

from . import fmt, render

KIND_LABELS = {
    "playground": "Playground",
    "sweep": "Elasticity sweep",
    "search": "Budget search",
    "benchmark": "Benchmark",
}
SHORT_KIND = {"playground": "Playground", "sweep": "Sweep", "search": "Search", "benchmark": "Benchmark"}
STATUS_COLORS = {
    "running": "blue",
    "done": "green",
    "cancelled": "orange",
    "failed": "red",
    "interrupted": "violet",
}
CALL_COLUMNS = [
    "spec",
    "method",
    "budget",
    "role",
    "question_id",
    "status",
    "output_tokens",
    "input_tokens",
    "extracted_answer",
    "correct",
    "cost_usd",
    "latency_s",
    "cache_hit",
    "response",
]


def share_url(path: str, experiment_id: str) -> str:
    """The full link to open ``experiment_id`` on page ``path`` (from the address the browser used)."""
    base = ""
    try:
        url = st.context.url or ""
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            base = f"{parts.scheme}://{parts.netloc}"
    except Exception:
        base = ""
    return f"{base}/{path.strip('/')}?experiment={experiment_id}"


def when(dt: Any) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "-"


def list_row(e: Any) -> None:
    """One experiment in the history list: title link, kind, status, models, calls and cost."""
    with st.container(border=True):
        c1, c2 = st.columns([4, 2], vertical_alignment="center")
        c1.page_link("pages/experiments.py", label=render.md_escape(e.title), query_params={"experiment": e.id})
        with c2:
            st.badge(e.status.capitalize(), color=STATUS_COLORS.get(e.status, "gray"))
        line = (
            f"{KIND_LABELS.get(e.kind, e.kind)} · {when(e.created_at)} · {e.n_calls} call(s)"
            f"{f', {e.n_errors} failed' if e.n_errors else ''} · {fmt.usd(e.cost_usd)}"
        )
        if e.models:
            line += " · " + ", ".join(e.models[:4]) + (" ..." if len(e.models) > 4 else "")
        st.caption(line)


def calls_table(calls: Sequence[Any], *, key: str) -> None:
    rows = []
    for c in calls:
        d = c.to_dict()
        d["response"] = (d.get("response") or "")[:300]
        if d.get("status") == "error":
            d["response"] = str((d.get("error") or {}).get("message") or "failed")
        rows.append(d)
    render.rows_table(rows, columns=CALL_COLUMNS, key=key)


def compare_rows(details: Sequence[Any]) -> list[dict]:
    """Per experiment x model x method: calls, mean output tokens, accuracy and spend."""
    out = []
    for d in details:
        groups: dict[tuple[str, str], list] = {}
        for c in d.calls:
            if c.role == "estimate":
                continue
            groups.setdefault((c.spec, c.method), []).append(c)
        for (spec, method), calls in groups.items():
            ok = [c for c in calls if c.status == "ok"]
            graded = [c for c in ok if c.correct is not None]
            out.append(
                {
                    "experiment": d.title,
                    "id": d.id,
                    "model": spec,
                    "method": method,
                    "calls": len(calls),
                    "failed": len(calls) - len(ok),
                    "mean output tokens": round(sum(c.output_tokens or 0 for c in ok) / len(ok), 1) if ok else None,
                    "accuracy (%)": round(100 * sum(1 for c in graded if c.correct) / len(graded), 1)
                    if graded
                    else None,
                    "spent (USD)": sum(c.cost_usd or 0.0 for c in ok if not c.cache_hit),
                }
            )
    return out


def sweep_overlay(details: Sequence[Any]) -> Any | None:
    """One elasticity chart with every sweep's curves (model name + experiment title), or None."""
    reports = []
    for d in details:
        if d.kind != "sweep":
            continue
        for spec, rep in analyze(rebuild.sweep_cells(d.records)).items():
            reports.append(dataclasses.replace(rep, spec=f"{spec} · {d.title[:30]} ({d.id[:6]})"))
    if not reports:
        return None
    return charts.elasticity_figure(reports, title="Sweeps compared: budget asked vs tokens spent")
