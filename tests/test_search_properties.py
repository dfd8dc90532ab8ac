"""Property-based proof that the bracketing search is never dearer than the paper's search.

Hypothesis generates token-elasticity curves (U shapes, cliffs, plateaus, non-monotone bumps, noise,
wrong answers at random budgets) and a scripted model follows each one exactly. On every curve both
searches run; ours must choose a budget whose answer costs no more output tokens than the paper's
choice, must choose only a probe that it saw answer correctly at that cost, and must replay the
paper's probes first (that replay is what the guarantee rests on).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tale_core.experiments.search import bracket_search, paper_search
from tale_core.protocols import MemoryCache
from tale_core.providers.scripted import Curve, ScriptedModel
from tale_core.types import GenParams, Message

Q = "A farmer has 6 rows of 7 apple trees. How many trees are there?"
GOLD = "42"
PARAMS = GenParams(max_tokens=20_000)
MAX_TOKENS = 5_000
_BUDGET = re.compile(r"use less than (\d+) tokens")


@dataclass(frozen=True)
class GenCurve:
    """A generated curve: ``shape`` gives tokens per budget; wrong answers below ``fail_below`` and at
    the budgets a seeded hash picks (1 in ``wrong_every``); deterministic noise of +-``noise``."""

    kind: str
    vanilla: int
    points: tuple[tuple[int, int], ...]
    fail_below: int = 0
    wrong_every: int = 0
    noise: int = 0
    seed: int = 0

    def _rand(self, b: int, salt: str) -> float:
        return random.Random(f"{self.seed}/{salt}/{b}").random()

    def tokens(self, b: int) -> int:
        pts = self.points
        if b <= pts[0][0]:
            t = float(pts[0][1])
        elif b >= pts[-1][0]:
            t = float(pts[-1][1])
        else:
            t = float(pts[-1][1])
            for (b0, t0), (b1, t1) in zip(pts, pts[1:]):
                if b0 <= b <= b1:
                    t = t0 + (t1 - t0) * (b - b0) / (b1 - b0) if b1 > b0 else float(t1)
                    break
        if self.noise:
            t += round((2 * self._rand(b, "noise") - 1) * self.noise)
        return int(min(MAX_TOKENS, max(1, round(t))))

    def correct(self, b: int) -> bool:
        if b < self.fail_below:
            return False
        return not (self.wrong_every and self._rand(b, "wrong") < 1 / self.wrong_every)


class CurveModel(ScriptedModel):
    """A scripted model whose budget answers follow a :class:`GenCurve`. With ``jitter`` every call
    adds fresh random tokens (a model that answers a repeated request differently)."""

    def __init__(self, curve: GenCurve, jitter: int = 0, jitter_seed: int = 0):
        super().__init__(Curve("generated", curve.kind, vanilla_tokens=curve.vanilla), answers={Q: GOLD})
        self.gen = curve
        self.jitter = jitter
        self._rng = random.Random(jitter_seed)

    def plan(self, messages: Sequence[Message], params: GenParams) -> tuple[int, int, bool, str]:
        prompt = "\n".join(m.content for m in messages if m.role == "user")
        m = _BUDGET.search(prompt)
        if not m:
            return super().plan(messages, params)
        b = int(m.group(1))
        t = self.gen.tokens(b)
        if self.jitter:
            t = max(1, t + self._rng.randint(-self.jitter, self.jitter))
        return t, 0, self.gen.correct(b), "budget"


# ------------------------------------------------------------------------------- curve strategies

vanillas = st.integers(min_value=2, max_value=3000)


@st.composite
def u_shapes(draw: st.DrawFn) -> GenCurve:
    """Vanilla length at b0, falling to a sweet spot, then an elastic rise below it."""
    b0 = draw(vanillas)
    sweet = draw(st.integers(1, b0))
    bottom = draw(st.integers(1, b0))
    top_small = draw(st.integers(bottom, MAX_TOKENS))
    pts = sorted({(1, top_small), (sweet, bottom), (max(b0, sweet + 1), b0)})
    return GenCurve("u", b0, tuple(pts))


@st.composite
def cliffs(draw: st.DrawFn) -> GenCurve:
    """Spends about the budget; wrong below a failure budget."""
    b0 = draw(vanillas)
    return GenCurve("cliff", b0, ((1, 1), (b0, b0)), fail_below=draw(st.integers(0, 2 * b0)))


@st.composite
def plateaus(draw: st.DrawFn) -> GenCurve:
    b0 = draw(vanillas)
    level = draw(st.integers(1, MAX_TOKENS))
    knee = draw(st.integers(1, 2 * b0))
    return GenCurve("plateau", b0, tuple(sorted({(1, level), (knee, level), (max(knee + 1, 2 * b0), b0)})))


@st.composite
def bumpy(draw: st.DrawFn) -> GenCurve:
    """Any piecewise-linear curve: non-monotone bumps, several valleys, curves above vanilla."""
    b0 = draw(vanillas)
    xs = draw(st.lists(st.integers(1, 2 * b0), min_size=2, max_size=8, unique=True))
    ys = draw(st.lists(st.integers(1, MAX_TOKENS), min_size=len(xs), max_size=len(xs)))
    return GenCurve("bumpy", b0, tuple(sorted(zip(xs, ys))))


@st.composite
def curves(draw: st.DrawFn) -> GenCurve:
    base = draw(st.one_of(u_shapes(), cliffs(), plateaus(), bumpy()))
    return GenCurve(
        base.kind,
        base.vanilla,
        base.points,
        fail_below=base.fail_below or draw(st.sampled_from([0, 0, 0, draw(st.integers(1, 2 * base.vanilla))])),
        wrong_every=draw(st.sampled_from([0, 0, 2, 3, 5])),
        noise=draw(st.sampled_from([0, 0, 3, 20, 100])),
        seed=draw(st.integers(0, 10**6)),
    )


def _both(curve: GenCurve, **kw) -> tuple:
    p = paper_search(CurveModel(curve), Q, GOLD, params=PARAMS)
    b = bracket_search(CurveModel(curve), Q, GOLD, params=PARAMS, **kw)
    return p, b


def _check(p, b, max_calls: int = 8) -> None:
    assert p.reference_correct is True and b.reference_correct is True
    assert b.chosen_tokens is not None and p.chosen_tokens is not None
    assert b.chosen_tokens <= p.chosen_tokens, (p.to_dict(), b.to_dict())
    # ours replays the paper's probes, in order, before anything else
    assert [(x.budget, x.output_tokens, x.correct) for x in b.probes[: p.calls]] == [
        (x.budget, x.output_tokens, x.correct) for x in p.probes
    ]
    assert b.calls <= max(p.calls, max_calls)
    if b.chosen_budget is not None:
        chosen = [x for x in b.probes if x.budget == b.chosen_budget]
        assert chosen and chosen[0].correct is True and chosen[0].output_tokens == b.chosen_tokens
        assert b.chosen_tokens < b.reference_tokens
    else:
        assert b.chosen_tokens == b.reference_tokens


# ------------------------------------------------------------------------------- properties

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(curves())
def test_never_dearer_than_the_paper(curve: GenCurve) -> None:
    _check(*_both(curve))


@SETTINGS
@given(curves(), st.integers(2, 12))
def test_never_dearer_at_any_call_limit(curve: GenCurve, max_calls: int) -> None:
    _check(*_both(curve, max_calls=max_calls), max_calls=max_calls)


@settings(max_examples=100, deadline=None)
@given(curves(), st.integers(1, 60), st.integers(0, 10**6))
def test_noisy_repeats_pinned_by_a_shared_cache(curve: GenCurve, jitter: int, seed: int) -> None:
    """A model that answers a repeated request differently has no single curve; a shared call cache
    pins the first answer to each request, and then ours is never dearer again."""
    model = CurveModel(curve, jitter=jitter, jitter_seed=seed)
    cache = MemoryCache()
    p = paper_search(model, Q, GOLD, params=PARAMS, cache=cache, use_cache=True)
    b = bracket_search(model, Q, GOLD, params=PARAMS, cache=cache, use_cache=True)
    _check(p, b)


# ------------------------------------------------------------------------------- named curves


def test_the_issue_counterexample() -> None:
    """b0/2 cheap and correct, b0/4 dear: the paper returns b0/2; the old bracket search returned
    "use no budget" because its first probe (b0/4) failed and nothing above it was ever tried."""
    curve = GenCurve("counterexample", 400, ((50, 300), (100, 300), (200, 60), (400, 400)))
    p, b = _both(curve)
    assert p.chosen_budget == 200 and p.chosen_tokens == 60
    assert b.chosen_budget is not None and b.chosen_tokens <= 60
    _check(p, b)


def test_a_bump_below_vanilla_is_looked_past() -> None:
    """The first halving is dearer than vanilla (a bump); the paper stops there, ours finds the valley."""
    curve = GenCurve("bump", 219, ((5, 85), (20, 85), (40, 180), (80, 234), (400, 234)))
    p, b = _both(curve)
    assert p.chosen_budget == 219 and p.chosen_tokens == 219 and p.calls == 2
    assert b.chosen_tokens == 85 and b.chosen_budget is not None and b.chosen_budget <= 20


def test_a_cliff_is_bisected() -> None:
    curve = GenCurve("cliff", 240, ((1, 1), (240, 240)), fail_below=20)
    p, b = _both(curve)
    assert p.chosen_tokens == 30
    assert b.chosen_tokens == 21 and [x.phase for x in b.probes][-1] == "bisect"


def test_u_shape_gains_from_the_parabola() -> None:
    curve = GenCurve("u", 258, ((1, 170), (10, 157), (30, 100), (50, 86), (100, 120), (258, 258)))
    p, b = _both(curve)
    assert b.chosen_tokens < p.chosen_tokens


def test_curve_model_follows_its_curve() -> None:
    """The fake itself: the tokens and correctness the searches see are the curve's."""
    curve = GenCurve("check", 100, ((1, 50), (100, 100)), fail_below=10, noise=0)
    p = paper_search(CurveModel(curve), Q, GOLD, params=PARAMS)
    for probe in p.probes[1:]:
        assert probe.output_tokens == curve.tokens(int(probe.budget or 0))
        assert probe.correct is curve.correct(int(probe.budget or 0))
    assert math.isclose(curve.tokens(50), 75, abs_tol=1)
