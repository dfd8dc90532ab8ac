"""Playground cards: one bordered card per method, streaming its answer, then tokens, cost and a badge.

The page decides what to run; this module draws the cards and runs each method through the engine
(``tale_core.engine.methods.run_method``) in a worker thread so the text can stream into the card.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from tale_core.engine.methods import MethodResult
from tale_core.errors import TaleError

from . import render
from .streaming import run_streaming

CARDS_PER_ROW = 3
TEXT_HEIGHT = 240


@dataclass
class CardSlots:
    """Placeholders of one card, filled while and after its method runs."""

    badge: DeltaGenerator
    text: DeltaGenerator
    body: DeltaGenerator


def draw_card(container: DeltaGenerator, title: str) -> CardSlots:
    """An empty bordered card with a header, a scrolling text area and a body slot."""
    card = container.container(border=True)
    head = card.columns([3, 2], vertical_alignment="center")
    head[0].markdown(f"**{title}**")
    badge = head[1].empty()
    text = card.container(height=TEXT_HEIGHT, border=False).empty()
    body = card.empty()
    return CardSlots(badge=badge, text=text, body=body)


def card_grid(titles: list[str], per_row: int = CARDS_PER_ROW) -> list[CardSlots]:
    """Cards in rows of ``per_row``, in order."""
    slots: list[CardSlots] = []
    for start in range(0, len(titles), per_row):
        row = titles[start : start + per_row]
        cols = st.columns(per_row)
        for col, title in zip(cols, row):
            slots.append(draw_card(col, title))
    return slots


def show_result(slots: CardSlots, result: MethodResult) -> None:
    """Fill a card with a finished :class:`~tale_core.engine.methods.MethodResult`."""
    render.status_badge(result.status, slots.badge)
    render.model_text(result.text or "", slots.text)
    with slots.body.container():
        render.result_body(result)


def show_message(slots: CardSlots, message: str, *, status: str = "error") -> None:
    """A card that could not run (model not ready, method not supported): the reason in words."""
    render.status_badge(status, slots.badge)
    slots.text.caption(render.md_escape(message))
    slots.body.empty()


def run_into_card(slots: CardSlots, work: Callable[[Callable[[str], None]], MethodResult]) -> MethodResult | None:
    """Run ``work(on_text)`` (a run_method call), streaming into the card; returns its MethodResult.

    A TaleError raised before any call (bad input) is shown in the card and returns None.
    """
    render.status_badge("running", slots.badge)
    try:
        result = run_streaming(work, lambda text: render.model_text(text + " ▌", slots.text))
    except TaleError as e:
        show_message(slots, str(e))
        return None
    show_result(slots, result)
    return result
