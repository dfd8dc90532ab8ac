"""Drawing a sweep: progress, the elasticity chart, accuracy and cost, the table of cells.

Used live (inside a ``run_every`` fragment, from a job's snapshot) and for a stored experiment.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

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
    line = f"{words}: {done} of {total} cells · spent {fmt.usd(spent_usd)}"
    if errors:
        line += f" · {errors} failed"
    if elapsed_s is not None:
        line += f" · {fmt.seconds(elapsed_s)}"
    st.progress(frac, text=line)


def report_lines(reports: dict) -> list[str]:
    """One sentence per model: the sweet spot, the saving and the elastic region."""
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
            parts.append(f"elastic region {lo}-{hi}: asking for less than {hi} tokens makes it spend more, not less.")
        elif len(rep.points) >= 2:
            parts.append("no elastic region: smaller budgets never made it spend more.")
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
    reports, raw, elasticity_fig, acc_cost_fig = _figures(cells, version)
    raw = [dict(r) for r in raw]  # the table below edits its rows
    st.plotly_chart(elasticity_fig, key=f"{key}_elasticity")
    for line in report_lines(reports):
        st.markdown(line)
    st.plotly_chart(acc_cost_fig, key=f"{key}_acc_cost")
    with st.expander(f"All {len(cells)} cells", expanded=False):
        rows = sorted(raw, key=lambda r: (r["spec"], r["budget"] is not None, r["budget"] or 0, r["repeat"]))
        for r in rows:
            r["budget"] = "vanilla CoT" if r["budget"] is None else str(r["budget"])
        render.rows_table(rows, columns=CELL_COLUMNS, key=f"{key}_cells")
    errors = [c for c in cells if not c.result.ok]
    if errors:
        first = errors[0]
        where = "vanilla CoT" if first.key.budget is None else f"budget {first.key.budget}"
        st.warning(
            render.md_escape(
                f"{len(errors)} cell(s) failed, e.g. {first.key.spec} {where}: {first.result.error_message}"
            )
        )


def config_line(config: dict[str, Any]) -> str:
    budgets = config.get("budgets") or []
    return (
        f"{len(config.get('models') or [])} model(s) · budgets {', '.join(str(b) for b in budgets)} · "
        f"{config.get('repeats', 1)} repeat(s) · method {config.get('method', 'budget')} · "
        f"temperature {config.get('temperature', 0)}"
    )
