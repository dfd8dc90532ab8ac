"""Experiment titles that tell runs apart in a list: the question (cut at a word), the settings, the time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime


def clip(text: str, limit: int = 48) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters (with an ellipsis)."""
    one = " ".join((text or "").split())
    if len(one) <= limit:
        return one
    cut = one[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + "…"


def run_title(kind: str, question: str, settings: str, *, at: datetime | None = None) -> str:
    """e.g. ``Sweep: Peyton scheduled after-work activities… · 9 budgets 5-400 · 1 model · 19:42``."""
    when = (at or datetime.now()).strftime("%H:%M")
    return f"{kind}: {clip(question)} · {settings} · {when}"


def models_word(models: Sequence[str]) -> str:
    if len(models) == 1:
        return models[0].split("/", 1)[-1][:24]
    return f"{len(models)} models"
