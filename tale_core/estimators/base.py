"""The one interface every budget estimator implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from tale_core.protocols import CallRecord


@dataclass
class BudgetEstimate:
    """What an estimator says about one question.

    ``budget`` is None when the estimator has no usable answer (the caller then falls back to vanilla
    CoT, as TALE-EP does). ``cost_usd`` and ``output_tokens`` are what the estimate itself cost (0 for
    estimators that make no model call); ``records`` are the calls it made.
    """

    budget: int | None
    status: str = "ok"  # ok | unparseable | absurd | error | unknown
    cost_usd: float | None = 0.0
    output_tokens: int = 0
    input_tokens: int = 0
    note: str = ""
    records: list[CallRecord] = field(default_factory=list)


@runtime_checkable
class Estimator(Protocol):
    """Question in, budget out. ``key`` is stable (stored with results); ``label`` is for people."""

    key: str
    label: str
    #: True when estimating makes a model call (it then costs tokens and money)
    calls_model: bool

    def estimate(self, question: str, *, question_id: str | None = None) -> BudgetEstimate: ...
