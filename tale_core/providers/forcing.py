"""Hard token budgets by budget forcing (s1, Muennighoff et al. 2025, arXiv 2501.19393).

A *soft* budget asks the model to be brief (TALE's "use less than N tokens", a provider's thinking
budget, a reasoning effort); a *hard* budget makes it so: the model reasons for at most N tokens, then
the reasoning is cut and the final answer is forced by appending an end-of-reasoning delimiter and
``Final Answer:`` as an assistant prefix, and letting the model write only the answer (at most
:data:`ANSWER_TOKENS` tokens). Optionally, when the model stops *before* N tokens, ``Wait`` is appended
(up to ``waits`` times) so that it keeps reasoning - s1's way of extending test-time compute.

This works on any runtime that continues a partial assistant message: the embedded llama.cpp runtime
(a final assistant message is a prefill) and OpenAI-compatible servers that declare
``assistant_prefix`` in their capabilities (vLLM, llama.cpp's server, SGLang). The provider supplies a
``step`` function that runs one generation; :func:`force_budget` runs the phases and adds up the usage.

Token accounting: output tokens are every generated token of every phase (reasoning + forced answer),
input tokens every phase's prompt tokens (a server reads the prefix again on every phase; llama.cpp
reuses its KV cache, which the usage reports as cached prompt tokens). The phases are kept in
``raw_usage["budget_forcing"]`` so that a chart can say how many calls were cut.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tale_core.types import Message

#: what replaces the rest of the reasoning when the budget is spent; the "[[" opens TALE's answer format
FORCE_ANSWER = "\n\nFinal Answer: [["
#: what s1 appends to make a model that stopped early keep reasoning
WAIT = "\nWait,"
#: at most this many tokens for the forced answer (a number or a choice letter and the closing brackets)
ANSWER_TOKENS = 32


@dataclass
class StepResult:
    """One generation: the continuation only (never the prefix), why it stopped, and its usage."""

    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int = 0
    first_token_s: float | None = None


#: ``step(messages, max_tokens, on_text)``: one generation; a final assistant message is a prefix to continue
Step = Callable[[Sequence[Message], int, Callable[[str], None] | None], StepResult]


@dataclass
class Forced:
    """The result of a budget-forced generation."""

    text: str
    finish_reason: str | None
    input_tokens: int
    output_tokens: int
    reasoning_output_tokens: int
    answer_output_tokens: int
    forced: bool
    waits_used: int
    first_token_s: float | None
    phases: list[dict[str, Any]]

    def usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": self.output_tokens,
            "budget_forcing": {
                "forced": self.forced,
                "reasoning_tokens": self.reasoning_output_tokens,
                "answer_tokens": self.answer_output_tokens,
                "waits_used": self.waits_used,
                "phases": self.phases,
            },
        }


def strip_prefix(returned: str, prefix: str) -> str:
    """Servers differ: llama.cpp returns prefix + continuation, vLLM only the continuation."""
    if prefix and returned.startswith(prefix):
        return returned[len(prefix) :]
    return returned


def force_budget(
    step: Step,
    messages: Sequence[Message],
    budget: int,
    *,
    waits: int = 0,
    answer_tokens: int = ANSWER_TOKENS,
    on_text: Callable[[str], None] | None = None,
) -> Forced:
    """Reason for at most ``budget`` tokens, then force the final answer (see the module docstring)."""
    if budget <= 0:
        raise ValueError("budget must be above 0")
    msgs = list(messages)
    reasoning = ""
    used = 0
    phases: list[dict[str, Any]] = []
    in_tok = 0
    first: float | None = None
    waits_used = 0
    finish: str | None = None

    def run(prefix: str, cap: int, kind: str) -> StepResult:
        nonlocal in_tok, first
        m = msgs + [Message("assistant", prefix)] if prefix else msgs
        r = step(m, cap, on_text)
        in_tok += r.prompt_tokens
        if first is None:
            first = r.first_token_s
        phases.append(
            {
                "kind": kind,
                "max_tokens": cap,
                "prompt_tokens": r.prompt_tokens,
                "cached_prompt_tokens": r.cached_prompt_tokens,
                "completion_tokens": r.completion_tokens,
                "finish_reason": r.finish_reason,
            }
        )
        return r

    # bounded: one reasoning phase plus at most ``waits`` extensions
    for i in range(waits + 1):
        r = run(reasoning, budget - used, "reason" if i == 0 else "wait")
        reasoning += r.text
        used += r.completion_tokens
        finish = r.finish_reason
        if finish == "length" or used >= budget:
            break
        if i < waits:
            reasoning += WAIT
            waits_used += 1
            if on_text is not None:
                on_text(WAIT)
    forced = finish == "length" or used >= budget
    answer_out = 0
    if forced:
        if on_text is not None:
            on_text(FORCE_ANSWER)
        prefix = reasoning + FORCE_ANSWER
        r = run(prefix, answer_tokens, "answer")
        reasoning = prefix + r.text
        answer_out = r.completion_tokens
        finish = r.finish_reason
    return Forced(
        text=reasoning,
        finish_reason=finish,
        input_tokens=in_tok,
        output_tokens=used + answer_out,
        reasoning_output_tokens=used,
        answer_output_tokens=answer_out,
        forced=forced,
        waits_used=waits_used,
        first_token_s=first,
        phases=phases,
    )


def forcing_request(params_dict: dict[str, Any], budget: int, waits: int) -> dict[str, Any]:
    """What is recorded as the call's request: the base request plus the forcing settings."""
    d = dict(params_dict)
    d["budget_forcing"] = {
        "budget": budget,
        "waits": waits,
        "answer_tokens": ANSWER_TOKENS,
        "delimiter": FORCE_ANSWER,
        "wait": WAIT,
    }
    return d


__all__ = [
    "ANSWER_TOKENS",
    "FORCE_ANSWER",
    "WAIT",
    "Forced",
    "StepResult",
    "force_budget",
    "forcing_request",
    "strip_prefix",
]
