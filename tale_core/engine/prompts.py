"""Prompt templates of the TALE paper and its baselines, verbatim from the official repo (GeniusHTX/TALE).

Every template is an immutable module constant and every builder returns a *new* tuple of
:class:`~tale_core.types.Message` (system + user). The official code mutated its templates in place, so
later budgets were silently ignored; here ``budget(q, 10)`` and then ``budget(q, 50)`` give two
different prompts, always.

Sources: vanilla/direct/budget/multiple-choice/estimator prompts from TALE (arXiv 2412.18547, official
repo); Concise CoT from Renze & Guven 2024; Constrained CoT from Nayab et al. 2024; Chain of Draft from
Xu et al. 2025. The three baselines keep TALE's ``[[answer]]`` format line so one grader reads them all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tale_core.types import Message

SYSTEM = "You are a helpful assistant."

# --- the paper's templates (verbatim) ---------------------------------------------------------------
FORMAT_ANSWER = "Please Give the response by strictly following this format: [[answer]], for example: Answer: [[50]]."
FORMAT_CHOICE = "Please Give the response by strictly following this format: [[choice]],for example: Choice: [[A]]."
COT_TRIGGER = "Let's think step by step:\n"
BUDGET_TRIGGER = "Let's think step by step and use less than {budget} tokens:\n"

VANILLA_COT = "Q: {question}\n" + FORMAT_ANSWER + COT_TRIGGER
DIRECT = (
    "Please answer the following question and give the answer directly without any reasoning process. "
    + FORMAT_ANSWER
    + "\nQ: {question}"
)
MC_COT = "{question}\n" + FORMAT_CHOICE + "\n" + COT_TRIGGER
#: direct answer for multiple choice: the direct prompt with the choice format line (not in the paper)
MC_DIRECT = (
    "Please answer the following question and give the answer directly without any reasoning process. "
    + FORMAT_CHOICE
    + "\n{question}"
)
ESTIMATOR = (
    "Task: Analyze the given question and estimate the minimum number of tokens required to generate "
    "a complete and accurate response. Please Give the response by strictly following this format: "
    "[[budget]],for example: Budget: [[12]]."
    '\n\nBelow is the question:\n\nQuestion: "{question}"\n'
)

# --- baselines (their instruction replaces the CoT trigger line) -----------------------------------
CONCISE_TRIGGER = "Let's think step by step. Be concise.\n"
CONSTRAINED_TRIGGER = "Let's think a bit step by step and limit the answer length to {words} words.\n"
CHAIN_OF_DRAFT_TRIGGER = (
    "Think step by step, but only keep a minimum draft for each thinking step, with 5 words "
    "at most. Return the answer at the end of the response after a separator ####.\n"
)

_ESTIMATE_RE = re.compile(r"\[\[(\d+)\]\]")


def _pair(user: str) -> tuple[Message, ...]:
    return (Message("system", SYSTEM), Message("user", user))


def _check_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        from tale_core.errors import TaleError

        raise TaleError("The question is empty: type a question first.")
    return question


def _check_positive(n: int, what: str) -> int:
    from tale_core.errors import TaleError

    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise TaleError(f"The {what} must be a whole number above 0, not {n!r}.")
    return n


def _cot_with(question: str, trigger: str, multiple_choice: bool) -> str:
    """The CoT prompt (plain or multiple choice) with its trigger line replaced by ``trigger``."""
    base = MC_COT if multiple_choice else VANILLA_COT
    head = base[: -len(COT_TRIGGER)]
    # format the question last so braces inside it are never interpreted
    return head.replace("{question}", question) + trigger


def vanilla_cot(question: str) -> tuple[Message, ...]:
    """Vanilla chain-of-thought prompt: ``Q: ...`` + answer format + ``Let's think step by step:``."""
    return _pair(_cot_with(_check_question(question), COT_TRIGGER, False))


def direct(question: str) -> tuple[Message, ...]:
    """Direct answer, no reasoning."""
    return _pair(DIRECT.replace("{question}", _check_question(question)))


def budget(question: str, n: int) -> tuple[Message, ...]:
    """Token-budget-aware CoT: ``Let's think step by step and use less than {n} tokens:``."""
    trigger = BUDGET_TRIGGER.replace("{budget}", str(_check_positive(n, "token budget")))
    return _pair(_cot_with(_check_question(question), trigger, False))


def mc_cot(question: str) -> tuple[Message, ...]:
    """Multiple-choice CoT (``[[choice]]`` format); ``question`` already lists the options."""
    return _pair(_cot_with(_check_question(question), COT_TRIGGER, True))


def mc_budget(question: str, n: int) -> tuple[Message, ...]:
    """Multiple-choice CoT with a token budget."""
    trigger = BUDGET_TRIGGER.replace("{budget}", str(_check_positive(n, "token budget")))
    return _pair(_cot_with(_check_question(question), trigger, True))


def mc_direct(question: str) -> tuple[Message, ...]:
    """Multiple-choice direct answer (``[[choice]]`` format)."""
    return _pair(MC_DIRECT.replace("{question}", _check_question(question)))


def estimator(question: str) -> tuple[Message, ...]:
    """TALE-EP's zero-shot budget estimator; parse its answer with :func:`parse_budget_estimate`."""
    return _pair(ESTIMATOR.replace("{question}", _check_question(question)))


def concise_cot(question: str, multiple_choice: bool = False) -> tuple[Message, ...]:
    """Concise CoT (Renze & Guven 2024): the CoT prompt plus ``Be concise.``"""
    return _pair(_cot_with(_check_question(question), CONCISE_TRIGGER, multiple_choice))


def constrained_cot(question: str, words: int, multiple_choice: bool = False) -> tuple[Message, ...]:
    """Constrained CoT (Nayab et al. 2024): limit the answer length to ``words`` words."""
    trigger = CONSTRAINED_TRIGGER.replace("{words}", str(_check_positive(words, "word limit")))
    return _pair(_cot_with(_check_question(question), trigger, multiple_choice))


def chain_of_draft(question: str, multiple_choice: bool = False) -> tuple[Message, ...]:
    """Chain of Draft (Xu et al. 2025): five-word drafts per step, answer after ``####``."""
    return _pair(_cot_with(_check_question(question), CHAIN_OF_DRAFT_TRIGGER, multiple_choice))


def parse_budget_estimate(text: str | None) -> int | None:
    """The estimator's budget: the last ``[[N]]`` in ``text`` (N digits only), or None.

    None means "no usable estimate"; callers must never turn it into a number (the official code
    produced "use less than -1 tokens" here).
    """
    if not text:
        return None
    found = _ESTIMATE_RE.findall(text)
    return int(found[-1]) if found else None


def format_choices(question: str, choices: Sequence[str] | None) -> str:
    """``question`` followed by lettered options ``A. ...``; unchanged when there are no choices."""
    if not choices:
        return question
    from tale_core.errors import TaleError

    if len(choices) > 26:
        raise TaleError("At most 26 answer choices (A-Z) are supported.")
    lines = [f"{chr(ord('A') + i)}. {str(c).strip()}" for i, c in enumerate(choices)]
    return question.rstrip() + "\n" + "\n".join(lines)


def user_text(messages: Sequence[Message]) -> str:
    """The last user message's text (what a prompt "says")."""
    for m in reversed(list(messages)):
        if m.role == "user":
            return m.content
    return ""
