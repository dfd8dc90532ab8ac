"""Rebuild the engine's results from stored call records, so a reopened experiment draws like a live one.

Works for experiments recorded by the pages and by the CLI alike: it needs only the calls (with their
``extra["cell"]`` / ``cell_id`` for sweeps, and ``question_id`` + ``method`` for benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tale_core.engine.calls import spent_usd
from tale_core.engine.methods import MethodResult, MethodSpec
from tale_core.errors import TaleError
from tale_core.experiments.sweep import CellKey, SweepCell
from tale_core.protocols import CallRecord


def _method(text: str) -> MethodSpec:
    try:
        return MethodSpec.parse(text or "vanilla")
    except TaleError:
        return MethodSpec("vanilla")


def result_from_records(records: list[CallRecord]) -> MethodResult:
    """One MethodResult from the calls of one method run (TALE-EP: estimate + answer)."""
    records = sorted(records, key=lambda r: r.created_at)
    answer = next((r for r in reversed(records) if r.role != "estimate"), records[-1])
    estimate_rec = next((r for r in records if r.role == "estimate"), None)
    error = next((r.error for r in records if r.error), None)
    comps = [r.completion for r in records if r.completion is not None]
    if error is not None:
        status = "error"
    elif answer.correct is True:
        status = "correct"
    elif answer.correct is False and (answer.extra or {}).get("grade_status") == "hedged":
        status = "hedged"
    elif answer.correct is False:
        status = "wrong" if answer.extracted_answer is not None else "no_answer"
    else:
        status = "ungraded"
    estimate = None
    if estimate_rec is not None and estimate_rec.completion is not None:
        from tale_core.engine.methods import classify_estimate

        parsed, est_status = classify_estimate(estimate_rec.completion.text, 10**9)
        estimate = {
            "raw": estimate_rec.completion.text,
            "parsed": parsed,
            "status": est_status,
            "fallback": None if answer.budget is not None else "vanilla",
        }
    costs = [r.cost_usd for r in records if r.completion is not None]
    ans_comp = answer.completion
    return MethodResult(
        method=_method(answer.method),
        spec=answer.spec,
        records=records,
        status=status,
        text=ans_comp.text if ans_comp else "",
        extracted=answer.extracted_answer,
        correct=None if status == "error" else answer.correct,
        budget_used=answer.budget,
        input_tokens=sum(c.input_tokens or 0 for c in comps),
        output_tokens=sum(c.output_tokens or 0 for c in comps),
        answer_output_tokens=(ans_comp.output_tokens or 0) if ans_comp else 0,
        estimate_output_tokens=(estimate_rec.completion.output_tokens or 0)
        if estimate_rec is not None and estimate_rec.completion
        else 0,
        reasoning_tokens=sum(c.reasoning_tokens or 0 for c in comps),
        cost_usd=None if not costs or any(c is None for c in costs) else sum(costs),
        latency_s=sum(c.latency_s or 0.0 for c in comps),
        estimate=estimate,
        error=error,
        cache_hit=bool(records) and all(r.cache_hit for r in records),
        spent_usd=sum(spent_usd(r) for r in records),
        gold=answer.gold_answer,
        question_id=answer.question_id,
        repeat=answer.repeat,
    )


def group(records: Iterable[CallRecord], key: Callable[[CallRecord], Any]) -> dict[Any, list[CallRecord]]:
    out: dict[Any, list[CallRecord]] = {}
    for r in records:
        k = key(r)
        if k is not None:
            out.setdefault(k, []).append(r)
    return out


def _cell_id(r: CallRecord) -> str | None:
    extra = r.extra or {}
    return extra.get("cell") or extra.get("cell_id")


def sweep_cells(records: Iterable[CallRecord]) -> list[SweepCell]:
    """The sweep cells of an experiment's calls (one per stored cell id; retried cells keep the last try)."""
    cells = []
    for cell_id, recs in group(records, _cell_id).items():
        try:
            key = CellKey.from_id(str(cell_id))
        except (ValueError, TypeError):
            continue
        ok = [r for r in recs if r.error is None]
        # a cell retried after an error: keep the successful attempt (and its estimate) only
        recs = ok if ok and len(ok) != len(recs) else recs
        cells.append(SweepCell(key, result_from_records(recs)))
    return cells
