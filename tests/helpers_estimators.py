"""A model whose optimal budget is known per question, for the estimator tests.

A question with k numbers needs ``NEED_PER_NUMBER * k`` tokens of reasoning. Asked for a budget b:
b >= need answers correctly in b tokens (capped at the vanilla length); need/2 <= b < need answers
correctly but overshoots to 1.2 x the vanilla length (token elasticity); b < need/2 answers wrongly in b
tokens. Vanilla CoT spends ``VANILLA_PER_NUMBER * k`` tokens; the zero-shot estimator always says 50.
The answer is the sum of the question's numbers; one word is one token.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tale_core.providers.base import ChatModel, OnText
from tale_core.types import Completion, GenParams, Message

NEED_PER_NUMBER = 12
VANILLA_PER_NUMBER = 100
_NUM = re.compile(r"\b\d+\b")
_BUDGET = re.compile(r"use less than (\d+) tokens")
_QUESTION = re.compile(r"Q: (.*?)\n", re.S)


def question(k: int, seed: int) -> tuple[str, str]:
    """A question with k numbers (k >= 1) and its gold answer."""
    nums = [(seed * 7 + i * 3) % 9 + 1 for i in range(k)]
    names = ["apples", "pears", "plums", "figs", "limes", "kiwis", "dates", "grapes", "lemons"]
    parts = " and ".join(f"{n} {names[i % len(names)]}" for i, n in enumerate(nums))
    return f"Ann has {parts} in basket number {seed}. How many fruits are there?", str(sum(nums))


def items(ks: Sequence[int], start: int = 0) -> list[dict[str, str]]:
    out = []
    for i, k in enumerate(ks):
        q, gold = question(k, start + i)
        out.append({"id": f"q{start + i}", "question": q, "answer": gold})
    return out


def optimal_need(k: int) -> int:
    return NEED_PER_NUMBER * k


class KnownOptimumModel(ChatModel):
    provider = "fake"
    model = "known-optimum"
    max_concurrency = 1

    def runtime(self) -> str:
        return "known-optimum 1"

    def complete(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None = None) -> Completion:
        prompt = messages[-1].content
        if "estimate the minimum number of tokens" in prompt:
            return self._done("Budget: [[50]]", 2)
        m = _QUESTION.search(prompt)
        q = m.group(1) if m else prompt
        nums = [int(x) for x in _NUM.findall(q)]
        k = len(nums) - 1  # the basket number is not a fruit count
        total = sum(nums[:-1])
        need, vanilla = NEED_PER_NUMBER * k, VANILLA_PER_NUMBER * k
        b = _BUDGET.search(prompt)
        if b is None:
            n, answer = vanilla, total
        else:
            budget = int(b.group(1))
            if budget >= need:
                n, answer = min(budget, vanilla), total
            elif budget * 2 >= need:
                n, answer = int(vanilla * 1.2), total
            else:
                n, answer = max(2, budget), total + 1
        text = " ".join(["step"] * (n - 1) + [f"[[{answer}]]"])
        return self._done(text, n)

    def _done(self, text: str, n: int) -> Completion:
        return Completion(
            text=text,
            provider=self.provider,
            model=self.model,
            input_tokens=10,
            output_tokens=n,
            finish_reason="stop",
            runtime=self.runtime(),
        )
