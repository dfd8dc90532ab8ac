"""Score budget estimators: against the searched optimum, and end to end as the budget of the answer call.

*Against the optimum* (no model call): per question the error in log2 budget (1.0 = a factor of 2),
the share within a factor of 2 (with its 95% Wilson interval, scipy), and how many over- and
under-estimates. *End to end*: each estimator's budget goes into the paper's budget prompt for the
answer call (no usable budget -> vanilla CoT, TALE-EP's fallback); its rows have the benchmark's row
format, so :func:`tale_core.experiments.benchmark.summarize` reports accuracy, tokens and the paired
comparison against vanilla CoT (whose rows are the search experiment's own vanilla calls) with the same
intervals and tests as any benchmark. Output tokens there are the answer call's plus the estimator's own
(``estimate_output_tokens``) when it makes a model call.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from scipy.stats import binomtest

from tale_core.engine.methods import MethodSpec, run_method
from tale_core.estimators.base import Estimator
from tale_core.experiments.search_dataset import QuestionSearch
from tale_core.providers.base import ChatModel
from tale_core.types import GenParams


@dataclass
class OptimumScore:
    """How close an estimator's budgets are to the searched optimum (log2 errors: 1.0 = off by 2x)."""

    key: str
    label: str
    n: int
    mean_abs_log2_error: float | None
    median_abs_log2_error: float | None
    within_2x: int
    within_2x_share: float | None
    within_2x_ci: tuple[float, float] | None
    over: int
    under: int
    exact: int
    no_estimate: int
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_against_optimum(estimator: Estimator, searches: Sequence[QuestionSearch]) -> OptimumScore:
    """Compare ``estimator`` with the optimum on every searched question (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    errors: list[float] = []
    over = under = exact = none = within = 0
    for q in searches:
        if q.status != "searched" or q.optimal_budget is None:
            continue
        est = estimator.estimate(q.question, question_id=q.question_id)
        row: dict[str, Any] = {
            "question_id": q.question_id,
            "optimal": q.optimal_budget,
            "predicted": est.budget,
            "status": est.status,
            "log2_error": None,
        }
        if est.budget is None:
            none += 1
        else:
            signed = math.log2(est.budget) - math.log2(q.optimal_budget)
            err = abs(signed)
            errors.append(err)
            row["log2_error"] = round(signed, 4)
            within += err <= 1.0
            if est.budget > q.optimal_budget:
                over += 1
            elif est.budget < q.optimal_budget:
                under += 1
            else:
                exact += 1
        rows.append(row)
    n = len(rows)
    ci = None
    if n:
        low_high = binomtest(within, n).proportion_ci(confidence_level=0.95, method="wilson")
        ci = (float(low_high.low), float(low_high.high))
    return OptimumScore(
        key=estimator.key,
        label=estimator.label,
        n=n,
        mean_abs_log2_error=statistics.fmean(errors) if errors else None,
        median_abs_log2_error=statistics.median(errors) if errors else None,
        within_2x=within,
        within_2x_share=within / n if n else None,
        within_2x_ci=ci,
        over=over,
        under=under,
        exact=exact,
        no_estimate=none,
        rows=rows,
    )


def vanilla_rows(spec: str, searches: Sequence[QuestionSearch]) -> list[dict[str, Any]]:
    """Benchmark rows for vanilla CoT from a search experiment's own reference calls."""
    out = []
    for q in searches:
        if q.status == "error" or q.reference_tokens is None:
            continue
        status = "correct" if q.reference_correct else "wrong"
        out.append(
            _row(
                spec,
                q,
                "vanilla",
                "Vanilla CoT",
                status,
                q.reference_correct,
                q.reference_tokens,
                q.reference_tokens,
                0,
                None,
                None,
            )
        )
    return out


def _row(
    spec: str,
    q: QuestionSearch,
    method: str,
    label: str,
    status: str,
    correct: bool | None,
    output_tokens: int,
    answer_tokens: int,
    estimate_tokens: int,
    budget: int | None,
    cost: float | None,
) -> dict[str, Any]:
    return {
        "spec": spec,
        "item_id": q.question_id,
        "method": method,
        "method_label": label,
        "status": status,
        "correct": correct,
        "output_tokens": output_tokens,
        "answer_output_tokens": answer_tokens,
        "estimate_output_tokens": estimate_tokens,
        "budget_used": budget,
        "cost_usd": cost,
        "repeat": 0,
        "gold": q.gold,
    }


def end_to_end_rows(
    model: ChatModel,
    estimator: Estimator,
    searches: Sequence[QuestionSearch],
    *,
    params: GenParams | None = None,
    cache: Any = None,
    sink: Any = None,
    use_cache: bool | None = None,
    price_overrides: Any = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Answer every question (vanilla-wrong ones included) with the estimator's budget; benchmark rows."""
    rows = []
    for q in searches:
        if q.status == "error":
            continue
        est = estimator.estimate(q.question, question_id=q.question_id)
        method = MethodSpec("vanilla") if est.budget is None else MethodSpec("budget", est.budget)
        res = run_method(
            model,
            method,
            q.question,
            gold=q.gold,
            params=params,
            cache=cache,
            sink=sink,
            use_cache=use_cache,
            question_id=q.question_id,
            price_overrides=price_overrides,
            extra={"estimator": estimator.key, "cell": f"{model.spec}|{q.question_id}|{estimator.key}"},
        )
        cost = None if res.cost_usd is None or est.cost_usd is None else res.cost_usd + est.cost_usd
        row = _row(
            model.spec,
            q,
            estimator.key,
            estimator.label,
            res.status,
            res.correct,
            res.output_tokens + est.output_tokens,
            res.output_tokens,
            est.output_tokens,
            est.budget,
            cost,
        )
        row["estimate_status"] = est.status
        if res.status == "error":
            row["error"] = res.error_message
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
