"""Dataset benchmark: every question x every method x every model, summarised like the paper's Table 3.

:func:`plan_benchmark` makes the grid's cells and :func:`run_benchmark` runs them on the engine's runner
(per model ``model.max_concurrency`` calls at a time; the embedded local models have 1, so they run one
call at a time; all models side by side), optionally ``repeats`` trials per question (seed + r). Each
finished (question, method, model) is one flat row dict; :func:`summarize` turns rows into one
:class:`SummaryRow` per (model, method): accuracy, mean tokens, expense and the reduction against
vanilla CoT on the same model. Failed calls are rows with status ``"error"``: counted, but left out of
every mean. Accuracy is a fraction in [0, 1] over the graded, non-error rows (``no_answer`` counts as
wrong); it is None when no row could be graded (no gold answers).
"""

from __future__ import annotations

import csv
import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tale_core.engine.runner import CELL_KEY, Cell, Runner, model_concurrency
from tale_core.errors import TaleError
from tale_core.protocols import CallCache, CallSink
from tale_core.types import GenParams

if TYPE_CHECKING:
    from tale_core.engine.methods import MethodResult

#: the most trials per question (like a sweep's repeats)
MAX_REPEATS = 50

#: GPT-4o-mini figures of the paper's Table 3: dataset -> method -> (accuracy %, output tokens,
#: expense in 1e-5 $). For display beside our own numbers; the expense cannot be rebuilt from prices.
PAPER_TABLE3: dict[str, dict[str, tuple[float, float, float]]] = {
    "GSM8K": {"direct": (28.29, 12.46, 39.43), "vanilla": (81.35, 318.10, 541.09), "tale-ep": (84.46, 77.26, 279.84)},
    "GSM8K-Zero": {
        "direct": (97.21, 18.85, 91.69),
        "vanilla": (99.50, 252.96, 886.79),
        "tale-ep": (98.72, 22.67, 276.12),
    },
    "MathBench-Arithmetic": {
        "direct": (59.67, 41.10, 9.78),
        "vanilla": (75.00, 313.51, 78.58),
        "tale-ep": (73.67, 39.60, 18.62),
    },
    "MathBench-Middle": {
        "direct": (33.33, 5.00, 3.58),
        "vanilla": (84.67, 553.93, 68.22),
        "tale-ep": (79.33, 238.14, 42.95),
    },
    "MathBench-High": {
        "direct": (51.33, 5.00, 4.07),
        "vanilla": (84.00, 653.24, 82.44),
        "tale-ep": (80.00, 254.82, 47.61),
    },
    "MathBench-College": {
        "direct": (44.00, 5.00, 3.68),
        "vanilla": (78.00, 675.78, 81.56),
        "tale-ep": (70.00, 259.85, 45.60),
    },
    "average": {
        "direct": (52.31, 14.57, 25.37),
        "vanilla": (83.75, 461.25, 289.78),
        "tale-ep": (81.03, 148.72, 118.46),
    },
}
PAPER_TABLE3_SOURCE = "TALE (arXiv 2412.18547), Table 3, GPT-4o-mini; expense in 1e-5 USD as printed"


def paper_reference(dataset: str) -> dict[str, tuple[float, float, float]] | None:
    """The paper's Table 3 row for a dataset name, matched loosely (``gsm8k`` -> ``GSM8K``)."""
    key = "".join(ch for ch in dataset.lower() if ch.isalnum())
    for name, row in PAPER_TABLE3.items():
        if "".join(ch for ch in name.lower() if ch.isalnum()) == key:
            return row
    return None


@dataclass
class SummaryRow:
    """One (model, method) line of a benchmark summary. ``accuracy`` is a fraction in [0, 1]."""

    spec: str
    method: str
    n: int
    accuracy: float | None
    avg_output_tokens: float | None
    avg_input_tokens: float | None
    expense_usd: float | None
    avg_expense_usd: float | None
    reduction_tokens_vs_vanilla: float | None
    reduction_expense_vs_vanilla: float | None
    accuracy_delta_vs_vanilla: float | None
    errors: int
    no_answer: int
    label: str = ""
    n_graded: int = 0
    n_correct: int = 0
    avg_latency_s: float | None = None
    #: graded not correct because the output cap cut the answer off (counted in accuracy as not correct)
    truncated: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["accuracy_pct"] = None if self.accuracy is None else round(100 * self.accuracy, 2)
        return d


