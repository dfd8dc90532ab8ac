"""Summary tables for reports: CSV, Markdown and LaTeX (pandas), offered as downloads under a table.

Markdown is written here (pandas' ``to_markdown`` needs the optional ``tabulate`` package); cells are
escaped so model text cannot break the table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

FORMATS = ("CSV", "Markdown", "LaTeX")


def frame(rows: Sequence[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    return rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def to_csv(rows: Sequence[dict[str, Any]] | pd.DataFrame) -> str:
    return frame(rows).to_csv(index=False)


def to_markdown(rows: Sequence[dict[str, Any]] | pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table; ``|``, newlines and backslashes in cells are escaped."""
    df = frame(rows)

    def esc(text: str) -> str:
        text = text.replace("\\", "\\\\").replace("|", "\\|")
        return re.sub(r"[\r\n]+", " ", text)

    head = "| " + " | ".join(esc(str(c)) for c in df.columns) + " |"
    rule = "|" + "|".join(" ---: " if pd.api.types.is_numeric_dtype(df[c]) else " --- " for c in df.columns) + "|"
    body = ["| " + " | ".join(esc(_cell(v)) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def to_latex(rows: Sequence[dict[str, Any]] | pd.DataFrame, *, caption: str | None = None) -> str:
    """A booktabs LaTeX table (pandas ``to_latex``; special characters escaped)."""
    df = frame(rows).map(lambda v: _cell(v) if not isinstance(v, int | float) or isinstance(v, bool) else v)
    return df.to_latex(index=False, escape=True, na_rep="", caption=caption, float_format=lambda x: f"{x:g}")


def playground_summary(runs: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """One readable row per model x method of a Playground run (MethodResult objects)."""
    from . import fmt

    out = []
    for spec, results in runs.items():
        for r in results:
            row = r.to_row()
            verdict = {True: "correct", False: "wrong"}.get(row.get("correct"), "not graded")
            out.append(
                {
                    "Model": spec,
                    "Method": row.get("label") or row.get("method"),
                    "Status": "failed" if row.get("status") == "error" else verdict,
                    "Answer": row.get("extracted") if row.get("extracted") is not None else "-",
                    "Output tokens": row.get("output_tokens"),
                    "Input tokens": row.get("input_tokens"),
                    "Cost": fmt.usd(row.get("cost_usd")),
                    "Time": fmt.seconds(row.get("latency_s")),
                    "From cache": "yes" if row.get("cache_hit") else "no",
                }
            )
    return out


def download_row(
    rows: Sequence[dict[str, Any]] | pd.DataFrame, *, name: str, key: str, label: str = "table", csv: bool = True
) -> None:
    """Download buttons side by side: the table as CSV (unless the page offers its own), Markdown and LaTeX."""
    if frame(rows).empty:
        return
    cols = st.columns([1, 1, 1, 2])
    if csv:
        cols[0].download_button(
            f"{label.capitalize()} as CSV", to_csv(rows), file_name=f"{name}.csv", mime="text/csv", key=f"{key}_csv"
        )
    md, tex = (cols[1], cols[2]) if csv else (cols[0], cols[1])
    md.download_button(
        f"{label.capitalize()} as Markdown" if not csv else "Markdown",
        to_markdown(rows),
        file_name=f"{name}.md",
        mime="text/markdown",
        key=f"{key}_md",
    )
    tex.download_button(
        f"{label.capitalize()} as LaTeX" if not csv else "LaTeX",
        to_latex(rows),
        file_name=f"{name}.tex",
        mime="application/x-tex",
        key=f"{key}_tex",
    )
