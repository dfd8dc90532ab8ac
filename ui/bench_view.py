"""Drawing a benchmark (live or stored): the paper-style table, per-question comparison, CSV download."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Sequence
from typing import Any

import streamlit as st

from tale_core.analysis import charts
from tale_core.experiments.benchmark import PAPER_TABLE3, PAPER_TABLE3_SOURCE, ROW_COLUMNS, paper_reference, summarize

from . import exports, fmt, render

_MATHBENCH_SUBSET_ROWS = {
    "arithmetic": "MathBench-Arithmetic",
    "middle": "MathBench-Middle",
    "high": "MathBench-High",
    "college": "MathBench-College",
}


def _mathbench_row(dataset_name: str) -> str | None:
    """The paper row of an official MathBench file name: ``middle/single_choice_en`` -> MathBench-Middle;
    ``cloze_en`` alone -> MathBench-Arithmetic (the paper's only English cloze subset)."""
    low = (dataset_name or "").lower().replace("\\", "/")
    if not any(k in low for k in ("cloze_", "single_choice_", "mathbench")):
        return None
    for subset, row in _MATHBENCH_SUBSET_ROWS.items():
        if subset in low:
            return row
    if "cloze_en" in low:
        return "MathBench-Arithmetic"
    return None


def paper_row(dataset_name: str) -> tuple[str, dict]:
    """(which paper row, its figures): the dataset's own row when the paper has it, else the average."""
    mb = _mathbench_row(dataset_name)
    if mb is not None:
        return mb, PAPER_TABLE3[mb]
    row = paper_reference(dataset_name or "")
    if row is not None:
        name = next(k for k, v in PAPER_TABLE3.items() if v is row)
        return name, row
    # "gsm8k_test" -> GSM8K, "gsm8k-zero-sample" -> GSM8K-Zero: the longest paper name the file name starts with
    key = "".join(ch for ch in (dataset_name or "").lower() if ch.isalnum())
    matches = [
        name
        for name in PAPER_TABLE3
        if name != "average" and key.startswith("".join(ch for ch in name.lower() if ch.isalnum()))
    ]
    if matches:
        name = max(matches, key=len)
        return name, PAPER_TABLE3[name]
    return "average", PAPER_TABLE3["average"]


def _ci(ci: Any, scale: float = 1.0, digits: int = 1) -> str | None:
    """``"61.2 – 80.9"``: a 95% interval as text (None when there is none)."""
    if not ci or ci[0] is None or ci[1] is None:
        return None
    return f"{scale * ci[0]:.{digits}f} – {scale * ci[1]:.{digits}f}"


def _p(p: float | None) -> str | None:
    if p is None:
        return None
    return "<0.001" if p < 0.001 else f"{p:.3f}"


#: the token column compared with the paper's (answer call only, as the paper and its code count)
ANSWER_TOKENS = "Answer tokens (mean)"


#: summaries by a fingerprint of their rows: a live page redraws every second, the bootstrap intervals
#: take about a second for a few hundred answers, and rows only change when a cell finishes
_TABLES: dict[tuple, tuple[list[dict], str]] = {}
_TABLES_KEEP = 16
_TABLES_LOCK = threading.Lock()


def _fingerprint(rows: Sequence[dict], dataset_name: str) -> tuple:
    keys = ("spec", "item_id", "method", "repeat", "status", "output_tokens", "answer_output_tokens", "cost_usd")
    return (dataset_name, hash(tuple(tuple(str(r.get(k)) for k in keys) for r in rows)), len(rows))


def table_rows(rows: Sequence[dict], dataset_name: str) -> tuple[list[dict], str]:
    """The paper-style summary rows (memoized on the rows' content; see :func:`_table_rows`)."""
    key = _fingerprint(rows, dataset_name)
    with _TABLES_LOCK:
        hit = _TABLES.get(key)
    if hit is None:
        hit = _table_rows(rows, dataset_name)
        with _TABLES_LOCK:
            _TABLES[key] = hit
            while len(_TABLES) > _TABLES_KEEP:
                _TABLES.pop(next(iter(_TABLES)))
    return [dict(r) for r in hit[0]], hit[1]


def _table_rows(rows: Sequence[dict], dataset_name: str) -> tuple[list[dict], str]:
    """The paper-style summary rows (ours + the paper's GPT-4o-mini figures beside) and the paper row used.

    Token columns compared with the paper follow its convention (the answer call only); the estimator
    call of TALE-EP and the total of both calls are separate columns. Intervals are 95%."""
    which, paper = paper_row(dataset_name)
    out = []
    for s in summarize(rows):
        p = paper.get(s.method)
        is_ref = s.method == "vanilla"
        red = s.reduction_tokens_vs_vanilla
        red_ci = _ci([None if x is None else -x for x in s.reduction_vs_vanilla_ci or ()][::-1], 100, 0)
        # what answers "which method?" first (visible without scrolling at 1400 px), the paper's figures last
        out.append(
            {
                "Model": s.spec,
                "Method": s.label,
                "Accuracy (%)": None if s.accuracy is None else round(100 * s.accuracy, 1),
                ANSWER_TOKENS: None if s.avg_output_tokens is None else round(s.avg_output_tokens, 1),
                "Tokens vs vanilla": "reference" if is_ref else (None if red is None else fmt.change(-red)),
                "Accuracy vs vanilla (points)": None
                if is_ref or s.accuracy_delta_vs_vanilla is None
                else round(100 * s.accuracy_delta_vs_vanilla, 1),
                "Questions x repeats": f"{s.n_questions} x {s.repeats}",
                "Accuracy 95% CI": _ci(s.accuracy_ci, 100),
                "Answer tokens 95% CI": _ci(s.avg_output_tokens_ci),
                "Tokens vs vanilla 95% CI": None if is_ref or red_ci is None else f"{red_ci} %",
                "McNemar p": None if is_ref else _p(s.mcnemar_p),
                "Estimator tokens (mean)": None if s.estimator_tokens is None else round(s.estimator_tokens, 1),
                "Total tokens, both calls (mean)": None if s.total_tokens is None else round(s.total_tokens, 1),
                "Paper token count (cl100k, mean)": None if s.paper_tokens is None else round(s.paper_tokens, 1),
                "Expense, both calls (USD)": s.expense_usd,
                "Hedged": s.hedged,
                "No answer": s.no_answer,
                "Errors": s.errors,
                "Paper accuracy (%)": p[0] if p else None,
                "Paper output tokens": p[1] if p else None,
                "Paper expense (1e-5 $)": p[2] if p else None,
            }
        )
    return out, which


def per_question(rows: Sequence[dict], spec: str, tale_method: str = "tale-ep") -> list[dict]:
    """Vanilla CoT vs TALE-EP answer-call output tokens (the paper's convention) for each question
    answered by both (one model); with repeats, the mean over a question's trials and correct when most
    trials were."""
    acc: dict[str, dict[str, list]] = {}
    for r in rows:
        if r.get("spec") != spec or r.get("status") == "error":
            continue
        side = "vanilla" if r.get("method") == "vanilla" else ("tale" if r.get("method") == tale_method else None)
        if side is None:
            continue
        q = acc.setdefault(str(r["item_id"]), {})
        tokens = r.get("answer_output_tokens", r.get("output_tokens"))
        if tokens is not None:
            q.setdefault(f"{side}_tokens", []).append(tokens)
        q.setdefault(f"{side}_correct", []).append(r.get("correct"))
    out = []
    for qid, q in acc.items():
        row: dict[str, Any] = {"question_id": qid}
        for side in ("vanilla", "tale"):
            toks = q.get(f"{side}_tokens") or []
            if toks:
                row[f"{side}_tokens"] = sum(toks) / len(toks)
            oks = [c for c in q.get(f"{side}_correct") or [] if c is not None]
            if f"{side}_correct" in q:
                row[f"{side}_correct"] = (sum(1 for c in oks if c) * 2 > len(oks)) if oks else None
        out.append(row)
    return out


def summary_csv(table: Sequence[dict]) -> str:
    """The summary table as CSV, with the same labelled columns (intervals, token conventions)."""
    buf = io.StringIO()
    if table:
        w = csv.DictWriter(buf, fieldnames=list(table[0]), extrasaction="ignore")
        w.writeheader()
        for r in table:
            w.writerow(r)
    return buf.getvalue()


def rows_csv(rows: Sequence[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(ROW_COLUMNS), extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k) for k in ROW_COLUMNS})
    return buf.getvalue()


