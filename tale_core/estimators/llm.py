"""TALE-EP's zero-shot budget estimate: one model call with the paper's estimator prompt."""

from __future__ import annotations

from typing import Any

from tale_core.engine import prompts
from tale_core.engine.calls import call_model
from tale_core.engine.methods import classify_estimate
from tale_core.estimators.base import BudgetEstimate
from tale_core.providers.base import ChatModel
from tale_core.providers.catalog import lookup
from tale_core.types import GenParams


class ZeroShotEstimator:
    """Ask ``model`` for a budget with the paper's prompt; parse ``[[N]]`` as TALE-EP does.

    An estimate that cannot be parsed or is absurd (0, negative, above the model's output limit) has
    ``budget`` None and says why in ``status``; a failed call has status ``error`` (never "unusable").
    """

    key = "zero-shot"
    label = "Zero-shot LLM estimate (TALE-EP)"
    calls_model = True

    def __init__(
        self,
        model: ChatModel,
        *,
        params: GenParams | None = None,
        cache: Any = None,
        sink: Any = None,
        price_overrides: Any = None,
    ) -> None:
        self.model = model
        self.params = params or GenParams()
        self.cache, self.sink, self.price_overrides = cache, sink, price_overrides

    def estimate(self, question: str, *, question_id: str | None = None) -> BudgetEstimate:
        rec = call_model(
            self.model,
            prompts.estimator(question),
            self.params,
            cache=self.cache,
            sink=self.sink,
            price_overrides=self.price_overrides,
            role="estimate",
            method="estimator:zero-shot",
            question=question,
            question_id=question_id,
        )
        comp = rec.completion
        if comp is None:
            msg = str((rec.error or {}).get("message", "call failed"))
            return BudgetEstimate(None, status="error", cost_usd=None, note=msg, records=[rec])
        limit = lookup(self.model.provider, self.model.model).max_output_tokens
        parsed, status = classify_estimate(comp.text, limit)
        return BudgetEstimate(
            parsed if status == "ok" else None,
            status=status,
            cost_usd=rec.cost_usd,
            output_tokens=comp.output_tokens or 0,
            input_tokens=comp.input_tokens or 0,
            note=comp.text[:200],
            records=[rec],
        )
