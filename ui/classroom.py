"""Classroom mode of the Learn page (``/learn?classroom=1``): large type, no sidebar, the Peyton lesson
revealed one step at a time, the elasticity curve drawn live and the TALE-EP step, with a question to
discuss at every step. Readable at 1280x720 from the back of a room.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import streamlit as st

from . import learn_content as content
from . import learn_visuals, render, start_view
from .jobs import registry

STEP_KEY = "classroom_step"

#: our own stylesheet (no user text in it): large type, sidebar and its toggle hidden, wide main column
STYLE = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarNav"] {display: none;}
[data-testid="stMain"] .block-container {max-width: 1500px; padding-top: 1.2rem;}
[data-testid="stMain"] p, [data-testid="stMain"] li {font-size: 1.5rem; line-height: 1.45;}
[data-testid="stMain"] h1 {font-size: 2.6rem;}
[data-testid="stMain"] h2, [data-testid="stMain"] h3 {font-size: 2.0rem;}
[data-testid="stMain"] [data-testid="stMetricValue"] {font-size: 3rem;}
[data-testid="stMain"] [data-testid="stMetricLabel"] p {font-size: 1.3rem;}
[data-testid="stMain"] button p {font-size: 1.35rem;}
[data-testid="stMain"] [data-testid="stCaptionContainer"] {font-size: 1.15rem;}
</style>
"""


@dataclass(frozen=True)
class Slide:
    title: str
    say: str
    discuss: str


SLIDES = (
    Slide(
        "The question",
        "Peyton's after-work activities: how many hours in all? A model can answer directly or reason step "
        "by step first.",
        "How many words of reasoning would *you* need for this question?",
    ),
    Slide(
        "Answer directly",
        "No reasoning: the paper's model spent **15 tokens**, and such answers are often wrong on multi-step "
        "questions.",
        "Why might a direct answer go wrong here?",
    ),
    Slide(
        "Think step by step",
        "Vanilla chain of thought: **258 tokens**. Usually right, but every token costs time and money.",
        "Which of those 258 tokens do you think were really needed?",
    ),
    Slide(
        "Ask for less than 50 tokens",
        "Same prompt plus *use less than 50 tokens*: the model spent **86 tokens**. Not 50, but a third of "
        "258, and still right.",
        "Before the next step: what happens if we ask for less than 10 tokens?",
    ),
    Slide(
        "Ask for less than 10 tokens",
        "**157 tokens**: more than with 50! The budget is too small to fit the reasoning, so the model ignores "
        "it. This overshoot is **token elasticity**.",
        "Why would a model spend more when asked for less?",
    ),
    Slide(
        "The whole curve, drawn live",
        "One call per budget, drawn as the answers arrive (a SIMULATED model shaped like the paper's "
        "measurements). The lowest correct point is the *sweet spot*.",
        "Where is the sweet spot? Would it be the same for a harder question?",
    ),
    Slide(
        "TALE-EP: let the model pick its budget",
        "TALE-EP first asks the model to *estimate* a budget for this question, then asks again with that "
        "budget. Two cheap calls instead of one long one.",
        "When could the estimate be wrong, and what should happen then?",
    ),
    Slide(
        "Discuss",
        "On GSM8K-style math with GPT-4o-mini, the paper reports about two thirds fewer output tokens for a "
        "few points of accuracy.",
        "Is a few points of accuracy worth a third of the cost? For whom? What would you measure next?",
    ),
)


def step() -> int:
    return max(0, min(int(st.session_state.get(STEP_KEY, 0)), len(SLIDES) - 1))


def go(delta: int) -> None:
    st.session_state[STEP_KEY] = max(0, min(step() + delta, len(SLIDES) - 1))


def leave() -> None:
    st.query_params.pop("classroom", None)


def render_mode(question: str, gold: str) -> None:
    st.markdown(STYLE, unsafe_allow_html=True)
    i = step()
    slide = SLIDES[i]
    top = st.columns([6, 1.2, 1.2, 1.6], vertical_alignment="center")
    top[0].markdown(f"## {i + 1} / {len(SLIDES)} · {slide.title}")
    top[1].button("◀ Back", key="cls_back", on_click=go, args=(-1,), disabled=i == 0)
    top[2].button("Next ▶", key="cls_next", on_click=go, args=(1,), type="primary", disabled=i == len(SLIDES) - 1)
    top[3].button("Exit", key="cls_leave", on_click=leave, help="Leave classroom mode")
    st.progress((i + 1) / len(SLIDES))
    if i == 0:
        render.model_text(question)
    st.markdown(slide.say)
    if 1 <= i <= 4:
        shown = content.STEPS[:i]  # the calls revealed so far, in the order the lesson tells them
        cols = st.columns(4)
        for col, s in zip(cols, shown):
            col.metric(s.title, f"{s.paper_tokens} tokens")
        st.caption(f"Output tokens reported by the {content.PAPER_REF}, model {content.PAPER_MODEL}.")
    if i == 5:
        live_curve()
    if i == 6:
        learn_visuals.tale_ep_step(question, gold)
    st.info(f"**Discuss:** {slide.discuss}", icon=":material/forum:")


def live_curve() -> None:
    """The Start page's simulated sweep, drawn live here (started once when the slide opens)."""
    job = start_view.demo_job()
    if job is None:
        job = start_view.start_demo(live=True)
    if st.button("Draw it again", key="cls_redraw", disabled=job.running):
        start_view.start_demo(live=True)
        st.rerun()
    job = registry().get(job.id) or job
    from .jobs import show_live

    show_live(job, functools.partial(start_view.demo_view, font_size=20), watch_key=start_view.WATCH_KEY, every_s=0.5)
