"""Cards, badges and tables. Model and user text is always shown as plain text, never as HTML."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import streamlit as st

from . import fmt

STATUS_BADGE = {
    "correct": ("Correct", "green"),
    "wrong": ("Wrong", "red"),
    "no_answer": ("No answer", "orange"),
    "truncated": ("Cut off by max tokens", "orange"),
    "hedged": ("Hedged", "orange"),
    "ungraded": ("Not graded", "gray"),
    "error": ("Error", "red"),
    "running": ("Running", "blue"),
    "waiting": ("Waiting", "gray"),
}


def status_badge(status: str, container: Any = None) -> None:
    """A coloured badge: correct / wrong / no answer / hedged / not graded / error."""
    label, color = STATUS_BADGE.get(status, (status.replace("_", " ").capitalize(), "gray"))
    (container or st).badge(label, color=color)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def md_escape(text: str) -> str:
    """User or model text made inert for places that render markdown (titles, labels, subheaders)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def md_text(text: str) -> str:
    """Like :func:`md_escape` but keeps line breaks (multi-line messages such as a dataset's problem list)."""
    return "  \n".join(md_escape(line) for line in str(text).splitlines()) or md_escape(text)


def model_text(text: str, container: Any = None) -> None:
    """Show text a model or a user wrote: as plain text (no HTML, no markdown surprises), wrapped."""
    (container or st).text(text if text else " ", wrap=True)


def usage_source(result: Any) -> str:
    """ "provider" or "estimate": whether the token counts are the provider's own."""
    for rec in getattr(result, "records", None) or ():
        comp = getattr(rec, "completion", None)
        if comp is not None and getattr(comp, "usage_source", "provider") == "estimate":
            return "estimate"
    return "provider"


def token_line(result: Any) -> str:
    """ "in 120 · out 86 · reasoning 0" with "(estimated)" when a tokenizer filled the counts in."""
    out = f"out {fmt.tokens(result.output_tokens)}"
    if getattr(result, "estimate_output_tokens", 0):
        out += f" ({fmt.tokens(result.estimate_output_tokens)} of them for the estimate)"
    parts = [f"Tokens: in {fmt.tokens(result.input_tokens)}", out]
    if getattr(result, "reasoning_tokens", 0):
        parts.append(f"reasoning {fmt.tokens(result.reasoning_tokens)}")
    line = " · ".join(parts)
    if usage_source(result) == "estimate":
        line += " (estimated: the provider sent no usage)"
    return line


def estimate_note(result: Any) -> str | None:
    """TALE-EP's budget estimate in words, with the fallback policy when it was unusable."""
    est = getattr(result, "estimate", None)
    if not est:
        return None
    parsed = est.get("parsed")
    status = est.get("status")
    if status == "error":  # the estimator call itself failed (rate limit, timeout...): an error, not an estimate
        why = error_text(getattr(result, "error", None)) or "no reason given"
        return f"The budget estimate call failed ({why}), so TALE-EP made no answer call."
    if status == "ok" and parsed is not None:
        return f"Estimated budget: {parsed} tokens"
    raw = (est.get("raw") or "").strip().replace("\n", " ")
    raw = raw[:80] + ("..." if len(raw) > 80 else "")
    why = "unreadable" if status == "unparseable" else f"unusable ({parsed})"
    fallback = est.get("fallback") or "vanilla"
    return f'Budget estimate {why}: "{raw}". Fell back to {fallback} CoT, as TALE-EP\'s policy says.'


def error_text(error: dict | None) -> str:
    if not error:
        return ""
    return str(error.get("message") or error.get("kind") or "The call failed.")


def result_body(result: Any, container: Any = None) -> None:
    """Everything under a card's header once the method finished: estimate, error, answer, tokens, cost."""
    c = container or st
    note = estimate_note(result)
    if note:
        c.caption(md_escape(note))
    if result.status == "error":
        c.error(error_text(result.error) or "The call failed.")
    answer = result.extracted if result.extracted is not None else "none found"
    extra = " · free from cache" if getattr(result, "cache_hit", False) else ""
    lines = [
        f"Answer: {md_escape(answer)}",
        md_escape(token_line(result)),
        f"Cost {md_escape(fmt.usd(result.cost_usd))} · {fmt.seconds(result.latency_s)}{extra}",
    ]
    c.caption("  \n".join(lines))


def rows_table(
    rows: Iterable[dict], *, columns: list[str] | None = None, key: str | None = None, column_config: dict | None = None
) -> None:
    """A dataframe of flat dict rows (model text in it is shown as text by the grid)."""
    import pandas as pd

    df = pd.DataFrame(list(rows))
    if columns:
        df = df[[c for c in columns if c in df.columns]]
    st.dataframe(df, hide_index=True, key=key, column_config=column_config)


#: one word per run status (the runner's and the store's; "interrupted": its process stopped, resumable)
RUN_STATUS_WORDS = {
    "running": "Running",
    "done": "Finished",
    "cancelled": "Cancelled",
    "spend_cap": "Stopped at the spend cap",
    "failed": "Failed",
    "interrupted": "Interrupted (its process stopped: Resume it from Experiments)",
}
JOB_STATUS_WORDS = {k: v[0].lower() + v[1:] for k, v in RUN_STATUS_WORDS.items()}


def recent_jobs(kind: str, page: str, *, limit: int = 5) -> None:
    """Links to this server's latest background runs of ``kind`` (they keep running when you leave)."""
    from . import hosted
    from .jobs import registry

    jobs = sorted(registry().list(kind), key=lambda j: j.started_at)
    jobs = [j for j in jobs if hosted.can_edit(j.id)][-limit:]  # hosted mode: a visitor's own runs only
    if not jobs:
        return
    st.markdown("**Recent runs on this server**")
    for j in reversed(jobs):
        st.page_link(
            page,
            label=f"{md_escape(j.title)} ({JOB_STATUS_WORDS.get(j.status, j.status)}, {j.done}/{j.total or '?'})",
            query_params={"experiment": j.id},
        )
