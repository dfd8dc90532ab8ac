"""What every planner shares: the error result of a cell whose work raised (a bug, a failing sink)."""

from __future__ import annotations

from tale_core.engine.methods import MethodResult, MethodSpec


def error_result(
    method: MethodSpec,
    spec: str,
    err: BaseException,
    *,
    gold: str | None = None,
    question_id: str | None = None,
    repeat: int = 0,
) -> MethodResult:
    """An error :class:`MethodResult` for a cell that raised instead of returning: the run goes on."""
    return MethodResult(
        method=method,
        spec=spec,
        records=[],
        status="error",
        text="",
        extracted=None,
        correct=None,
        budget_used=method.budget,
        input_tokens=0,
        output_tokens=0,
        answer_output_tokens=0,
        estimate_output_tokens=0,
        reasoning_tokens=0,
        cost_usd=None,
        latency_s=0.0,
        estimate=None,
        error={
            "kind": "internal",
            "message": f"{type(err).__name__}: {err}",
            "provider": "",
            "status": None,
            "retry_after": None,
        },
        cache_hit=False,
        repeat=repeat,
        gold=gold,
        question_id=question_id,
    )