@dataclass
class BenchOutcome:
    rows: list[dict[str, Any]]
    summary: list[SummaryRow]
    status: str  # the runner's: "done" | "cancelled" | "spend_cap" | "failed" (every row an error)
    errors: int = 0
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    spent_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "errors": self.errors,
            "elapsed_s": self.elapsed_s,
            "spent_usd": self.spent_usd,
            "notes": list(self.notes),
            "summary": [s.to_dict() for s in self.summary],
            "rows": list(self.rows),
        }


def _item_fields(item: Any, index: int) -> tuple[str, str, str | None, tuple[str, ...] | None]:
    """(id, question, gold, choices) of a dataset item, or of a plain dict with the same keys."""
    get = item.get if isinstance(item, Mapping) else (lambda k, d=None: getattr(item, k, d))
    question = get("question")
    if not isinstance(question, str) or not question.strip():
        raise TaleError(f"Item {index + 1} has no question text.")
    item_id = get("id")
    gold = get("answer")
    choices = get("choices")
    return (
        str(item_id) if item_id not in (None, "") else str(index + 1),
        question,
        None if gold in (None, "") else str(gold),
        tuple(choices) if choices else None,
    )


def bench_cell_id(spec: str, item_id: str, method: Any, repeat: int = 0) -> str:
    """The stable id of one benchmark cell, e.g. ``local/smollm2|q7|tale-ep`` (stored with its calls as
    ``extra["cell"]``); repeats after the first end in ``|r``, e.g. ``local/smollm2|q7|tale-ep|2``."""
    m = method.to_str() if hasattr(method, "to_str") else str(method)
    return f"{spec}|{item_id}|{m}" + (f"|{repeat}" if repeat else "")


def _row(
    result: MethodResult,
    *,
    spec: str,
    item_id: str,
    index: int,
    method_index: int,
    gold: str | None,
    repeat: int = 0,
) -> dict[str, Any]:
    row = dict(result.to_row())
    err = result.error or {}
    row.update(
        {
            "cell_id": bench_cell_id(spec, item_id, result.method, repeat),
            "spec": spec,
            "item_id": item_id,
            "item_index": index,
            "method": result.method.to_str(),
            "method_label": result.method.label,
            "method_index": method_index,
            "repeat": repeat,
            "gold": gold,
            "status": result.status,
            "correct": result.correct,
            "extracted": result.extracted,
            "output_tokens": result.output_tokens,
            "input_tokens": result.input_tokens,
            "answer_output_tokens": result.answer_output_tokens,
            "estimate_output_tokens": result.estimate_output_tokens,
            "reasoning_tokens": result.reasoning_tokens,
            "budget_used": result.budget_used,
            "cost_usd": result.cost_usd,
            "latency_s": result.latency_s,
            "cache_hit": result.cache_hit,
            "error": err.get("message") if isinstance(err, dict) and err else None,
        }
    )
    return row


@dataclass(frozen=True)
class BenchCell:
    """Where a benchmark cell sits in the grid (its row's sort key)."""

    spec: str
    item_index: int
    method_index: int
    repeat: int


