"""Drawing a benchmark (live or stored): the paper-style table, per-question comparison, CSV download."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import streamlit as st

from tale_core.analysis import charts
from tale_core.experiments.benchmark import PAPER_TABLE3, PAPER_TABLE3_SOURCE, ROW_COLUMNS, paper_reference, summarize

from . import fmt, render


def paper_row(dataset_name: str) -> tuple[str, dict]:
    """(which paper row, its figures): the dataset's own row when the paper has it, else the average."""
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


def table_rows(rows: Sequence[dict], dataset_name: str) -> tuple[list[dict], str]:
    """The paper-style summary rows (ours + the paper's GPT-4o-mini figures beside) and the paper row used."""
    which, paper = paper_row(dataset_name)
    out = []
    for s in summarize(rows):
        p = paper.get(s.method)
        is_ref = s.method == "vanilla"
        out.append(
            {
                "Model": s.spec,
                "Method": s.label,
                "Accuracy (%)": None if s.accuracy is None else round(100 * s.accuracy, 1),
                "Paper accuracy (%)": p[0] if p else None,
                "Output tokens (mean)": None if s.avg_output_tokens is None else round(s.avg_output_tokens, 1),
                "Paper output tokens": p[1] if p else None,
                "Expense (USD)": s.expense_usd,
                "Paper expense (1e-5 $)": p[2] if p else None,
                "Tokens vs vanilla": "reference"
                if is_ref
                else (
                    None if s.reduction_tokens_vs_vanilla is None else f"{-100 * s.reduction_tokens_vs_vanilla:+.0f}%"
                ),
                "Accuracy vs vanilla (points)": None
                if is_ref or s.accuracy_delta_vs_vanilla is None
                else round(100 * s.accuracy_delta_vs_vanilla, 1),
                "Questions": s.n,
                "Errors": s.errors,
            }
        )
    return out, which


def per_question(rows: Sequence[dict], spec: str, tale_method: str = "tale-ep") -> list[dict]:
    """Vanilla CoT vs TALE-EP output tokens for each question answered by both (one model)."""
    by_q: dict[str, dict] = {}
    for r in rows:
        if r.get("spec") != spec or r.get("status") == "error":
            continue
        if r.get("method") == "vanilla":
            by_q.setdefault(r["item_id"], {"question_id": r["item_id"]}).update(
                vanilla_tokens=r.get("output_tokens"), vanilla_correct=r.get("correct")
            )
        elif r.get("method") == tale_method:
            by_q.setdefault(r["item_id"], {"question_id": r["item_id"]}).update(
                tale_tokens=r.get("output_tokens"), tale_correct=r.get("correct")
            )
    return list(by_q.values())


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


def results(rows: Sequence[dict], *, dataset_name: str, key: str) -> None:
    if not rows:
        st.info("No answers yet: the table fills in as questions finish.")
        return
    table, which = table_rows(rows, dataset_name)
    st.markdown("**Summary, like the paper's Table 3**")
    render.rows_table(
        table, key=f"{key}_table", column_config={"Expense (USD)": st.column_config.NumberColumn(format="$%.6f")}
    )
    st.caption(
        f"Paper columns: {PAPER_TABLE3_SOURCE}, row '{which}'. The paper's expense cannot be rebuilt "
        "from list prices; ours is usage times a dated price table."
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
    st.download_button(
        "Download answers (CSV)", rows_csv(rows), file_name="benchmark.csv", mime="text/csv", key=f"{key}_csv"
    )


def config_line(config: dict[str, Any]) -> str:
    ds = config.get("dataset") or {}
    return (
        f"{ds.get('name') or ds.get('which') or ds.get('path') or 'dataset'} · "
        f"{len(config.get('item_ids') or [])} question(s) · methods {', '.join(config.get('methods') or [])} · "
        f"{len(config.get('models') or [])} model(s)"
    )
