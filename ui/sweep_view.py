"""Drawing a sweep: progress, the elasticity chart, accuracy and cost, the table of cells.

Used live (inside a ``run_every`` fragment, from a job's snapshot) and for a stored experiment.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from tale_core.analysis import charts
from tale_core.analysis.elasticity import analyze
from tale_core.experiments.sweep import SweepCell

from . import fmt, render

CELL_COLUMNS = [
    "spec",
    "budget",
    "repeat",
    "status",
    "output_tokens",
    "input_tokens",
    "extracted",
    "cost_usd",
    "latency_s",
    "cache_hit",
    "error",
]
STATUS_WORDS = render.RUN_STATUS_WORDS


def progress(done: int, total: int, status: str, spent_usd: float, errors: int, elapsed_s: float | None) -> None:
    frac = min(1.0, done / total) if total else 1.0
    words = STATUS_WORDS.get(status, status)
    if done and errors >= done:  # nothing succeeded: not "Finished" with a full green bar
        line = f"Every call failed: {errors} of {done} cells · spent {fmt.usd(spent_usd)}"
        if status == "running":
            line = f"Running, every call so far failed: {errors} of {done} cells (of {total})"
        st.error(line)
        return
    line = f"{words}: {done} of {total} cells · spent {fmt.usd(spent_usd)}"
    if errors:
        line += f" · {errors} failed"
    if elapsed_s is not None:
        line += f" · {fmt.seconds(elapsed_s)}"
    st.progress(frac, text=line)


def report_lines(reports: dict) -> list[str]:
    """One sentence per model: the sweet spot, the saving, the elastic region and the cliff."""
    out = []
    for spec, rep in reports.items():
        parts = [f"**{render.md_escape(spec)}**:"]
        if rep.reference_tokens is not None:
            parts.append(f"vanilla CoT {rep.reference_tokens:.0f} tokens;")
        if rep.sweet_spot is not None:
            parts.append(f"sweet spot at budget {rep.sweet_spot.budget} ({rep.sweet_spot.mean_tokens:.0f} tokens")
            if rep.savings_vs_reference is not None:
                parts[-1] += f", {100 * rep.savings_vs_reference:.0f}% fewer than vanilla"
            parts[-1] += ");"
        else:
            parts.append("no budget answered correctly every time;" if rep.points else "no budget results yet;")
        if rep.elastic_region:
            lo, hi = rep.elastic_region
            parts.append(
                f"elastic region {lo}-{hi}: asking for less than {hi} tokens makes its correct answers longer, not shorter;"
            )
        elif len(rep.points) >= 2:
            parts.append("no elastic region: smaller budgets never made its correct answers longer;")
        cliff = getattr(rep, "cliff", None)
        if cliff:
            parts.append(f"cliff: answers turn wrong at budget {cliff[0]} (correct from {cliff[1]}).")
        out.append(" ".join(parts))
    return out


#: figures of live jobs by (job id, cells done): a timed redraw with no new cell reuses them
_FIGURES: OrderedDict[tuple, tuple] = OrderedDict()
_FIGURES_LOCK = threading.Lock()
_FIGURES_KEEP = 64


def _figures(cells: list[SweepCell], version: tuple | None) -> tuple[dict, list[dict], Any, Any]:
    """(reports, rows, elasticity figure, accuracy/cost figure), memoized under ``version`` when given.

    Building the plotly figures is the costly part of a redraw; with several live sweeps on one server,
    rebuilding them every second for nothing starves every other session of the interpreter.
    """
    if version is not None:
        with _FIGURES_LOCK:
            hit = _FIGURES.get(version)
            if hit is not None:
                _FIGURES.move_to_end(version)
                return hit
    reports = analyze(cells)
    raw = [c.to_row() for c in cells]
    built = (reports, raw, charts.elasticity_figure(reports, raw=raw), charts.accuracy_cost_figure(reports))
    if version is not None:
        with _FIGURES_LOCK:
            _FIGURES[version] = built
            while len(_FIGURES) > _FIGURES_KEEP:
                _FIGURES.popitem(last=False)
    return built


def results(cells: list[SweepCell], *, key: str, version: tuple | None = None) -> None:
    """Charts, the per-model summary and the table of cells, for whatever cells exist so far.

    ``version`` (e.g. ``(job id, len(cells))``) lets repeated redraws of unchanged results reuse the figures.
    """
    if not cells:
        st.info("No cells finished yet. The chart draws itself as results arrive.")
        return
    errors = [c for c in cells if not c.result.ok]
    if errors:  # the cause first, above the charts, not below the fold
        failure_summary(errors, all_failed=len(errors) == len(cells))
    if len(errors) == len(cells):  # no chart of nothing ("start a sweep" would mislead): the cells say why
        with st.expander(f"All {len(cells)} cells", expanded=False):
            render.rows_table([dict(c.to_row()) for c in cells], columns=CELL_COLUMNS, key=f"{key}_cells")
        return
    reports, raw, elasticity_fig, acc_cost_fig = _figures(cells, version)
    raw = [dict(r) for r in raw]  # the table below edits its rows
    # the memoized figures are shared by every session: each draw gets its own copy (plotly_chart changes
    # the figure it is given, and a figure drawn by one session drew nothing in another)
    st.plotly_chart(go.Figure(elasticity_fig), key=f"{key}_elasticity")
    for line in report_lines(reports):
        st.markdown(line)
    st.plotly_chart(go.Figure(acc_cost_fig), key=f"{key}_acc_cost")
    with st.expander(f"All {len(cells)} cells", expanded=False):
        rows = sorted(raw, key=lambda r: (r["spec"], r["budget"] is not None, r["budget"] or 0, r["repeat"]))
        for r in rows:
            r["budget"] = "vanilla CoT" if r["budget"] is None else str(r["budget"])
        render.rows_table(rows, columns=CELL_COLUMNS, key=f"{key}_cells")


def failure_summary(errors: list[SweepCell], *, all_failed: bool) -> None:
    """What failed and why, most common cause first (an error box when nothing succeeded)."""
    causes: dict[str, int] = {}
    for c in errors:
        causes[c.result.error_message or "no reason given"] = (
            causes.get(c.result.error_message or "no reason given", 0) + 1
        )
    top, n_top = max(causes.items(), key=lambda kv: kv[1])
    first = next(c for c in errors if (c.result.error_message or "no reason given") == top)
    where = "vanilla CoT" if first.key.budget is None else f"budget {first.key.budget}"
    head = "Every call failed" if all_failed else f"{len(errors)} cell(s) failed"
    text = f"{head}. Cause ({n_top} of {len(errors)}): {top} (e.g. {first.key.spec}, {where})."
    if len(causes) > 1:
        text += f" {len(causes) - 1} other cause(s) in the table of cells."
    if all_failed:
        text += " No tokens were spent on answers, so there is no curve to draw: fix the cause and start again."
        st.error(render.md_escape(text))
    else:
        st.warning(render.md_escape(text))


def config_line(config: dict[str, Any]) -> str:
    budgets = config.get("budgets") or []
    return (
        f"{len(config.get('models') or [])} model(s) · budgets {', '.join(str(b) for b in budgets)} · "
        f"{config.get('repeats', 1)} repeat(s) · method {config.get('method', 'budget')} · "
        f"temperature {config.get('temperature', 0)}"
    )


def restore_form(prefix: str, config: dict[str, Any]) -> None:
    """Put a sweep's settings back into the sweep form's widgets (call from a button callback)."""
    ss = st.session_state
    ss[f"{prefix}_question"] = str(config.get("question") or "")
    ss[f"{prefix}_gold"] = str(config.get("gold") or "")
    ss[f"{prefix}_choices"] = "\n".join(config.get("choices") or [])
    if config.get("budgets"):
        ss[f"{prefix}_budget_mode"] = "List"
        ss[f"{prefix}_budget_list"] = ", ".join(str(b) for b in config["budgets"])
    ss[f"{prefix}_repeats"] = int(config.get("repeats") or 1)
    ss[f"{prefix}_cap"] = float(config.get("spend_cap_usd") or 0.0)
    ss[f"{prefix}_reference"] = bool(config.get("include_reference", True))
    if config.get("method"):
        ss[f"{prefix}_method"] = config["method"]
    ss[f"{prefix}_temperature"] = float(config.get("temperature") or 0.0)
    ss[f"{prefix}_seed"] = int(config.get("seed") or 0)
    ss[f"{prefix}_max_tokens"] = int(config.get("max_tokens") or 1024)