def plan_benchmark(
    items: Sequence[Any],
    methods: Sequence[Any],
    models: Mapping[str, Any],
    *,
    params: GenParams | None = None,
    repeats: int = 1,
    cache: CallCache | None = None,
    sink: CallSink | None = None,
    use_cache: bool | None = None,
    price_overrides: Any = None,
) -> list[Cell[dict[str, Any]]]:
    """The benchmark's cells for the runner: per model, per question, per method, per repeat.

    Repeat ``r`` uses seed ``seed + r`` (like a sweep's repeats), so repeats are separate calls and cache
    entries. Each cell's result is its row dict. Raises a TaleError for an empty grid.
    """
    from tale_core.engine.methods import MethodSpec, run_method
    from tale_core.experiments.common import error_result

    if not models:
        raise TaleError("Pick at least one model for the benchmark.")
    specs = [m if isinstance(m, MethodSpec) else MethodSpec.parse(str(m)) for m in methods]
    if not specs:
        raise TaleError("Pick at least one method for the benchmark.")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= MAX_REPEATS:
        raise TaleError(f"Repeats must be a whole number from 1 to {MAX_REPEATS}, not {repeats!r}.")
    fields = [_item_fields(it, i) for i, it in enumerate(items)]
    if not fields:
        raise TaleError("The dataset has no questions to run.")
    base = params or GenParams()

    def work(spec: str, i: int, j: int, r: int) -> Callable[[], dict[str, Any]]:
        item_id, question, gold, choices = fields[i]
        p = base if r == 0 or base.seed is None else dataclasses.replace(base, seed=base.seed + r)
        cell_id = bench_cell_id(spec, item_id, specs[j], r)

        def run() -> dict[str, Any]:
            try:
                res = run_method(
                    models[spec],
                    specs[j],
                    question,
                    gold=gold,
                    choices=choices,
                    params=p,
                    cache=cache,
                    sink=sink,
                    use_cache=use_cache,
                    question_id=item_id,
                    repeat=r,
                    price_overrides=price_overrides,
                    extra={CELL_KEY: cell_id},
                )
            except Exception as e:  # a bug or a failing sink: an error row, and the run goes on
                res = error_result(specs[j], spec, e, gold=gold, question_id=item_id, repeat=r)
            return _row(res, spec=spec, item_id=item_id, index=i, method_index=j, gold=gold, repeat=r)

        return run

    return [
        Cell(bench_cell_id(spec, fields[i][0], specs[j], r), spec, work(spec, i, j, r), BenchCell(spec, i, j, r))
        for spec in models
        for i in range(len(fields))
        for j in range(len(specs))
        for r in range(repeats)
    ]


def _row_spent(row: Mapping[str, Any]) -> float:
    return 0.0 if row.get("cache_hit") or row.get("cost_usd") is None else float(row["cost_usd"])


def run_benchmark(
    items: Sequence[Any],
    methods: Sequence[Any],
    models: Mapping[str, Any],
    *,
    params: GenParams | None = None,
    cache: CallCache | None = None,
    sink: CallSink | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    cancel: threading.Event | None = None,
    limit: int | None = None,
    use_cache: bool | None = None,
    price_overrides: Any = None,
    skip: set[str] | None = None,
    repeats: int = 1,
    spend_cap_usd: float | None = None,
) -> BenchOutcome:
    """Run every item x method x model (x repeat); return all rows (in item, method, repeat order per
    model) and a summary.

    ``items`` are dataset items (``id``, ``question``, ``answer``, ``choices``) or dicts with those keys;
    ``methods`` are :class:`~tale_core.engine.methods.MethodSpec` (strings like ``"budget:50"`` are parsed);
    ``models`` maps spec -> ChatModel. ``on_result(row)`` is called as each row finishes (one at a time).
    ``cancel`` stops scheduling new work, and so does reaching ``spend_cap_usd`` (status ``spend_cap``);
    what is running finishes. Provider errors never raise: they are rows with status ``"error"``. Every
    call carries ``extra["cell"] = bench_cell_id(spec, item_id, method, repeat)``; ``skip`` (such ids, e.g.
    a stored experiment's finished cells) leaves those cells out, so a resumed run does only what is missing.
    The grid runs on the engine's runner (:mod:`tale_core.engine.runner`).
    """
    if limit is not None:
        if limit < 1:
            raise TaleError("The question limit must be at least 1.")
        items = list(items)[:limit]
    cells = plan_benchmark(
        items,
        methods,
        models,
        params=params,
        repeats=repeats,
        cache=cache,
        sink=sink,
        use_cache=use_cache,
        price_overrides=price_overrides,
    )
    runner: Runner[dict[str, Any]] = Runner(
        cells,
        concurrency=model_concurrency(models),
        on_error=lambda cell, e: {"spec": cell.spec, "status": "error", "error": f"{type(e).__name__}: {e}"},
        cancel=cancel,
        spend_cap_usd=spend_cap_usd,
        skip=skip,
        on_cell=(lambda fin: on_result(fin.result)) if on_result is not None else None,
        spent=_row_spent,
        ok=lambda row: row.get("status") != "error",
        name="bench",
    )
    out = runner.run()
    order = {spec: k for k, spec in enumerate(models)}
    finished = sorted(
        out.finished,
        key=lambda f: (order[f.cell.spec], f.cell.key.item_index, f.cell.key.method_index, f.cell.key.repeat),
    )
    rows = [f.result for f in finished]
    expected = out.planned - out.skipped
    notes = list(out.notes)
    if out.status in ("cancelled", "spend_cap"):
        notes.insert(0, f"Cancelled after {len(rows)} of {expected} runs.")
    return BenchOutcome(
        rows=rows,
        summary=summarize(rows),
        status=out.status,
        errors=out.errors,
        elapsed_s=out.elapsed_s,
        notes=notes,
        spent_usd=out.spent_usd,
    )