def progress(done: int, total: int, status: str, spent_usd: float, errors: int, elapsed_s: float | None) -> None:
    words = render.RUN_STATUS_WORDS.get(status, status)
    text = f"{words}: {done} of {total} answers · spent {fmt.usd(spent_usd)}"
    if errors:
        text += f" · {errors} failed"
    if elapsed_s is not None:
        text += f" · {fmt.seconds(elapsed_s)}"
    st.progress(min(1.0, done / total) if total else 1.0, text=text)


def table3_display(rows: Sequence[dict], datasets: Sequence[str]) -> list[dict]:
    """The Table 3 preset's lines for the page: per dataset and method, ours then the paper's."""
    from tale_core.experiments.table3 import dataset_of, table3_table

    tagged = [dict(r, dataset=r.get("dataset") or dataset_of(str(r.get("item_id", "")))) for r in rows]
    out = []
    for t in table3_table(tagged, list(datasets)):
        ci = t.get("accuracy_ci")
        out.append(
            {
                "Dataset": t["dataset"],
                "Model": t["spec"],
                "Method": t["method"],
                "Questions": t["n"],
                "Accuracy (%)": None if t["accuracy"] is None else round(100 * t["accuracy"], 1),
                "95% interval": f"{100 * ci[0]:.1f} to {100 * ci[1]:.1f}" if ci else "-",
                "Paper accuracy (%)": None if t["paper_accuracy"] is None else round(100 * t["paper_accuracy"], 2),
                "Answer-call tokens (mean)": None if t["answer_tokens"] is None else round(t["answer_tokens"], 1),
                "Paper output tokens": t["paper_tokens"],
                "Total tokens, both calls (mean)": None if t["total_tokens"] is None else round(t["total_tokens"], 1),
                "Paper expense (1e-5 $)": t["paper_expense_1e5_usd"],
                "Averaged over": ", ".join(t["over"]) if t["dataset"] == "average" else "",
            }
        )
    return out


