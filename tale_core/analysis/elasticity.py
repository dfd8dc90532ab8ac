"""Token-elasticity analysis of a sweep: per model, tokens spent vs budget asked, and where it pays off.

Definitions (all over cells that did not fail; error cells are counted per budget but not averaged):

* **compliance** = mean output tokens / budget (1.0 = spends exactly the budget, > 1 = overshoots).
* **sweet spot** = the budget with the fewest mean output tokens among budgets whose graded cells are
  *all* correct (``rule="all"``, default) or a strict majority correct (``rule="majority"``). Without a
  gold answer nothing is graded and the sweet spot is simply the fewest tokens (``sweet_spot_rule``
  says ``"ungraded"``). Ties go to the larger budget (more slack, same cost).
* **elastic region** = ``(lo, hi)``, about CORRECT answers only: ``hi`` is the correct budget (by the
  sweet-spot rule) whose correct answers are shortest (ties: the smallest such budget); going down from
  it through budgets that are still correct, ``lo`` is the smallest one whose correct answers are
  noticeably longer (more than ``tolerance``, default 5%): asking for less than ``hi`` makes the model
  write longer correct answers. The walk stops at the first budget whose answers are wrong, so the
  region never spans the cliff. None when no such budget exists (a model that complies or ignores
  budgets). Without gold answers correctness is unknown and every budget counts.
* **cliff** = ``(wrong, right)``: going down from the sweet spot, the first budget whose answers fail
  the rule (``wrong``) and the correct budget just above it (``right``): below ``right`` the answers
  turn wrong. None when no budget below the sweet spot fails. Elastic region and cliff are separate
  findings and drawn differently (:func:`tale_core.analysis.charts.elasticity_figure`).
* **savings vs reference** = ``1 - sweet_spot.mean_tokens / reference_tokens`` (vanilla CoT cells).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tale_core.errors import TaleError
from tale_core.experiments.sweep import SweepCell

SWEET_SPOT_RULES = ("all", "majority")


@dataclass
class BudgetPoint:
    budget: int
    mean_tokens: float
    std_tokens: float
    n: int
    n_correct: int
    accuracy: float | None
    compliance: float
    mean_cost: float | None
    n_graded: int = 0
    n_errors: int = 0
    min_tokens: int = 0
    max_tokens: int = 0
    #: mean output tokens of the correct cells only (None when none is correct or none is graded)
    mean_tokens_correct: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ElasticityReport:
    spec: str
    points: list[BudgetPoint]
    reference_tokens: float | None
    reference_correct: float | None
    sweet_spot: BudgetPoint | None
    elastic_region: tuple[int, int] | None
    savings_vs_reference: float | None
    sweet_spot_rule: str = "all"
    reference_n: int = 0
    failed_budgets: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cliff: tuple[int, int] | None = None
    wrong_budgets: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "points": [p.to_dict() for p in self.points],
            "reference_tokens": self.reference_tokens,
            "reference_correct": self.reference_correct,
            "reference_n": self.reference_n,
            "sweet_spot": self.sweet_spot.to_dict() if self.sweet_spot else None,
            "sweet_spot_budget": self.sweet_spot.budget if self.sweet_spot else None,
            "sweet_spot_rule": self.sweet_spot_rule,
            "elastic_region": list(self.elastic_region) if self.elastic_region else None,
            "cliff": list(self.cliff) if self.cliff else None,
            "wrong_budgets": list(self.wrong_budgets),
            "savings_vs_reference": self.savings_vs_reference,
            "failed_budgets": list(self.failed_budgets),
            "notes": list(self.notes),
        }


def _mean_std(values: list[float]) -> tuple[float, float]:
    m = sum(values) / len(values)
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / len(values))


def _point(budget: int, cells: list[SweepCell]) -> BudgetPoint | None:
    ok = [c.result for c in cells if c.result.ok]
    if not ok:
        return None
    toks = [r.output_tokens for r in ok]
    mean, std = _mean_std([float(t) for t in toks])
    graded = [r for r in ok if r.correct is not None]
    n_correct = sum(1 for r in graded if r.correct)
    right = [float(r.output_tokens) for r in graded if r.correct]
    costs = [r.cost_usd for r in ok if r.cost_usd is not None]
    return BudgetPoint(
        budget=budget,
        mean_tokens=mean,
        std_tokens=std,
        n=len(ok),
        n_correct=n_correct,
        accuracy=n_correct / len(graded) if graded else None,
        compliance=mean / budget,
        mean_cost=sum(costs) / len(costs) if costs else None,
        n_graded=len(graded),
        n_errors=len(cells) - len(ok),
        min_tokens=min(toks),
        max_tokens=max(toks),
        mean_tokens_correct=sum(right) / len(right) if right else None,
    )


def _passes(p: BudgetPoint, rule: str) -> bool:
    if p.accuracy is None:
        return False
    return p.accuracy == 1.0 if rule == "all" else p.n_correct * 2 > p.n_graded


def sweet_spot(points: list[BudgetPoint], rule: str = "all") -> tuple[BudgetPoint | None, str]:
    """The sweet-spot point and the rule that picked it (``all``, ``majority`` or ``ungraded``)."""
    if not points:
        return None, rule
    if all(p.accuracy is None for p in points):
        rule, pool = "ungraded", points
    else:
        pool = [p for p in points if _passes(p, rule)]
    if not pool:
        return None, rule
    return min(pool, key=lambda p: (p.mean_tokens, -p.budget)), rule


def _correct_tokens(p: BudgetPoint) -> float:
    return p.mean_tokens_correct if p.mean_tokens_correct is not None else p.mean_tokens


def _run_below(points: list[BudgetPoint], top: BudgetPoint, rule: str) -> tuple[list[BudgetPoint], BudgetPoint | None]:
    """Budgets below ``top``, going down, while they pass the rule; and the first one that fails."""
    run: list[BudgetPoint] = []
    for p in sorted((q for q in points if q.budget < top.budget), key=lambda q: -q.budget):
        if p.accuracy is not None and not _passes(p, rule):
            return run, p
        run.append(p)
    return run, None


def elastic_region(points: list[BudgetPoint], tolerance: float = 0.05, rule: str = "all") -> tuple[int, int] | None:
    """``(lo, hi)`` where budgets below ``hi`` make the model write longer CORRECT answers (module doc);
    None when none do. Without any graded point, every budget counts as correct."""
    if len(points) < 2:
        return None
    if all(p.accuracy is None for p in points):
        pool = points
    else:
        pool = [p for p in points if p.accuracy is not None and _passes(p, rule)]
    if not pool:
        return None
    low = min(pool, key=lambda p: (_correct_tokens(p), p.budget))
    run, _ = _run_below(points, low, rule)
    limit = _correct_tokens(low) * (1 + tolerance)
    over = [p.budget for p in run if (p.accuracy is None or _passes(p, rule)) and _correct_tokens(p) > limit]
    return (min(over), low.budget) if over else None


def cliff(points: list[BudgetPoint], rule: str = "all") -> tuple[int, int] | None:
    """``(wrong, right)``: below the sweet spot, the first budget whose answers fail the rule and the
    correct budget just above it; None when none fails (or nothing is graded)."""
    spot, used = sweet_spot(points, rule)
    if spot is None or used == "ungraded":
        return None
    run, wrong = _run_below(points, spot, rule)
    if wrong is None:
        return None
    right = min([p for p in run if p.accuracy is not None] or [spot], key=lambda p: p.budget)
    return wrong.budget, right.budget


def analyze(cells: Iterable[SweepCell], *, rule: str = "all", tolerance: float = 0.05) -> dict[str, ElasticityReport]:
    """One :class:`ElasticityReport` per model spec, in the order the specs first appear in ``cells``."""
    if rule not in SWEET_SPOT_RULES:
        raise TaleError(f"Sweet-spot rule must be one of {', '.join(SWEET_SPOT_RULES)}, not {rule!r}")
    if not 0 <= tolerance < 10:
        raise TaleError(f"Tolerance must be a fraction like 0.05, not {tolerance!r}")
    by_spec: dict[str, dict[int | None, list[SweepCell]]] = {}
    for c in cells:
        by_spec.setdefault(c.key.spec, {}).setdefault(c.key.budget, []).append(c)
    reports: dict[str, ElasticityReport] = {}
    for spec, groups in by_spec.items():
        ref_cells = [c.result for c in groups.pop(None, []) if c.result.ok]
        points: list[BudgetPoint] = []
        failed: list[int] = []
        for b in sorted(k for k in groups if k is not None):
            p = _point(b, groups[b])
            if p is not None:
                points.append(p)
            else:
                failed.append(b)
        ref_tokens = sum(r.output_tokens for r in ref_cells) / len(ref_cells) if ref_cells else None
        ref_graded = [r for r in ref_cells if r.correct is not None]
        ref_correct = sum(1 for r in ref_graded if r.correct) / len(ref_graded) if ref_graded else None
        spot, used_rule = sweet_spot(points, rule)
        savings = None
        if spot is not None and ref_tokens:
            savings = 1 - spot.mean_tokens / ref_tokens
        notes = []
        if failed:
            notes.append(f"Every call failed at budget(s) {', '.join(map(str, failed))}.")
        if points and spot is None:
            notes.append("No budget met the correctness rule, so there is no sweet spot.")
        if ref_tokens is None:
            notes.append("No vanilla CoT reference, so no savings figure.")
        edge = cliff(points, used_rule if used_rule != "ungraded" else rule)
        wrong = [p.budget for p in points if p.accuracy is not None and not _passes(p, rule)]
        if edge is not None:
            again = [p for p in points if p.budget < edge[0] and p.accuracy is not None and _passes(p, rule)]
            if again:
                notes.append(
                    "Correct again below the cliff at budget(s) "
                    + ", ".join(f"{p.budget} ({_correct_tokens(p):.0f} tokens)" for p in again)
                    + "; not counted as elastic: wrong answers lie between."
                )
        reports[spec] = ElasticityReport(
            spec=spec,
            points=points,
            reference_tokens=ref_tokens,
            reference_correct=ref_correct,
            sweet_spot=spot,
            elastic_region=elastic_region(points, tolerance, rule),
            cliff=edge,
            wrong_budgets=wrong,
            savings_vs_reference=savings,
            sweet_spot_rule=used_rule,
            reference_n=len(ref_cells),
            failed_budgets=failed,
            notes=notes,
        )
    return reports
