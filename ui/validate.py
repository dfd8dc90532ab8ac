"""Input checks for the pages: each returns a message to show under the field, or None when fine."""

from __future__ import annotations

MAX_QUESTION_CHARS = 20_000
MAX_GOLD_CHARS = 500


def question(text: str | None) -> str | None:
    text = (text or "").strip()
    if not text:
        return "Type a question first (or load an example)."
    if len(text) > MAX_QUESTION_CHARS:
        return f"The question is {len(text):,} characters long; keep it under {MAX_QUESTION_CHARS:,}."
    return None


def gold(text: str | None) -> str | None:
    text = (text or "").strip()
    if len(text) > MAX_GOLD_CHARS:
        return f"The gold answer is {len(text):,} characters long; keep it under {MAX_GOLD_CHARS:,}."
    return None
