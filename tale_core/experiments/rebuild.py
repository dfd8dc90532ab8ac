"""Rebuild the engine's results from stored call records, so a reopened experiment draws like a live one.

Works for experiments recorded by the pages and by the CLI alike, and for bundles: it needs only the calls
(their cell id in ``extra["cell"]``, or ``extra["cell_id"]`` in older data, for sweeps; ``question_id`` +
``method`` + ``repeat`` for benchmarks; ``extra["search"]`` + ``step`` for searches). A method result is
summarised by the engine's own :func:`tale_core.engine.methods._summarise`, so a stored result and a live
one cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tale_core.engine.methods import MethodResult, MethodSpec, classify_estimate
from tale_core.engine.runner import cell_of
from tale_core.errors import TaleError
from tale_core.experiments.sweep import CellKey, SweepCell
from tale_core.protocols import CallRecord


def _method(text: str | None) -> MethodSpec:
    try:
        return MethodSpec.parse(text or "vanilla")
    except TaleError:
        return MethodSpec("vanilla")


@dataclass(frozen=True)
class _Stored:
    """What ``_summarise`` reads of a model: its spec."""

    spec: str


def result_from_records(records: Sequence[CallRecord]) -> MethodResult:
    """One MethodResult from the calls of one method run (TALE-EP: estimate + answer)."""
    from tale_core.engine.methods import _summarise

    recs = sorted(records, key=lambda r: r.created_at)
    answer = next((r for r in reversed(recs) if r.role != "estimate"), recs[-1])
    estimate_rec = next((r for r in recs if r.role == "estimate"), None)
    if answer.correct is True:
        status = "correct"
    elif answer.correct is False and (answer.extra or {}).get("grade_status") == "hedged":
        status = "hedged"  # the grader's own status, kept in the record (hedged is not wrong)
    elif answer.correct is False:
        status = "wrong" if answer.extracted_answer is not None else "no_answer"
    else:
        status = "ungraded"
    estimate = None
    if estimate_rec is not None and estimate_rec.completion is not None:
        parsed, est_status = classify_estimate(estimate_rec.completion.text, 10**9)
        estimate = {
            "raw": estimate_rec.completion.text,
            "parsed": parsed,
            "status": est_status,
            "fallback": None if answer.budget is not None else "vanilla",
        }
    gstate = {"status": status, "extracted": answer.extracted_answer}
    res = _summarise(
        _Stored(answer.spec),  # type: ignore[arg-type]  # only .spec is read
        _method(answer.method),
        list(recs),
        estimate,
        answer.budget,
        gstate,
        answer.gold_answer,
        answer.question_id,
        answer.repeat,
    )
    if res.correct is None and res.status != "error" and answer.correct is not None:
        res.correct = answer.correct  # graded when stored, even without a gold answer kept
    return res


def group(records: Iterable[CallRecord], key: Callable[[CallRecord], Any]) -> dict[Any, list[CallRecord]]:
    out: dict[Any, list[CallRecord]] = {}
    for r in records:
        k = key(r)
        if k is not None:
            out.setdefault(k, []).append(r)
    return out


def sweep_cells(records: Iterable[CallRecord]) -> list[SweepCell]:
    """The sweep cells of an experiment's calls (one per stored cell id; retried cells keep the last try)."""
    cells = []
    for cell_id, recs in group(records, lambda r: cell_of(r.extra)).items():
        try:
            key = CellKey.from_id(str(cell_id))
        except (ValueError, TypeError):
            continue
        ok = [r for r in recs if r.error is None]
        # a cell retried after an error: keep the successful attempt (and its estimate) only
        recs = ok if ok and len(ok) != len(recs) else recs
        cells.append(SweepCell(key, result_from_records(recs)))
    return cells


def benchmark_rows(
    records: Sequence[CallRecord], *, item_ids: Sequence[str] = (), methods: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Benchmark rows (like the engine's) rebuilt from stored calls: one per model x question x method x
    repeat, in the configured question and method order (calls finish in any order)."""
    from tale_core.experiments.benchmark import bench_cell_id

    groups = group(records, lambda r: (r.spec, r.question_id, r.method, r.repeat) if r.method else None)
    order_q: dict[Any, int] = {q: i for i, q in enumerate(item_ids)}
    order_m: dict[Any, int] = {m: i for i, m in enumerate(methods)}
    for r in sorted(records, key=lambda r: r.created_at):
        order_q.setdefault(r.question_id, len(order_q))
        order_m.setdefault(r.method, len(order_m))
    rows = []
    for (spec, qid, method, rep), recs in groups.items():
        ok = [r for r in recs if r.error is None]
        recs = ok if ok and len(ok) != len(recs) else recs  # a retried cell keeps its successful try
        res = result_from_records(recs)
        row = res.to_row()
        stored_id = next((c for c in (cell_of(r.extra) for r in recs) if c), None)
        row.update(
            {
                "cell_id": stored_id or bench_cell_id(spec, str(qid), method, rep or 0),
                "spec": spec,
                "item_id": qid,
                "item_index": order_q.get(qid, 0),
                "method": method,
                "method_label": res.method.label,
                "method_index": order_m.get(method, 0),
                "repeat": rep or 0,
                "gold": res.gold,
                "error": res.error_message or None,
            }
        )
        rows.append(row)
    rows.sort(key=lambda r: (r["spec"], r["item_index"], r["method_index"], r["repeat"]))
    return rows


def search_probes(records: Sequence[CallRecord], algorithms: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Probe dicts per algorithm rebuilt from stored calls (for runs whose summary kept no probes, e.g. the
    CLI's). Whether a probe was accepted is not stored with a call, so it is left unknown."""
    shared = [r for r in records if (r.extra or {}).get("search") == "shared"]
    out: dict[str, list[dict[str, Any]]] = {}
    for algo in algorithms:
        mine = [r for r in records if (r.extra or {}).get("search") == algo]
        calls = shared[:1] + sorted(mine, key=lambda r: int((r.extra or {}).get("step") or 0))
        probes = []
        for step, r in enumerate(calls):
            c = r.completion
            probes.append(
                {
                    "step": step,
                    "budget": None if r.role == "reference" else r.budget,
                    "output_tokens": (c.output_tokens or 0) if c else 0,
                    "correct": r.correct,
                    "status": "error" if r.error else ("correct" if r.correct else "wrong"),
                    "cost_usd": r.cost_usd,
                    "accepted": True,
                    "note": "",
                    "phase": "",
                    "extracted": r.extracted_answer,
                    "cache_hit": r.cache_hit,
                }
            )
        out[algo] = probes
    return out


def playground_runs(records: Sequence[CallRecord], models: Sequence[str] = ()) -> dict[str, list[MethodResult]]:
    """Per model, one MethodResult per method run (in the order the calls were made)."""
    order: dict[str, int] = {m: i for i, m in enumerate(models)}
    runs: dict[str, list[MethodResult]] = {}
    by_run = group(sorted(records, key=lambda r: r.created_at), lambda r: (r.spec, r.method, r.question_id, r.repeat))
    for (spec, _m, _q, _r), recs in by_run.items():
        runs.setdefault(spec, []).append(result_from_records(recs))
    return dict(sorted(runs.items(), key=lambda kv: order.get(kv[0], len(order))))
