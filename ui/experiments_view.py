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

from . import fmt, render, titles

KIND_LABELS = {
    "playground": "Playground",
    "sweep": "Elasticity sweep",
    "search": "Budget search",
    "benchmark": "Benchmark",
    "search-dataset": "Budget estimators",
}
SHORT_KIND = {
    "playground": "Playground",
    "sweep": "Sweep",
    "search": "Search",
    "benchmark": "Benchmark",
    "search-dataset": "Dataset search",
}
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


#: the page whose ``?experiment=<id>`` shows an experiment of each kind with its charts (a Playground
#: run has no page of its own: the Experiments page shows its answers)
SHARE_PATH = {
    "sweep": "sweep",
    "search": "search",
    "benchmark": "benchmark",
    "playground": "experiments",
    "search-dataset": "estimators",
}


#: the title mark of an experiment imported from a bundle (the original may be in the same list)
IMPORTED_PREFIX = "Imported copy: "


def share_url_for(kind: str, experiment_id: str) -> str:
    """The link to share an experiment: the page that draws its kind (a sweep's chart, not its raw calls)."""
    return share_url(SHARE_PATH.get(kind, "experiments"), experiment_id)


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


def picker_labels(items: Sequence[Any]) -> dict[str, str]:
    """A distinct label per experiment id for pickers: title, kind, time and short id.

    Streamlit's multiselect keeps its choices by their displayed label, so two runs with the same title
    (two sweeps of one question) would collapse into one: picking one hid the other, and "select all"
    gave the same id twice.
    """
    out: dict[str, str] = {}
    for e in items:
        label = f"{e.title[:70]} · {SHORT_KIND.get(e.kind, e.kind)} · {when(e.created_at)} · {e.id[:6]}"
        while label in out.values():  # same title, minute and id prefix: make it unique anyway
            label += f" ({e.id})"
        out[e.id] = label
    return out


def unique_ids(ids: Sequence[str]) -> list[str]:
    """The ids in order, each once (a hand-edited ``?compare=a,a`` compares nothing twice)."""
    return list(dict.fromkeys(i for i in ids if i))


def list_row(e: Any) -> None:
    """One experiment in the history list: title link, kind, status, models, calls and cost."""
    with st.container(border=True):
        c1, c2 = st.columns([6, 1], vertical_alignment="center")  # room for titles that tell runs apart
        c1.page_link("pages/experiments.py", label=render.md_escape(e.title), query_params={"experiment": e.id})
        with c2:
            st.badge(e.status.capitalize(), color=STATUS_COLORS.get(e.status, "gray"))
        line = (
            f"{KIND_LABELS.get(e.kind, e.kind)} · {when(e.created_at)} · {e.n_calls} call(s)"
            f"{f', {e.n_errors} failed' if e.n_errors else ''} · {fmt.usd(e.cost_usd)}"
        )
        if e.models:
            line += " · " + ", ".join(e.models[:4]) + (" ..." if len(e.models) > 4 else "")
        st.caption(render.md_escape(line))


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
            reports.append(dataclasses.replace(rep, spec=f"{spec} · {titles.clip(d.title, 44)} ({d.id[:6]})"))
    if not reports:
        return None
    fig = charts.elasticity_figure(reports, title="Sweeps compared: budget asked vs tokens spent")
    stack_top_labels(fig)
    return fig


def stack_top_labels(fig: Any, *, line_px: int = 16) -> None:
    """Labels pinned above the plot (paper y = 1, e.g. each curve's "elastic region") that would print
    over each other are stacked one line apart, with room made for them in the top margin."""
    top = [a for a in fig.layout.annotations if a.yref == "paper" and a.y is not None and a.y >= 1.0]
    if len(top) < 2:
        return
    for k, ann in enumerate(top):
        ann.yshift = k * line_px
    margin_t = fig.layout.margin.t if fig.layout.margin and fig.layout.margin.t is not None else 60
    fig.update_layout(margin=dict(t=margin_t + (len(top) - 1) * line_px))
