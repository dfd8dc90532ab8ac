"""Optimal token-budget search for one question: the paper's greedy halving and a bracketing search.

Both searches start the same way: one vanilla CoT call (the *reference*). Only a question that vanilla
CoT answers correctly is searched, as in the paper. Every call is a :class:`Probe` in the result, in
the order it was made, so a UI can draw the path. Probes go through :func:`tale_core.engine.methods.run_method`
(``MethodSpec("budget", n)``), so the call cache and the sink see them like any other call; their
records carry ``role="reference"`` or ``role="probe"`` and ``extra={"search": <algorithm>, "step": k}``.

**paper_search** follows Alg. 1/2 of the paper and the official ``search_budget.py``: the start budget
is the vanilla answer's output token count ``b0``; try ``b // 2``; accept it while the answer stays
correct **and** the spent tokens are strictly below the previous accepted spend (the vanilla spend at
first); stop at the first probe that fails either test and return the last accepted budget. If the very
first halving fails, the returned budget is ``b0`` itself (the vanilla token count, never probed as a
budget prompt), exactly what the official code returns. We add one guard the official code lacks: it
never asks for a budget below 1.

**bracket_search** is our design, built so that it is never worse than the paper's search. Spent
tokens against the asked budget are U-shaped (vanilla length for large budgets, then roughly the
budget, then an elastic blow-up or wrong answers below the sweet spot), but real curves also have
bumps, plateaus and wrong answers at odd budgets. It runs in three parts:

1. *the paper's halving chain, exactly*: ``b0/2, b0/4, ...`` with the paper's acceptance test, until
   the paper's search would stop. The paper's answer is the last accepted budget of this chain, so
   once the chain has been probed our choice (the fewest tokens among all correct probes) can never
   cost more than the paper's. No cheaper rule can promise that: on an arbitrary curve, any chain
   budget we skip could be the one the paper returns and the cheapest one of all.
2. *past a bump*: when the paper's search accepts nothing because its first halving was correct but
   dearer than vanilla (a bump just below the vanilla length, as measured on Qwen2.5-Coder-1.5B),
   probe a geometric grid below it (``factor``, default 4) down to ``min_budget`` while each probe is
   correct and cheaper.
3. *refinement* inside the bracket ``lower < best < upper`` (best = fewest spent tokens among correct
   probes; lower = the probe just below it; upper = the nearest correct probe above it, or vanilla):

   - lower end *wrong* (a cliff): bisect between it and the best on a log scale, until the two are
     within ``resolution`` (ratio) of each other;
   - lower end correct but *dearer* (the elastic side of the U): step to the minimum of the parabola
     through the three points (log budget vs spent tokens), while it predicts a saving of at least
     ``min_gain`` of the best spend;
   - lower end correct and *as cheap* (a plateau): stop, nothing cheaper lies between.

   A cheaper correct probe becomes the new best; anything else narrows the bracket.

``max_calls`` (reference included) caps parts 2 and 3; the chain of part 1 is always completed (it is
bounded by ``log2(b0)`` halvings), because cutting it would void the guarantee. So our search uses the
paper's calls plus at most ``max_calls`` minus those; what that buys is measured in
``bench/search_compare.py`` and proved (never dearer) by the property tests in
``tests/test_search_properties.py``. The guarantee is about one curve: a model that answers the same
request differently on each call has no single curve, unless a call cache pins every answer (the
tests share one :class:`~tale_core.protocols.MemoryCache` between the two searches for that case).

It chooses the correct probe with the fewest spent tokens (ties keep the larger, safer budget). If no
budget beats vanilla CoT, ``chosen_budget`` is None and the reason says to use no budget (the paper's
search then returns the vanilla token count as its budget, at the same token cost).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tale_core.errors import TaleError
from tale_core.protocols import CallSink
from tale_core.types import GenParams

PAPER = "paper"
BRACKET = "bracket"

OnProbe = Callable[["Probe"], None]


@dataclass
class Probe:
    """One call of a search: the vanilla reference (``budget`` None) or one budget prompt."""

    step: int
    budget: int | None
    output_tokens: int
    correct: bool | None
    status: str
    cost_usd: float | None
    accepted: bool
    note: str
    phase: str = ""  # reference | halve (paper) | coarse | bisect | parabola (bracket)
    extracted: str | None = None
    cache_hit: bool = False
    latency_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResult:
    """The outcome of one search: every probe, the chosen budget and what the search cost."""

    algorithm: str
    spec: str
    probes: list[Probe]
    chosen_budget: int | None
    calls: int
    total_output_tokens: int
    total_cost_usd: float | None
    reason: str
    #: output tokens spent at the chosen budget (the reference's when nothing beat it)
    chosen_tokens: int | None = None
    reference_tokens: int | None = None
    reference_correct: bool | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def savings(self) -> float | None:
        """1 - chosen_tokens / reference_tokens (None when either is unknown)."""
        if not self.reference_tokens or self.chosen_tokens is None:
            return None
        return 1.0 - self.chosen_tokens / self.reference_tokens

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["savings"] = self.savings
        return d


class _Runner:
    """Makes the calls of one search and keeps its probes."""

    def __init__(
        self,
        algorithm: str,
        model,
        question: str,
        gold: str | None,
        *,
        params,
        cache,
        sink,
        choices,
        on_probe: OnProbe | None,
        use_cache,
        price_overrides,
        question_id,
        reference,
    ):
        self.algorithm = algorithm
        self.reference = reference
        self.model = model
        self.question = question
        self.gold = gold
        self.kw = dict(
            gold=gold,
            choices=choices,
            params=params,
            cache=cache,
            use_cache=use_cache,
            price_overrides=price_overrides,
            question_id=question_id,
        )
        self.sink = sink
        self.on_probe = on_probe
        self.probes: list[Probe] = []

    def call(self, budget: int | None, phase: str, reference=None) -> Probe:
        from tale_core.engine.methods import MethodSpec, run_method

        step = len(self.probes)
        if reference is None:
            role = "reference" if budget is None else "probe"
            spec = MethodSpec("vanilla") if budget is None else MethodSpec("budget", budget=budget)
            res = run_method(
                self.model,
                spec,
                self.question,
                sink=self.sink,
                role=role,
                extra={"search": self.algorithm, "step": step},
                **self.kw,
            )
        else:
            res = reference
        err = (res.error or {}).get("message") if res.status == "error" else None
        probe = Probe(
            step=step,
            budget=budget,
            output_tokens=int(res.output_tokens or 0),
            correct=res.correct,
            status=res.status,
            cost_usd=res.cost_usd,
            accepted=False,
            note=f"call failed: {err}" if err else "",
            phase=phase,
            extracted=res.extracted,
            cache_hit=bool(res.cache_hit),
            latency_s=float(res.latency_s or 0.0),
        )
        self.probes.append(probe)
        return probe

    def report(self, probe: Probe) -> None:
        if self.on_probe is not None:
            self.on_probe(probe)

    def result(self, chosen: int | None, chosen_tokens: int | None, reason: str, **params) -> SearchResult:
        costs = [p.cost_usd for p in self.probes if p.cost_usd is not None]
        ref = self.probes[0] if self.probes else None
        return SearchResult(
            algorithm=self.algorithm,
            spec=self.model.spec,
            probes=list(self.probes),
            chosen_budget=chosen,
            calls=len(self.probes),
            total_output_tokens=sum(p.output_tokens for p in self.probes),
            total_cost_usd=sum(costs) if costs else None,
            reason=reason,
            chosen_tokens=chosen_tokens,
            reference_tokens=ref.output_tokens if ref and ref.status != "error" else None,
            reference_correct=ref.correct if ref else None,
            params=params,
        )


def _start(run: _Runner) -> tuple[Probe | None, str | None]:
    """Make (or reuse) the reference call; return it and, when the search cannot go on, why."""
    if not (run.gold or "").strip():
        return None, "A gold answer is needed to search a budget: without it no probe can be graded."
    ref = run.call(None, "reference", reference=run.reference)
    if ref.status == "error":
        ref.note = ref.note or "call failed"
        run.report(ref)
        return (
            ref,
            f"The vanilla CoT reference call failed ({ref.note.removeprefix('call failed: ')}); nothing to search.",
        )
    if ref.correct is not True:
        ref.note = f"vanilla CoT answered {ref.extracted!r}, not the gold answer"
        run.report(ref)
        return ref, (
            "Vanilla CoT got this question wrong, and the budget search only searches questions "
            "vanilla CoT answers correctly (as in the paper)."
        )
    if ref.output_tokens < 2:
        ref.note = "vanilla CoT spent fewer than 2 tokens"
        run.report(ref)
        return ref, "Vanilla CoT spent fewer than 2 output tokens: there is no budget to halve."
    ref.accepted = True
    ref.note = f"vanilla CoT reference: correct with {ref.output_tokens} output tokens"
    run.report(ref)
    return ref, None


def paper_search(
    model,
    question: str,
    gold: str | None,
    *,
    params: GenParams | None = None,
    cache=None,
    sink: CallSink | None = None,
    choices: tuple[str, ...] | None = None,
    on_probe: OnProbe | None = None,
    use_cache: bool | None = None,
    price_overrides=None,
    question_id: str | None = None,
    reference=None,
    max_steps: int = 32,
) -> SearchResult:
    """The paper's budget search (Alg. 1/2, official ``search_budget.py``): greedy halving.

    ``reference`` may pass an already made vanilla CoT :class:`~tale_core.engine.methods.MethodResult` (it
    still counts as one call). ``max_steps`` bounds the halvings (a budget reaches 1 after ~17 anyway).
    """
    run = _Runner(
        PAPER,
        model,
        question,
        gold,
        params=params,
        cache=cache,
        sink=sink,
        choices=choices,
        on_probe=on_probe,
        use_cache=use_cache,
        price_overrides=price_overrides,
        question_id=question_id,
        reference=reference,
    )
    ref, stop = _start(run)
    if stop:
        tokens = ref.output_tokens if ref is not None and ref.status != "error" else None
        return run.result(None, tokens, stop)
    assert ref is not None  # _start returns a stop reason whenever it has no reference
    budget = prev_tokens = ref.output_tokens
    reason = ""
    for _ in range(max_steps):
        nxt = budget // 2
        if nxt < 1:
            reason = f"Stopped: budget {budget} cannot be halved below 1."
            break
        p = run.call(nxt, "halve")
        if p.status == "error":
            reason = f"Stopped: the call for budget {nxt} failed."
        elif p.correct is not True:
            p.note = f"wrong answer ({p.extracted!r}) at budget {nxt}"
            reason = f"Stopped at the first failure: budget {nxt} gave a wrong answer."
        elif p.output_tokens >= prev_tokens:
            p.note = f"spent {p.output_tokens} tokens, not fewer than {prev_tokens}"
            reason = (
                f"Stopped at the first failure: budget {nxt} spent {p.output_tokens} tokens, "
                f"not fewer than the {prev_tokens} before it."
            )
        else:
            p.accepted = True
            p.note = f"correct and fewer tokens ({p.output_tokens} < {prev_tokens}): accept {nxt}"
            budget, prev_tokens = nxt, p.output_tokens
            run.report(p)
            continue
        run.report(p)
        break
    else:
        reason = f"Stopped after {max_steps} halvings."
    if budget == ref.output_tokens:
        reason += f" No halving was accepted, so the budget is the vanilla token count {budget} (paper semantics)."
    else:
        reason += f" Last accepted budget: {budget}."
    return run.result(budget, prev_tokens, reason.strip(), max_steps=max_steps)


def _vertex(points: list[tuple[float, float]]) -> float | None:
    """x of the minimum of the parabola through three (x, y) points, or None if it opens downward."""
    (x1, y1), (x2, y2), (x3, y3) = points
    num = (x2 - x1) ** 2 * (y2 - y3) - (x2 - x3) ** 2 * (y2 - y1)
    den = (x2 - x1) * (y2 - y3) - (x2 - x3) * (y2 - y1)
    if den >= 0:  # not a strict bracket (convex parabolas have den < 0 here)
        return None
    return x2 - 0.5 * num / den


def _vertex_gain(points: list[tuple[float, float]], x: float) -> float:
    """How much lower than the middle point the parabola through ``points`` is at ``x``."""
    (x1, y1), (x2, y2), (x3, y3) = points
    y = (
        y1 * (x - x2) * (x - x3) / ((x1 - x2) * (x1 - x3))
        + y2 * (x - x1) * (x - x3) / ((x2 - x1) * (x2 - x3))
        + y3 * (x - x1) * (x - x2) / ((x3 - x1) * (x3 - x2))
    )
    return y2 - y


def bracket_search(
    model,
    question: str,
    gold: str | None,
    *,
    params: GenParams | None = None,
    cache=None,
    sink: CallSink | None = None,
    choices: tuple[str, ...] | None = None,
    on_probe: OnProbe | None = None,
    use_cache: bool | None = None,
    price_overrides=None,
    question_id: str | None = None,
    reference=None,
    factor: float = 4.0,
    min_budget: int = 4,
    resolution: float = 1.5,
    min_gain: float = 0.03,
    max_calls: int = 8,
    max_steps: int = 32,
) -> SearchResult:
    """The paper's halving chain, a look past a bump, then refinement inside the bracket (module doc).

    ``max_calls`` counts every call, the reference included (minimum 2), and caps everything after the
    paper's halving chain, which always runs to its end (``max_steps`` halvings at most, as in
    :func:`paper_search`). ``factor`` > 1 is the step of the grid below a bump; ``resolution`` > 1 the ratio at which bisection toward a wrong answer stops;
    ``min_gain`` the predicted saving (fraction of the best spend) below which a parabolic step is not
    worth a call.
    """
    if factor <= 1 or resolution <= 1 or min_budget < 1 or min_gain < 0:
        raise TaleError(
            "Search settings: factor and resolution must be above 1, min_budget at least 1 and min_gain not negative."
        )
    max_calls = max(2, int(max_calls))
    settings = dict(
        factor=factor,
        min_budget=min_budget,
        resolution=resolution,
        min_gain=min_gain,
        max_calls=max_calls,
        max_steps=max_steps,
    )
    run = _Runner(
        BRACKET,
        model,
        question,
        gold,
        params=params,
        cache=cache,
        sink=sink,
        choices=choices,
        on_probe=on_probe,
        use_cache=use_cache,
        price_overrides=price_overrides,
        question_id=question_id,
        reference=reference,
    )
    ref, stop = _start(run)
    if stop:
        tokens = ref.output_tokens if ref is not None and ref.status != "error" else None
        return run.result(None, tokens, stop, **settings)
    assert ref is not None  # _start returns a stop reason whenever it has no reference

    b0 = ref.output_tokens
    best_budget: int | None = None  # None: vanilla CoT itself (placed at budget b0 on the curve)
    best_tokens = b0
    tried: dict[int, Probe] = {}
    failed_call = False

    def probe(budget: int, phase: str) -> Probe:
        nonlocal best_budget, best_tokens, failed_call
        p = run.call(budget, phase)
        tried[budget] = p
        if p.status == "error":
            failed_call = True
        elif p.correct is not True:
            p.note = f"wrong answer ({p.extracted!r}) at budget {budget}"
        elif p.output_tokens < best_tokens:
            p.accepted = True
            p.note = f"correct with {p.output_tokens} tokens, fewer than the best so far ({best_tokens})"
            best_budget, best_tokens = budget, p.output_tokens
        else:
            p.note = f"correct but {p.output_tokens} tokens, not fewer than the best so far ({best_tokens})"
        run.report(p)
        return p

    # 1. the paper's halving chain, with the paper's acceptance test (best_tokens is the last accepted spend)
    budget = b0
    stop_probe: Probe | None = None
    for _ in range(max_steps):
        nxt = budget // 2
        if nxt < 1:
            break
        p = probe(nxt, "halve")
        if failed_call or not p.accepted:
            stop_probe = p
            break
        budget = nxt
    if failed_call:
        reason = "Halving chain (the paper's search) stopped: a call failed."
    elif stop_probe is None:
        reason = f"Halving chain (the paper's search) accepted every halving down to budget {budget}."
    else:
        what = "a wrong answer" if stop_probe.correct is not True else "no saving"
        reason = f"Halving chain (the paper's search) stopped at budget {stop_probe.budget} ({what})."

    # 2. past a bump: the first halving was correct but not cheaper than vanilla; look further down
    if not failed_call and best_budget is None and stop_probe is not None and stop_probe.correct is True:
        jump = int(stop_probe.budget or 0)
        while len(run.probes) < max_calls:
            nxt = max(min_budget, int(jump / factor))
            if nxt >= jump or nxt in tried:
                break
            jump = nxt
            p = probe(jump, "coarse")
            if failed_call or not p.accepted:
                break
        if best_budget is not None:
            reason += f" Past the bump, budget {best_budget} beat vanilla CoT."

    # 3. refine inside the bracket  lower end < best < upper end
    while not failed_call and best_budget is not None:
        below = [b for b in tried if b < best_budget]
        if not below:
            break
        lo = max(below)
        lo_p = tried[lo]
        if lo_p.correct is True and lo_p.output_tokens <= best_tokens:
            reason += f" Plateau: budget {lo} spent as few tokens as {best_budget}; nothing cheaper between."
            break
        if len(run.probes) >= max_calls:
            reason += " Stopped at the call limit."
            break
        hb = best_budget
        if lo_p.correct is not True:
            # a cliff (wrong answers below): bisect toward it on a log scale
            if hb / lo <= resolution or hb - lo < 2:
                reason += f" Bisection done: the best budget {hb} is within {resolution:g}x of the failing {lo}."
                break
            cand, phase = int(round(math.sqrt(lo * hb))), "bisect"
        else:
            # a U (more tokens below): step to the minimum of the parabola through the three points
            above = sorted(b for b, q in tried.items() if b > hb and q.correct is True)
            up_b, up_t = (above[0], tried[above[0]].output_tokens) if above else (b0, b0)
            pts = [
                (math.log(lo), float(lo_p.output_tokens)),
                (math.log(hb), float(best_tokens)),
                (math.log(up_b), float(up_t)),
            ]
            x = _vertex(pts)
            if x is None:
                cand, phase = int(round(math.sqrt(lo * hb))), "bisect"
            else:
                gain = _vertex_gain(pts, x)
                if gain < max(1.0, min_gain * best_tokens):
                    reason += (
                        f" Converged: the curve through budgets {lo}, {hb}, {up_b} predicts no "
                        f"worthwhile saving below {best_tokens} tokens."
                    )
                    break
                cand, phase = int(round(math.exp(x))), "parabola"
            cand = min(up_b - 1, max(lo + 1, cand))
        if cand in tried or cand == hb or not (lo < cand):
            reason += f" Converged at budget {hb}: no untried budget left in the bracket."
            break
        probe(cand, phase)

    if failed_call and "failed" not in reason:
        reason += " Stopped: a call failed."
    if best_budget is None:
        reason += f" No budget beat vanilla CoT ({best_tokens} tokens): use no budget."
    else:
        reason += f" Chosen budget {best_budget}: {best_tokens} tokens, the fewest among correct probes."
    return run.result(best_budget, best_tokens, reason.strip(), **settings)


ALGORITHMS: dict[str, Callable[..., SearchResult]] = {PAPER: paper_search, BRACKET: bracket_search}
