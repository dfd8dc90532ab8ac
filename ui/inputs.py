"""Input blocks several pages share: question + gold answer with an example loader, and budget choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from tale_core.engine.budgets import BudgetError, linear_grid, log_grid, parse_budget_list

from . import render, services

MAX_CHOICES = 10


@dataclass
class QuestionInput:
    question: str
    gold: str
    #: placeholders right under each field, for validation messages
    question_msg: Any
    gold_msg: Any
    #: multiple-choice options (None for an open question)
    choices: tuple[str, ...] | None = None
    choices_error: str | None = None


def question_input(prefix: str, *, height: int = 130, gold_label: str = "Gold answer (optional)") -> QuestionInput:
    """Example loader, question text area and optional gold answer; keys are ``{prefix}_question`` etc."""
    examples = services.sample_questions()
    if examples:
        cols = st.columns([5, 1], vertical_alignment="bottom")
        ids = [str(e.get("id")) for e in examples]
        snippets = {str(e.get("id")): str(e.get("question") or "") for e in examples}

        def label(i: str) -> str:
            q = snippets.get(i, "")
            return "-" if i == "-" else f"{i}: {q[:70]}{'...' if len(q) > 70 else ''}"

        picked = cols[0].selectbox(
            "Load an example",
            ["-"] + ids,
            key=f"{prefix}_example",
            format_func=label,
            help="Bundled sample questions with their gold answers.",
        )
        if cols[1].button("Load", disabled=picked == "-", key=f"{prefix}_load"):
            ex = services.sample(picked) or {}
            st.session_state[f"{prefix}_question"] = str(ex.get("question", ""))
            st.session_state[f"{prefix}_gold"] = str(ex.get("answer") or "")
            st.session_state[f"{prefix}_choices"] = "\n".join(ex.get("choices") or [])
            st.rerun()
    question = st.text_area(
        "Question",
        key=f"{prefix}_question",
        height=height,
        placeholder="e.g. A shop sells pens at $3 each. How much do 7 pens cost?",
    )
    question_msg = st.empty()
    gold = st.text_input(
        gold_label,
        key=f"{prefix}_gold",
        help="With a gold answer results say correct or wrong; without it, 'not graded'.",
    )
    gold_msg = st.empty()
    has_choices = bool((st.session_state.get(f"{prefix}_choices") or "").strip())
    with st.expander("Multiple choice (optional)", expanded=has_choices):
        raw = st.text_area(
            "Options, one per line",
            key=f"{prefix}_choices",
            height=110,
            help="They are lettered A, B, C... in the prompt; the gold answer is then a letter.",
        )
    choices, choices_error = parse_choices(raw)
    if choices_error:
        st.error(choices_error)
    return QuestionInput(question or "", gold or "", question_msg, gold_msg, choices, choices_error)


def parse_choices(text: str | None) -> tuple[tuple[str, ...] | None, str | None]:
    """Options typed one per line: ``(choices or None, error message or None)``."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if not lines:
        return None, None
    if len(lines) < 2:
        return None, "Give at least two options, one per line (or none for an open question)."
    if len(lines) > MAX_CHOICES:
        return None, f"{len(lines)} options is too many; use at most {MAX_CHOICES}."
    return tuple(lines), None


BUDGET_MODES = ("List", "Log grid", "Linear grid")


def budget_input(prefix: str, *, default_list: str = "5, 10, 20, 50, 100, 200, 400") -> tuple[list[int], str | None]:
    """Budgets typed as a list or built as a grid: ``(budgets, error message or None)``."""
    mode = st.segmented_control(
        "Budgets",
        BUDGET_MODES,
        default="List",
        key=f"{prefix}_budget_mode",
        help="A list you type, or evenly spaced budgets (log spacing suits elasticity).",
    )
    mode = mode or "List"
    try:
        if mode == "List":
            text = st.text_input(
                "Budgets (tokens)",
                value=default_list,
                key=f"{prefix}_budget_list",
                help="Whole numbers separated by commas or spaces.",
            )
            budgets = parse_budget_list(text)
        else:
            c1, c2, c3 = st.columns(3)
            lo = c1.number_input("Lowest", min_value=1, max_value=100_000, value=5, key=f"{prefix}_lo")
            hi = c2.number_input("Highest", min_value=1, max_value=100_000, value=500, key=f"{prefix}_hi")
            n = c3.number_input("Points", min_value=1, max_value=200, value=8, key=f"{prefix}_n")
            grid = log_grid if mode == "Log grid" else linear_grid
            budgets = grid(int(lo), int(hi), int(n))
    except BudgetError as e:
        st.error(render.md_text(str(e)))
        return [], str(e)
    st.caption(f"{len(budgets)} budget(s): {', '.join(str(b) for b in budgets)}")
    return budgets, None
