"""The built-in methods, one :class:`~tale_core.engine.method_registry.Method` each, in picker order.

To add a method: write its prompt builder in :mod:`tale_core.engine.prompts`, then add one entry here
(or in any module that is imported): ``_prompt_only(key, label, builder)`` for a method that only changes
the prompt, or ``register_method(Method(...))`` for one with an argument, a parameter tweak or a
capability it needs. The Playground, the Benchmark page, sweeps and the CLI list it from the registry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tale_core.engine import prompts
from tale_core.engine.method_registry import EFFORT, HARD_BUDGET, THINKING_BUDGET, Argument, Method, register_method
from tale_core.providers.registry import LEARNED_ESTIMATOR
from tale_core.types import GenParams, Message


def _int(arg: int | str | None) -> int:
    if not isinstance(arg, int):
        raise TypeError(f"expected a whole-number argument, got {arg!r}")
    return arg


def _cot(q: str, arg: int | str | None, mc: bool, style: str) -> tuple[Message, ...]:
    return prompts.mc_cot(q, style) if mc else prompts.vanilla_cot(q, style)


def _budget(q: str, arg: int | str | None, mc: bool, style: str) -> tuple[Message, ...]:
    return prompts.mc_budget(q, _int(arg), style) if mc else prompts.budget(q, _int(arg), style)


#: the budget argument of ``budget:N`` (TALE-EP's estimated budget takes the same place)
TOKEN_BUDGET = Argument(
    "tokens", "Budget N (tokens)", "token budget", 50, step=10, help="The prompt says 'use less than N tokens'."
)

register_method(
    Method(
        "direct",
        "Direct answer",
        lambda q, arg, mc, style: prompts.mc_direct(q, style) if mc else prompts.direct(q, style),
        source="TALE paper: answer directly without any reasoning.",
    )
)
register_method(Method("vanilla", "Vanilla CoT", _cot, source="TALE paper: Let's think step by step."))
register_method(
    Method(
        "tale-ep",
        "TALE-EP",
        _budget,
        calls=2,
        estimates_budget=True,
        source="TALE paper (arXiv 2412.18547): the model estimates a token budget, then answers within it.",
    )
)


def _learned_budget(model: object, question: str) -> tuple[int | None, dict]:
    from tale_core.estimators.method import learned_budget  # scikit-learn loads only when this method runs

    return learned_budget(model, question)


register_method(
    Method(
        "tale-learned",
        "TALE (learned budget)",
        _budget,
        budget_from=_learned_budget,
        requires=LEARNED_ESTIMATOR,
        source="TALE with the budget from an estimator learned from budget searches: no estimator call.",
    )
)
register_method(
    Method(
        "budget",
        "Budget N",
        _budget,
        label_with_arg="Budget {arg}",
        arg=TOKEN_BUDGET,
        source="TALE paper: Let's think step by step and use less than N tokens.",
    )
)


def _prompt_only(key: str, label: str, builder: Callable[[str, bool, str], tuple[Message, ...]], *aliases: str) -> None:
    """Register a method that only changes the prompt; the builder's first doc line names its source."""
    source = (builder.__doc__ or "").strip().splitlines()[0]
    register_method(Method(key, label, lambda q, arg, mc, style: builder(q, mc, style), source=source, aliases=aliases))


# methods that only change the prompt: one line each (key, label, prompt builder, other names)
_prompt_only("concise", "Concise CoT (zero-shot)", prompts.concise_cot)
_prompt_only("concise-fewshot", "Concise CoT (few-shot)", prompts.concise_cot_few_shot)
_prompt_only("cod", "Chain of Draft (zero-shot)", prompts.chain_of_draft, "chain-of-draft")
_prompt_only("cod-fewshot", "Chain of Draft (few-shot)", prompts.chain_of_draft_few_shot)
register_method(
    Method(
        "constrained",
        "Constrained CoT",
        lambda q, arg, mc, style: prompts.constrained_cot(q, _int(arg), mc, style),
        label_with_arg="Constrained CoT ({arg} words)",
        arg=Argument("words", "Word limit (Constrained CoT)", "word limit", 50, maximum=10_000),
        source="Nayab et al. 2024: limit the answer length to N words.",
    )
)
register_method(
    Method(
        "thinking",
        "Thinking budget",
        _cot,
        label_with_arg="Thinking budget {arg}",
        arg=Argument(
            "thinking",
            "Thinking budget (tokens)",
            "token budget",
            2048,
            minimum=1024,
            maximum=64_000,
            step=256,
            help="Extended thinking (Anthropic budget_tokens): at least 1024 and below the max output tokens.",
        ),
        tweak=lambda p, arg: dataclasses.replace(p, thinking_budget=_int(arg)),
        requires=THINKING_BUDGET,
        source="Provider-native thinking budget; sends the vanilla CoT prompt.",
    )
)


def _effort(params: GenParams, arg: int | str | None) -> GenParams:
    return dataclasses.replace(params, reasoning_effort=str(arg))


register_method(
    Method(
        "effort",
        "Reasoning effort",
        _cot,
        label_with_arg="Reasoning effort {arg}",
        arg=Argument(
            "effort",
            "Reasoning effort",
            "reasoning effort",
            "low",
            # every level some provider names; which ones a model takes are its capabilities' effort_levels
            choices=("none", "minimal", "low", "medium", "high", "xhigh", "max"),
            help="OpenAI reasoning models (o-series, gpt-5) and Claude effort; each model takes its own levels.",
        ),
        tweak=_effort,
        requires=EFFORT,
        source="Provider-native reasoning effort (OpenAI reasoning_effort); sends the vanilla CoT prompt.",
    )
)


def _hard_budget(params: GenParams, arg: int | str | None) -> GenParams:
    return dataclasses.replace(params, hard_budget=_int(arg))


register_method(
    Method(
        "forced",
        "Hard budget (budget forcing)",
        _cot,
        label_with_arg="Hard budget {arg} (budget forcing)",
        arg=Argument(
            "tokens",
            "Hard budget N (tokens)",
            "hard budget",
            100,
            step=10,
            help="Budget forcing (s1): the model reasons for at most N tokens, then its final answer is forced.",
        ),
        tweak=_hard_budget,
        requires=HARD_BUDGET,
        source="Budget forcing (Muennighoff et al. 2025, s1): cut the reasoning at N tokens and force the answer; "
        "sends the vanilla CoT prompt.",
    )
)