def _mean(values: Iterable[float]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def summarize(rows: Sequence[Mapping[str, Any]]) -> list[SummaryRow]:
    """One :class:`SummaryRow` per (spec, method), in first-seen order, with reductions vs vanilla CoT.

    Reductions are ``1 - method / vanilla`` on the same model (positive = cheaper); the accuracy delta is
    ``method - vanilla`` as a fraction. They are None when the model has no vanilla rows.
    """
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault((str(r["spec"]), str(r["method"])), []).append(r)
    out: list[SummaryRow] = []
    for (spec, method), rs in groups.items():
        ok = [r for r in rs if r.get("status") != "error"]
        graded = [r for r in ok if r.get("status") in ("correct", "wrong", "no_answer", "truncated")]
        n_correct = sum(1 for r in graded if r.get("status") == "correct")
        costs = [r.get("cost_usd") for r in ok if r.get("cost_usd") is not None]
        expense = sum(costs) if costs else None
        out.append(
            SummaryRow(
                spec=spec,
                method=method,
                n=len(rs),
                accuracy=(n_correct / len(graded)) if graded else None,
                avg_output_tokens=_mean(r.get("output_tokens") for r in ok),
                avg_input_tokens=_mean(r.get("input_tokens") for r in ok),
                expense_usd=expense,
                avg_expense_usd=(expense / len(costs)) if costs else None,
                reduction_tokens_vs_vanilla=None,
                reduction_expense_vs_vanilla=None,
                accuracy_delta_vs_vanilla=None,
                errors=len(rs) - len(ok),
                no_answer=sum(1 for r in ok if r.get("status") == "no_answer"),
                truncated=sum(1 for r in ok if r.get("status") == "truncated"),
                label=str(rs[0].get("method_label") or method),
                n_graded=len(graded),
                n_correct=n_correct,
                avg_latency_s=_mean(r.get("latency_s") for r in ok),
            )
        )
    vanilla = {s.spec: s for s in out if s.method == "vanilla"}
    for s in out:
        v = vanilla.get(s.spec)
        if v is None:
            continue
        if v.avg_output_tokens and s.avg_output_tokens is not None:
            s.reduction_tokens_vs_vanilla = 1.0 - s.avg_output_tokens / v.avg_output_tokens
        if v.avg_expense_usd and s.avg_expense_usd is not None:
            s.reduction_expense_vs_vanilla = 1.0 - s.avg_expense_usd / v.avg_expense_usd
        if v.accuracy is not None and s.accuracy is not None:
            s.accuracy_delta_vs_vanilla = s.accuracy - v.accuracy
    return out


ROW_COLUMNS = (
    "spec",
    "item_id",
    "method",
    "method_label",
    "status",
    "correct",
    "extracted",
    "gold",
    "output_tokens",
    "input_tokens",
    "answer_output_tokens",
    "estimate_output_tokens",
    "reasoning_tokens",
    "budget_used",
    "cost_usd",
    "latency_s",
    "cache_hit",
    "error",
)


def write_rows_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write benchmark rows to CSV (the main columns first, any others after). Returns the path."""
    path = Path(path)
    extra = sorted({k for r in rows for k in r} - set(ROW_COLUMNS))
    cols = (
        list(ROW_COLUMNS) + [k for k in extra if not isinstance(rows[0].get(k), (dict, list))]
        if rows
        else list(ROW_COLUMNS)
    )
    try:
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            for r in rows:
                w.writerow({k: r.get(k) for k in cols})
    except OSError as e:
        raise TaleError(f"Cannot write {path}: {e.strerror or e}") from None
    return path
