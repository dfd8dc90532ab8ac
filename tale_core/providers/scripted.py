"""Deterministic scripted models with KNOWN token-elasticity curves (provider ``fake``).

Used by the tests, the page and browser tests and offline demos. A scripted model reads what the
prompt asks for (direct answer, estimator, vanilla CoT, "use less than N tokens", a word limit, Concise
CoT, Chain of Draft, provider-native thinking budget or reasoning effort) and answers with text of
exactly the curve's token count, where one whitespace-separated word counts as one token, so
``output_tokens == len(text.split())``. The answer ends with ``[[answer]]``.

The fake does not solve questions: it answers the gold it finds in :attr:`ScriptedModel.answers`
(question -> answer, matched as a substring of the prompt) or ``"42"``. Below the curve's failure budget
it answers gold + 1, which simulates a budget too small to reason correctly.

Specs take options after ``?``: ``fake/slow?latency=0.5``, ``fake/elastic?estimate=[[0]]``,
``fake/flaky?fail_every=2``, ``fake/elastic?concurrency=2``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar
from urllib.parse import parse_qsl

from tale_core.errors import RateLimitError, ServerError, UnknownModel
from tale_core.providers.base import ChatModel, OnText, Stopwatch
from tale_core.providers.catalog import ModelInfo
from tale_core.providers.registry import EFFORT, PROMPT_BUDGET, THINKING_BUDGET, ProviderFamily, register_provider
from tale_core.settings import ProviderSettings
from tale_core.types import Completion, GenParams, Message

PROVIDER = "fake"
RUNTIME = "scripted-fake 1"

_FILLER = (
    "First",
    "we",
    "read",
    "the",
    "question",
    "and",
    "note",
    "the",
    "given",
    "numbers.",
    "Then",
    "we",
    "combine",
    "them",
    "step",
    "by",
    "step,",
    "checking",
    "each",
    "partial",
    "result.",
)

_BUDGET_RE = re.compile(r"use less than (\d+) tokens")
_WORDS_RE = re.compile(r"limit the answer length to (\d+) words")
_EFFORT_SHARE = {"minimal": 0.1, "low": 0.25, "medium": 0.5, "high": 1.0}


@dataclass(frozen=True)
class Curve:
    """How a scripted model spends tokens.

    ``points`` are (budget, tokens) pairs, linearly interpolated, clamped at both ends; when empty the
    model spends exactly the budget (clamped to ``[2, vanilla_tokens]``); with ``flat`` it ignores the
    budget and spends ``vanilla_tokens``. Answers are wrong when the budget is below ``fail_below``.
    """

    name: str
    description: str
    vanilla_tokens: int = 258
    direct_tokens: int = 15
    points: tuple[tuple[int, int], ...] = ()
    flat: bool = False
    fail_below: int = 0
    estimate_text: str = "Budget: [[60]]"
    concise_share: float = 0.55
    draft_share: float = 0.3
    latency: float = 0.0
    fail_every: int = 0
    always_error: bool = False
    max_concurrency: int = 4

    def tokens_for_budget(self, b: int) -> int:
        """Tokens this curve spends when asked to use less than ``b`` tokens."""
        if self.flat:
            return self.vanilla_tokens
        if not self.points:
            return max(2, min(int(b), self.vanilla_tokens))
        pts = self.points
        if b <= pts[0][0]:
            return pts[0][1]
        for (b0, t0), (b1, t1) in zip(pts, pts[1:]):
            if b <= b1:
                return int(round(t0 + (t1 - t0) * (b - b0) / (b1 - b0)))
        return pts[-1][1]


# paper Figure 1 (GPT-4o-mini): vanilla 258, budget 50 -> 86, budget 10 -> 157, direct 15
_ELASTIC_POINTS = (
    (1, 170),
    (5, 165),
    (10, 157),
    (20, 125),
    (30, 100),
    (40, 88),
    (50, 86),
    (75, 100),
    (100, 120),
    (150, 160),
    (200, 200),
    (258, 258),
)

# the always-available demo: the paper's shape with the irregularities of a measured curve (it is
# still scripted, and every place that offers it says "simulated")
SIMULATED = "simulated"
SIMULATED_SPEC = f"{PROVIDER}/{SIMULATED}"
_SIMULATED_POINTS = (
    (1, 183),
    (5, 171),
    (10, 159),
    (15, 143),
    (20, 127),
    (30, 104),
    (40, 93),
    (50, 87),
    (60, 90),
    (75, 99),
    (100, 121),
    (150, 164),
    (200, 203),
    (300, 249),
    (400, 262),
)

SCRIPTED_CURVES: dict[str, Curve] = {
    c.name: c
    for c in (
        Curve(
            "elastic",
            "Paper-like: vanilla 258 tokens, budget 50 -> 86, budget 10 -> 157 (elasticity), "
            "direct 15; wrong below budget 5.",
            points=_ELASTIC_POINTS,
            fail_below=5,
        ),
        Curve(
            "compliant",
            "Spends about the budget it is given; wrong below budget 20.",
            vanilla_tokens=240,
            direct_tokens=12,
            fail_below=20,
            estimate_text="Budget: [[40]]",
        ),
        Curve(
            "flat",
            "Ignores the budget: always 200 tokens, always right.",
            vanilla_tokens=200,
            direct_tokens=12,
            flat=True,
        ),
        Curve(
            "slow",
            "Like elastic but takes `latency` seconds per call (fake/slow?latency=0.5).",
            points=_ELASTIC_POINTS,
            fail_below=5,
            latency=0.3,
        ),
        Curve(
            "flaky",
            "Like elastic but every 3rd call fails with a server error.",
            points=_ELASTIC_POINTS,
            fail_below=5,
            fail_every=3,
        ),
        Curve("error", "Every call fails with a rate-limit error.", always_error=True),
        Curve(
            SIMULATED,
            "SIMULATED demo model (no language model is called): scripted token counts shaped like the "
            "paper's GPT-4o-mini curve (vanilla 265, budget 50 -> 87, budget 10 -> 159); wrong below budget 10.",
            vanilla_tokens=265,
            direct_tokens=14,
            points=_SIMULATED_POINTS,
            fail_below=10,
            estimate_text="Budget: [[62]]",
            latency=0.35,
            max_concurrency=3,
        ),
        Curve(
            "bad-estimator",
            "Like elastic but its budget estimate is unparseable.",
            points=_ELASTIC_POINTS,
            fail_below=5,
            estimate_text="I cannot estimate that.",
        ),
    )
}


def _wrong(answer: str) -> str:
    try:
        n = float(answer.replace(",", ""))
    except ValueError:
        return f"not {answer}"
    n += 1
    return str(int(n)) if n.is_integer() else str(n)


def _text_of(n_tokens: int, answer: str) -> list[str]:
    """``n_tokens`` words ending with ``Answer: [[answer]]`` (just ``[[answer]]`` when n is 1)."""
    n = max(1, int(n_tokens))
    final = [f"[[{answer}]]"] if n == 1 else ["Answer:", f"[[{answer}]]"]
    filler = [_FILLER[i % len(_FILLER)] for i in range(n - len(final))]
    return filler + final


class ScriptedModel(ChatModel):
    """A :class:`ChatModel` that follows a :class:`Curve`; thread-safe; counts its calls.

    ``calls``, ``in_flight`` and ``max_in_flight`` let tests check caching and concurrency limits.
    """

    provider = PROVIDER
    #: question -> gold answer shared by every scripted model (tests register and remove their own)
    answers: ClassVar[dict[str, str]] = {}

    def __init__(self, curve: Curve, model: str | None = None, answers: dict[str, str] | None = None):
        self.curve = curve
        self.model = model or curve.name
        self.max_concurrency = curve.max_concurrency
        self._answers = answers
        self._lock = threading.Lock()
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def runtime(self) -> str:
        return RUNTIME

    def count_tokens(self, text: str) -> tuple[int, bool]:
        return len(text.split()), True

    # ------------------------------------------------------------------ reading the prompt
    def _gold_for(self, prompt: str) -> str:
        table = self._answers if self._answers is not None else type(self).answers
        best = ""
        for q in table:
            if q and q in prompt and len(q) > len(best):
                best = q
        return str(table[best]) if best else "42"

    def plan(self, messages: Sequence[Message], params: GenParams) -> tuple[int, int, bool, str]:
        """What this model will answer: ``(visible tokens, reasoning tokens, correct, kind)``."""
        c = self.curve
        prompt = "\n".join(m.content for m in messages if m.role == "user")
        if "estimate the minimum number of tokens" in prompt:
            return len(c.estimate_text.split()), 0, True, "estimate"
        if prompt.startswith("Please answer the following question and give the answer directly"):
            return c.direct_tokens, 0, True, "direct"
        if params.thinking_budget:
            return c.direct_tokens, min(int(params.thinking_budget), c.vanilla_tokens), True, "thinking"
        if params.reasoning_effort:
            share = _EFFORT_SHARE.get(params.reasoning_effort, 0.5)
            return c.direct_tokens, int(round(c.vanilla_tokens * share)), True, "effort"
        m = _BUDGET_RE.search(prompt) or _WORDS_RE.search(prompt)
        if m:
            b = int(m.group(1))
            return c.tokens_for_budget(b), 0, b >= c.fail_below, "budget"
        if "Be concise." in prompt:
            return max(2, int(round(c.vanilla_tokens * c.concise_share))), 0, True, "concise"
        if "minimum draft" in prompt:
            return max(2, int(round(c.vanilla_tokens * c.draft_share))), 0, True, "draft"
        return c.vanilla_tokens, 0, True, "vanilla"

    # ------------------------------------------------------------------ the call
    def complete(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None = None) -> Completion:
        with self._lock:
            self.calls += 1
            n_call = self.calls
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._complete(n_call, messages, params, on_text)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _complete(
        self, n_call: int, messages: Sequence[Message], params: GenParams, on_text: OnText | None
    ) -> Completion:
        c = self.curve
        sw = Stopwatch()
        if c.always_error:
            if c.latency:
                time.sleep(c.latency)
            raise RateLimitError(
                "Scripted rate limit: this fake model always answers 429.",
                provider=PROVIDER,
                status=429,
                retry_after=1.0,
            )
        if c.fail_every and n_call % c.fail_every == 0:
            if c.latency:
                time.sleep(c.latency)
            raise ServerError(
                f"Scripted server error on call {n_call} (every {c.fail_every}th call fails).",
                provider=PROVIDER,
                status=500,
            )
        visible, reasoning, correct, kind = self.plan(messages, params)
        if kind == "estimate":
            words = c.estimate_text.split()
        else:
            gold = self._gold_for("\n".join(m.content for m in messages))
            words = _text_of(visible, gold if correct else _wrong(gold))
        finish = "stop"
        limit = max(0, int(params.max_tokens) - reasoning)
        if len(words) > limit:
            words, finish = words[:limit], "length"
        pause = c.latency / max(1, len(words)) if c.latency else 0.0
        if on_text is None:
            if c.latency:
                time.sleep(c.latency)
        else:
            for i, w in enumerate(words):
                if pause:
                    time.sleep(pause)
                sw.mark_first()
                on_text(w if i == len(words) - 1 else w + " ")
        text = " ".join(words)
        n_in = sum(len(m.content.split()) for m in messages)
        return Completion(
            text=text,
            provider=PROVIDER,
            model=self.model,
            input_tokens=n_in,
            output_tokens=len(words) + reasoning,
            reasoning_tokens=reasoning,
            finish_reason=finish,
            latency_s=sw.elapsed(),
            first_token_s=sw.first,
            runtime=RUNTIME,
            request={"kind": kind, "max_tokens": params.max_tokens},
            usage_source="provider",
            raw_usage={"prompt_tokens": n_in, "completion_tokens": len(words) + reasoning},
        )


def scripted_model(name: str, answers: dict[str, str] | None = None) -> ScriptedModel:
    """The scripted model for ``name`` (a curve name, optionally with ``?latency=..&estimate=..`` options)."""
    base, _, query = (name or "").partition("?")
    curve = SCRIPTED_CURVES.get(base)
    if curve is None:
        raise UnknownModel(f"Unknown scripted model {base!r}; known: {', '.join(SCRIPTED_CURVES)}")
    changes: dict = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        try:
            if k == "latency":
                changes["latency"] = max(0.0, min(float(v), 60.0))
            elif k == "estimate":
                changes["estimate_text"] = v
            elif k == "fail_every":
                changes["fail_every"] = max(0, int(v))
            elif k == "concurrency":
                changes["max_concurrency"] = max(1, int(v))
            else:
                raise UnknownModel(
                    f"Unknown option {k!r} for scripted model {base!r}; use latency, estimate, "
                    "fail_every or concurrency"
                )
        except ValueError:
            raise UnknownModel(f"Option {k}={v!r} of scripted model {base!r} is not a number") from None
    return ScriptedModel(replace(curve, **changes) if changes else curve, model=name, answers=answers)


# --- registration (tale_core.providers.registry) -----------------------------------------------------
def fake_models_enabled(env: Mapping[str, str] | None = None) -> bool:
    """Scripted models are listed only with ``TALE_FAKE_MODELS`` set (they always resolve)."""
    env = os.environ if env is None else env
    return env.get("TALE_FAKE_MODELS", "") not in ("", "0", "false")


def _listed(settings: ProviderSettings) -> list[ModelInfo]:
    # the simulated demo is always offered (no key, no download), labelled as simulated everywhere
    demo = ModelInfo(
        PROVIDER,
        SIMULATED,
        "Simulated demo model (not a real LLM)",
        8192,
        4096,
        note="SIMULATED: scripted token counts shaped like the TALE paper's curve; no model is called.",
    )
    if not fake_models_enabled(settings.env):
        return [demo]
    note = "Simulated model for tests and offline demos."
    return [demo] + [
        ModelInfo(PROVIDER, name, f"Scripted fake: {name}", 8192, 4096, note=note)
        for name in SCRIPTED_CURVES
        if name != SIMULATED
    ]


register_provider(
    ProviderFamily(
        PROVIDER,
        "Scripted fake models",
        lambda provider, model, settings: scripted_model(model),
        extra_models=_listed,
        describe=lambda provider, model: ModelInfo(provider, model, model, 8192, 4096),
        # scripted models simulate every budget control
        capabilities=lambda info: frozenset({PROMPT_BUDGET, THINKING_BUDGET, EFFORT}),
    )
)
