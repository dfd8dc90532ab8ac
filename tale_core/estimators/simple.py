"""Estimators that need no model: a fixed budget, and the oracle (the searched optimum)."""

from __future__ import annotations

from collections.abc import Mapping

from tale_core.errors import TaleError
from tale_core.estimators.base import BudgetEstimate


class FixedEstimator:
    """The same budget for every question (the paper's "fixed budget" baseline)."""

    calls_model = False

    def __init__(self, budget: int) -> None:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise TaleError(f"A fixed budget must be a whole number above 0, not {budget!r}.")
        self.budget = budget
        self.key = f"fixed:{budget}"
        self.label = f"Fixed budget {budget}"

    def estimate(self, question: str, *, question_id: str | None = None) -> BudgetEstimate:
        return BudgetEstimate(self.budget)


class OracleEstimator:
    """The searched optimal budget of each question: the best any estimator could do on these questions.

    Looked up by question id, else by question text; a question that was not searched gets no budget.
    """

    key = "oracle"
    label = "Oracle (searched optimum)"
    calls_model = False

    def __init__(self, by_id: Mapping[str, int], by_question: Mapping[str, int] | None = None) -> None:
        self.by_id = dict(by_id)
        self.by_question = dict(by_question or {})

    def estimate(self, question: str, *, question_id: str | None = None) -> BudgetEstimate:
        b = self.by_id.get(question_id) if question_id is not None else None
        if b is None:
            b = self.by_question.get(question)
        if b is None:
            return BudgetEstimate(None, status="unknown", note="this question was not searched")
        return BudgetEstimate(int(b))
