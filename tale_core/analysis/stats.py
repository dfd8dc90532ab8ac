"""Uncertainty for benchmark numbers, with scipy doing the statistics (no hand-written formulas).

- :func:`accuracy_interval`: accuracy with a 95% **Wilson** interval
  (``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``) when every question was asked once.
  With repeats the trials of one question are not independent, so accuracy is the mean over questions of
  each question's share of correct trials, with a bootstrap interval over questions.
- :func:`mean_interval`: a mean (output tokens) with a bootstrap interval (``scipy.stats.bootstrap``,
  BCa, 9,999 resamples, a fixed seed so the same data always gives the same interval).
- :func:`paired_comparison`: one method against vanilla CoT on the same questions. Token reduction
  ``1 - mean(method) / mean(vanilla)`` with a **paired** bootstrap interval (question indices are
  resampled, both methods' values move together), and the accuracy difference with an **exact McNemar
  test**: ``binomtest(b, b + c, 0.5)`` on the discordant questions (b: only the method correct, c: only
  vanilla correct).

Repeats (k trials per question) are aggregated per question first (:func:`per_question`): tokens are
the mean over the question's trials; correctness is the share of correct trials (for accuracy) and the
majority of trials (for McNemar, which needs one yes/no per question; a tie counts as not correct).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

__all__ = [
    "CONFIDENCE",
    "GRADED_STATUSES",
    "Interval",
    "McNemar",
    "PerQuestion",
    "PairedComparison",
    "accuracy_interval",
    "accuracy_over_questions",
    "mean_interval",
    "mcnemar_exact",
    "paired_comparison",
    "per_question",
]

CONFIDENCE = 0.95
N_RESAMPLES = 9_999
SEED = 12345


@dataclass(frozen=True)
class Interval:
    """A point estimate with its interval. ``low``/``high`` are None when ``n`` is too small for one."""

    estimate: float | None
    low: float | None
    high: float | None
    n: int
    method: str
    level: float = CONFIDENCE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_pair(self) -> list[float | None]:
        return [self.low, self.high]


@dataclass(frozen=True)
class McNemar:
    """Exact McNemar test: ``b`` questions only the method got right, ``c`` only the baseline."""

    b: int
    c: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PairedComparison:
    """A method against the baseline on the questions both answered (``n`` of them)."""

    n: int
    reduction: Interval
    accuracy_difference: float | None
    mcnemar: McNemar | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "reduction": self.reduction.to_dict(),
            "accuracy_difference": self.accuracy_difference,
            "mcnemar": self.mcnemar.to_dict() if self.mcnemar else None,
        }


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def accuracy_interval(correct: int, n: int, level: float = CONFIDENCE) -> Interval:
    """Accuracy ``correct / n`` with its Wilson score interval (scipy's ``binomtest``)."""
    if n <= 0:
        return Interval(None, None, None, 0, "wilson", level)
    if not 0 <= correct <= n:
        raise ValueError(f"correct must be within 0..n, got {correct} of {n}")
    ci = stats.binomtest(int(correct), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return Interval(correct / n, float(ci.low), float(ci.high), n, "wilson", level)


def _bootstrap(
    data: tuple[np.ndarray, ...], statistic: Any, *, paired: bool, level: float, seed: int
) -> tuple[float | None, float | None]:
    """scipy's bootstrap interval (BCa; percentile when BCa is undefined for this sample)."""
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # degenerate samples warn; the NaN check below handles them
            res = stats.bootstrap(
                data,
                statistic,
                n_resamples=N_RESAMPLES,
                paired=paired,
                vectorized=True,
                confidence_level=level,
                method=method,
                rng=np.random.default_rng(seed),
            )
        low, high = _finite(res.confidence_interval.low), _finite(res.confidence_interval.high)
        if low is not None and high is not None:
            return low, high
    return None, None


def _mean_stat(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def mean_interval(values: Iterable[float | None], level: float = CONFIDENCE, seed: int = SEED) -> Interval:
    """The mean of ``values`` (None dropped) with a bootstrap interval; all-equal values give a
    zero-width interval, fewer than two values none."""
    xs = np.array([float(v) for v in values if v is not None], dtype=float)
    n = int(xs.size)
    if n == 0:
        return Interval(None, None, None, 0, "bootstrap", level)
    mean = float(xs.mean())
    if n < 2:
        return Interval(mean, None, None, n, "bootstrap", level)
    if np.all(xs == xs[0]):
        return Interval(mean, mean, mean, n, "bootstrap", level)
    low, high = _bootstrap((xs,), _mean_stat, paired=False, level=level, seed=seed)
    return Interval(mean, low, high, n, "bootstrap", level)


def mcnemar_exact(method_correct: Sequence[bool], baseline_correct: Sequence[bool]) -> McNemar:
    """Exact (binomial) McNemar test on paired yes/no outcomes; p = 1 when no pair disagrees."""
    if len(method_correct) != len(baseline_correct):
        raise ValueError("McNemar needs the same questions on both sides")
    b = sum(1 for m, v in zip(method_correct, baseline_correct) if m and not v)
    c = sum(1 for m, v in zip(method_correct, baseline_correct) if v and not m)
    p = 1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5).pvalue)
    return McNemar(b, c, min(1.0, p))


def _reduction_stat(m: np.ndarray, v: np.ndarray, axis: int = -1) -> np.ndarray:
    vm = np.mean(v, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - np.mean(m, axis=axis) / vm


def paired_comparison(
    method: Mapping[str, PerQuestion],
    baseline: Mapping[str, PerQuestion],
    level: float = CONFIDENCE,
    seed: int = SEED,
) -> PairedComparison:
    """``method`` against ``baseline`` (per-question aggregates keyed by question id) on the questions
    both have: paired-bootstrap interval of the token reduction, accuracy difference and McNemar."""
    common = [q for q in method if q in baseline]
    tok = [q for q in common if method[q].tokens is not None and baseline[q].tokens is not None]
    m = np.array([float(method[q].tokens or 0) for q in tok], dtype=float)
    v = np.array([float(baseline[q].tokens or 0) for q in tok], dtype=float)
    if m.size and v.mean() > 0:
        est = float(1.0 - m.mean() / v.mean())
        low: float | None
        high: float | None
        if m.size < 2:
            low = high = None
        elif np.all(m == m[0]) and np.all(v == v[0]):
            low = high = est
        else:
            low, high = _bootstrap((m, v), _reduction_stat, paired=True, level=level, seed=seed)
        reduction = Interval(est, low, high, int(m.size), "paired bootstrap", level)
    else:
        reduction = Interval(None, None, None, int(m.size), "paired bootstrap", level)
    graded = [q for q in common if method[q].share_correct is not None and baseline[q].share_correct is not None]
    if graded:
        diff = sum(float(method[q].share_correct or 0) - float(baseline[q].share_correct or 0) for q in graded) / len(
            graded
        )
        test: McNemar | None = mcnemar_exact(
            [bool(method[q].majority_correct) for q in graded], [bool(baseline[q].majority_correct) for q in graded]
        )
    else:
        diff, test = None, None
    return PairedComparison(len(common), reduction, diff, test)


@dataclass(frozen=True)
class PerQuestion:
    """One question's trials of one method, aggregated: mean tokens, share and majority of correct."""

    trials: int
    tokens: float | None
    share_correct: float | None
    majority_correct: bool | None
    graded: int


def per_question(
    rows: Iterable[Mapping[str, Any]],
    *,
    tokens_key: str = "answer_output_tokens",
    key: str = "item_id",
) -> dict[str, PerQuestion]:
    """Aggregate rows of one (model, method) per question: tokens = mean over the question's non-error
    trials; correctness = share of correct trials among graded ones (``correct``/``wrong``/``no_answer``/
    ``hedged`` are graded, ``hedged`` and ``no_answer`` count as not correct), majority = more than half."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(str(r.get(key)), []).append(r)
    out: dict[str, PerQuestion] = {}
    for q, rs in groups.items():
        ok = [r for r in rs if r.get("status") != "error"]
        toks = [float(r[tokens_key]) for r in ok if r.get(tokens_key) is not None]
        graded = [r for r in ok if r.get("status") in GRADED_STATUSES]
        share = (sum(1 for r in graded if r.get("status") == "correct") / len(graded)) if graded else None
        out[q] = PerQuestion(
            trials=len(rs),
            tokens=(sum(toks) / len(toks)) if toks else None,
            share_correct=share,
            majority_correct=None if share is None else share > 0.5,
            graded=len(graded),
        )
    return out


#: statuses that count in accuracy (everything but ``ungraded`` and ``error``)
GRADED_STATUSES = ("correct", "wrong", "no_answer", "hedged", "truncated")


def accuracy_over_questions(pq: Mapping[str, PerQuestion], level: float = CONFIDENCE, seed: int = SEED) -> Interval:
    """Accuracy from per-question aggregates: Wilson when every question has one graded trial (or all
    trials of each question agree), else the mean of per-question shares with a bootstrap interval over
    questions."""
    shares = [p for p in pq.values() if p.share_correct is not None]
    if not shares:
        return Interval(None, None, None, 0, "wilson", level)
    if all(p.graded == 1 for p in shares):
        return accuracy_interval(sum(1 for p in shares if p.share_correct == 1.0), len(shares), level)
    if all(p.share_correct in (0.0, 1.0) for p in shares):
        # every question's trials agree: a bootstrap would collapse to a zero-width interval at 0 or 1,
        # so count one outcome per question (Wilson over questions, conservative)
        iv = accuracy_interval(sum(1 for p in shares if p.share_correct == 1.0), len(shares), level)
        return Interval(iv.estimate, iv.low, iv.high, iv.n, "wilson over questions (repeats agree)", level)
    iv = mean_interval([p.share_correct for p in shares], level, seed)
    return Interval(iv.estimate, iv.low, iv.high, iv.n, "bootstrap over questions", level)