def table3_results(rows: Sequence[dict], datasets: Sequence[str], *, key: str) -> None:
    """The Table 3 preset's table: one line per dataset, model and method, beside the paper's row."""
    st.markdown("**Table 3, per dataset, beside the paper's rows**")
    render.rows_table(table3_display(rows, datasets), key=f"{key}_table3")
    st.caption(
        f"Paper columns: {PAPER_TABLE3_SOURCE}. Accuracy intervals: Wilson 95% over the questions run. "
        "Answer-call tokens are the paper's convention (TALE-EP's estimator call is not counted in them); "
        "total tokens count both calls. The average is the plain mean over the datasets listed (the "
        "paper's over its six). Each dataset uses its official prompt (GSM8K; MathBench cloze and "
        "single-choice, English and Chinese)."
    )


def results(rows: Sequence[dict], *, dataset_name: str, key: str, dataset_config: dict[str, Any] | None = None) -> None:
    if not rows:
        st.info("No answers yet: the table fills in as questions finish.")
        return
    cfg = dataset_config or {}
    if cfg.get("preset") == "table3" and cfg.get("datasets"):
        table3_results(rows, [str(d) for d in cfg["datasets"]], key=key)
    table, which = table_rows(rows, dataset_name)
    st.markdown("**Summary, like the paper's Table 3**")
    render.rows_table(
        table,
        key=f"{key}_table",
        column_config={
            "Model": st.column_config.TextColumn(width="medium", pinned=True),
            "Expense, both calls (USD)": st.column_config.NumberColumn(format="$%.6f"),
        },
    )
    # its CSV (with the intervals) is offered below, beside the answers'
    exports.download_row(table, name="benchmark-summary", key=f"{key}_summary", label="summary", csv=False)
    st.caption(
        render.md_escape(
            f"Paper columns: {PAPER_TABLE3_SOURCE}, row '{which}'. Answer tokens count the answer call only, "
            "as the paper and its code do, so they compare with the paper's output tokens; the estimator "
            "column is TALE-EP's budget-estimate call and the total adds both; the paper token count is "
            "tiktoken cl100k_base over the answer text, as the official code counts. Intervals are 95%: "
            "accuracy Wilson (a bootstrap over questions when questions are repeated), tokens bootstrap, "
            "tokens vs vanilla a paired bootstrap over the same questions. McNemar p: exact test of "
            "correctness against vanilla CoT on the same questions (small p: the accuracy difference is "
            "unlikely to be chance). Hedged answers ('5 or 6') count as not correct. The paper's expense "
            "cannot be rebuilt from list prices; ours is usage times a dated price table, both calls."
        )
    )
    specs = list(dict.fromkeys(r["spec"] for r in rows))
    have_both = [
        s
        for s in specs
        if any(r["spec"] == s and r.get("method") == "tale-ep" for r in rows)
        and any(r["spec"] == s and r.get("method") == "vanilla" for r in rows)
    ]
    if have_both:
        spec = (
            have_both[0]
            if len(have_both) == 1
            else st.selectbox("Model for the per-question chart", have_both, key=f"{key}_spec")
        )
        st.plotly_chart(
            charts.vanilla_vs_tale_figure(
                per_question(rows, spec), title=f"Per question ({spec}): vanilla CoT vs TALE-EP"
            ),
            key=f"{key}_per_q",
        )
    else:
        st.caption("Run both Vanilla CoT and TALE-EP to compare them question by question.")
    with st.expander(f"All {len(rows)} answers"):
        render.rows_table(
            rows,
            columns=[
                "spec",
                "item_id",
                "method_label",
                "status",
                "extracted",
                "gold",
                "output_tokens",
                "cost_usd",
                "latency_s",
                "cache_hit",
                "error",
            ],
            key=f"{key}_rows",
        )
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download answers (CSV)", rows_csv(rows), file_name="benchmark.csv", mime="text/csv", key=f"{key}_csv"
    )
    c2.download_button(
        "Download summary with intervals (CSV)",
        summary_csv(table),
        file_name="benchmark_summary.csv",
        mime="text/csv",
        key=f"{key}_summary_csv",
    )


def config_line(config: dict[str, Any]) -> str:
    ds = config.get("dataset") or {}
    return (
        f"{ds.get('name') or ds.get('which') or ds.get('path') or 'dataset'} · "
        f"{len(config.get('item_ids') or [])} question(s) · methods {', '.join(config.get('methods') or [])} · "
        f"{len(config.get('models') or [])} model(s)"
    )
