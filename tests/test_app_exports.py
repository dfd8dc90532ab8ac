"""Readable summary tables and their exports (CSV, Markdown, LaTeX); signed changes never read "-0%"."""

from __future__ import annotations

import dataclasses
import io

import pandas as pd

from tale_core.engine.methods import MethodSpec, run_method
from tale_core.providers.scripted import scripted_model
from tests.helpers_app import button, new_app, no_exception
from ui import exports, fmt

ROWS = [
    {"Model": "openai/gpt-4o-mini", "Method": "TALE-EP", "Accuracy (%)": 87.5, "Tokens vs vanilla": "-64%"},
    {"Model": "a|b_model", "Method": "Vanilla\nCoT", "Accuracy (%)": None, "Tokens vs vanilla": "reference"},
]


def test_csv_markdown_and_latex_hold_the_same_table():
    df = pd.read_csv(io.StringIO(exports.to_csv(ROWS)))
    assert list(df.columns) == list(ROWS[0]) and df["Accuracy (%)"][0] == 87.5
    md = exports.to_markdown(ROWS).splitlines()
    assert md[0] == "| Model | Method | Accuracy (%) | Tokens vs vanilla |"
    assert md[1].count("---") == 4 and "---:" in md[1]  # numbers right-aligned
    assert md[3] == "| a\\|b_model | Vanilla CoT |  | reference |"  # a pipe cannot split a cell
    tex = exports.to_latex(ROWS)
    assert "\\begin{tabular}" in tex and "\\toprule" in tex
    assert "Accuracy (\\%)" in tex and "a|b\\_model" in tex and "-64\\%" in tex and "87.5" in tex


def test_change_never_reads_minus_zero():
    assert fmt.change(-0.64) == "-64%" and fmt.change(0.12) == "+12%"
    assert fmt.change(0.0) == "0%"
    assert fmt.change(-0.003) == "-0.3%" and fmt.change(-0.0004) == "-<0.1%"
    assert fmt.change(None) == "-"
    for v in (-0.004, -0.0001, 0.0001, 0.004):
        assert fmt.change(v) not in ("-0%", "+0%")


def test_playground_summary_rows_are_readable_and_say_price_unknown():
    res = run_method(scripted_model("elastic"), MethodSpec.parse("budget:50"), "What is 6 times 7?", gold="42")
    rows = exports.playground_summary({"fake/elastic": [res, dataclasses.replace(res, cost_usd=None)]})
    assert list(rows[0]) == [
        "Model",
        "Method",
        "Status",
        "Answer",
        "Output tokens",
        "Input tokens",
        "Cost",
        "Time",
        "From cache",
    ]
    assert rows[0]["Method"] == "Budget 50" or "50" in rows[0]["Method"]
    assert rows[0]["Status"] == "correct" and rows[0]["Answer"] == "42" and rows[0]["Output tokens"] == 86
    assert rows[0]["Cost"] == "$0" and rows[1]["Cost"] == "price unknown"


def test_playground_page_summary_has_a_method_column_and_exports(fake_env):
    at = new_app("pages/playground.py")
    at.text_area(key="pg_question").input("What is 6 times 7?")
    at.text_input(key="pg_gold").input("42")
    at.session_state["pg_methods"] = ["vanilla", "budget"]
    button(at, "Run").click().run()
    no_exception(at)
    df = at.dataframe[0].value
    assert "Method" in df.columns and "spec" not in df.columns and "cost_usd" not in df.columns
    assert df["Method"].nunique() == 2 and set(df["Model"]) == {"fake/elastic"}
    assert "None" not in set(df["Cost"].astype(str))
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Summary as CSV", "Markdown", "LaTeX"], labels
