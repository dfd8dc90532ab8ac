"""Dataset benchmark: every question x every method x every model, summarised like the paper's Table 3.

:func:`run_benchmark` runs the grid with one thread pool per model (``model.max_concurrency`` workers;
the embedded local models have 1, so they run one call at a time) and all models side by side. Each
finished (question, method, model) is one flat row dict; :func:`summarize` turns rows into one
:class:`SummaryRow` per (model, method): accuracy, mean tokens, expense and the reduction against
vanilla CoT on the same model. Failed calls are rows with status ``"error"``: counted, but left out of
every mean. Accuracy is a fraction in [0, 1] over the graded, non-error rows (``no_answer`` counts as
wrong); it is None when no row could be graded (no gold answers).
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tale_core.errors import TaleError
from tale_core.types import GenParams

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
    status: str  # "done" | "cancelled"
    errors: int = 0
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "errors": self.errors,
            "elapsed_s": self.elapsed_s,
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


def bench_cell_id(spec: str, item_id: str, method) -> str:
    """The stable id of one benchmark cell, e.g. ``local/smollm2|q7|tale-ep`` (stored with its calls)."""
    m = method.to_str() if hasattr(method, "to_str") else str(method)
    return f"{spec}|{item_id}|{m}"


def _row(result, *, spec: str, item_id: str, index: int, method_index: int, gold: str | None) -> dict[str, Any]:
    row = dict(result.to_row()) if hasattr(result, "to_row") else {}
    err = result.error or {}
    row.update(
        {
            "cell_id": bench_cell_id(spec, item_id, result.method),
            "spec": spec,
            "item_id": item_id,
            "item_index": index,
            "method": result.method.to_str(),
            "method_label": result.method.label,
            "method_index": method_index,
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


def run_benchmark(
    items: Sequence[Any],
    methods: Sequence[Any],
    models: Mapping[str, Any],
    *,
    params: GenParams | None = None,
    cache=None,
    sink=None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    cancel: threading.Event | None = None,
    limit: int | None = None,
    use_cache: bool | None = None,
    price_overrides=None,
    skip: set[str] | None = None,
) -> BenchOutcome:
    """Run every item x method x model; return all rows (in item, method order per model) and a summary.

    ``items`` are dataset items (``id``, ``question``, ``answer``, ``choices``) or dicts with those keys;
    ``methods`` are :class:`~tale_core.engine.methods.MethodSpec` (strings like ``"budget:50"`` are parsed);
    ``models`` maps spec -> ChatModel. ``on_result(row)`` is called as each row finishes (one at a time,
    from worker threads). ``cancel`` stops scheduling new work; what is running finishes. Provider
    errors never raise: they are rows with status ``"error"``. Every call carries
    ``extra["cell_id"] = bench_cell_id(spec, item_id, method)``; ``skip`` (such ids, e.g. a stored
    experiment's finished cells) leaves those cells out, so a resumed run does only what is missing.
    """
    from tale_core.engine.methods import MethodSpec, run_method

    if not models:
        raise TaleError("Pick at least one model for the benchmark.")
    specs = [m if isinstance(m, MethodSpec) else MethodSpec.parse(str(m)) for m in methods]
    if not specs:
        raise TaleError("Pick at least one method for the benchmark.")
    if limit is not None:
        if limit < 1:
            raise TaleError("The question limit must be at least 1.")
        items = list(items)[:limit]
    fields = [_item_fields(it, i) for i, it in enumerate(items)]
    if not fields:
        raise TaleError("The dataset has no questions to run.")

    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    lock = threading.Lock()
    cancel = cancel or threading.Event()

    def one(spec: str, model, i: int, j: int) -> dict[str, Any]:
        item_id, question, gold, choices = fields[i]
        res = run_method(
            model,
            specs[j],
            question,
            gold=gold,
            choices=choices,
            params=params,
            cache=cache,
            sink=sink,
            use_cache=use_cache,
            question_id=item_id,
            price_overrides=price_overrides,
            extra={"cell_id": bench_cell_id(spec, item_id, specs[j])},
        )
        return _row(res, spec=spec, item_id=item_id, index=i, method_index=j, gold=gold)

    def drive(spec: str, model) -> None:
        work = [
            (i, j)
            for i in range(len(fields))
            for j in range(len(specs))
            if not skip or bench_cell_id(spec, fields[i][0], specs[j]) not in skip
        ]
        workers = max(1, int(getattr(model, "max_concurrency", 1) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"bench-{spec}") as pool:
            pending: set = set()
            pos = 0
            while pos < len(work) or pending:
                while pos < len(work) and len(pending) < workers and not cancel.is_set():
                    i, j = work[pos]
                    pending.add(pool.submit(one, spec, model, i, j))
                    pos += 1
                if not pending:
                    break
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    row = fut.result()
                    with lock:
                        rows.append(row)
                        if on_result is not None:
                            on_result(row)

    failures: list[BaseException] = []

    def guarded(t_target, *a):
        try:
            t_target(*a)
        except BaseException as e:  # surfaced below on the caller's thread
            failures.append(e)
            cancel.set()

    drivers = [
        threading.Thread(target=guarded, args=(drive, spec, model), name=f"bench-drive-{spec}", daemon=True)
        for spec, model in models.items()
    ]
    for t in drivers:
        t.start()
    for t in drivers:
        t.join()
    if failures:
        raise failures[0]

    order = {spec: k for k, spec in enumerate(models)}
    rows.sort(key=lambda r: (order[r["spec"]], r["item_index"], r["method_index"]))
    expected = sum(
        1 for spec in models for it in fields for m in specs if not skip or bench_cell_id(spec, it[0], m) not in skip
    )
    status = "cancelled" if len(rows) < expected else "done"
    errors = sum(1 for r in rows if r["status"] == "error")
    notes = []
    if status == "cancelled":
        notes.append(f"Cancelled after {len(rows)} of {expected} runs.")
    return BenchOutcome(
        rows=rows,
        summary=summarize(rows),
        status=status,
        errors=errors,
        elapsed_s=round(time.monotonic() - started, 3),
        notes=notes,
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
