"""Dataset benchmark: every question x every method x every model, summarised like the paper's Table 3.

:func:`plan_benchmark` makes the grid's cells and :func:`run_benchmark` runs them on the engine's runner
(per model ``model.max_concurrency`` calls at a time; the embedded local models have 1, so they run one
call at a time; all models side by side), optionally ``repeats`` trials per question (seed + r). Each
finished (question, method, model) is one flat row dict; :func:`summarize` turns rows into one
:class:`SummaryRow` per (model, method): accuracy, mean tokens, expense and the reduction against
vanilla CoT on the same model. Failed calls are rows with status ``"error"``: counted, but left out of
every mean. Accuracy is a fraction in [0, 1] over the graded, non-error rows (``no_answer`` and
``hedged`` count as not correct); it is None when no row could be graded (no gold answers). Summaries
carry 95% intervals and a paired comparison with vanilla CoT (:mod:`tale_core.analysis.stats`), and keep
the paper's token convention (answer call only) apart from the total of both calls.
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
    """One (model, method) line of a benchmark summary.

    Token conventions (every column says which calls it counts):

    - ``avg_output_tokens`` = ``answer_tokens``: mean output tokens of the **answer call only**, the
      paper's convention (and its code's); compare these with the paper's Table 3.
    - ``estimator_tokens``: mean output tokens of TALE-EP's budget-estimate call (0 for other methods).
    - ``total_tokens``: both calls (answer + estimate), what the run really cost in output tokens;
      ``expense_usd``/``avg_expense_usd`` are the cost of both calls, input included.
    - ``paper_tokens``: tiktoken ``cl100k_base`` count of the answer text, as the official code counts
      (None when the rows carry no answer text).

    ``accuracy`` is a fraction in [0, 1]; ``hedged`` and ``no_answer`` answers count as not correct.
    Intervals are 95% ``[low, high]`` pairs (None when n is too small): ``accuracy_ci`` is Wilson with
    one trial per question (or when all trials of each question agree), else a bootstrap over questions
    (``accuracy_ci_method`` says which);
    ``avg_output_tokens_ci`` and ``total_tokens_ci`` are bootstrap intervals over per-question means;
    ``reduction_vs_vanilla_ci`` is a paired bootstrap over questions of ``reduction_tokens_vs_vanilla``
    (answer tokens); ``mcnemar_p`` the exact McNemar test of correctness against vanilla CoT on the same
    questions (majority of repeats per question). With repeats everything is aggregated per question
    first (:func:`tale_core.analysis.stats.per_question`).
    """

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
    hedged: int = 0
    n_questions: int = 0
    repeats: int = 1
    accuracy_ci: list[float | None] | None = None
    accuracy_ci_method: str = ""
    avg_output_tokens_ci: list[float | None] | None = None
    answer_tokens: float | None = None
    estimator_tokens: float | None = None
    total_tokens: float | None = None
    total_tokens_ci: list[float | None] | None = None
    paper_tokens: float | None = None
    reduction_total_tokens_vs_vanilla: float | None = None
    reduction_vs_vanilla_ci: list[float | None] | None = None
    mcnemar_p: float | None = None
    mcnemar_b: int | None = None
    mcnemar_c: int | None = None
    n_paired: int | None = None

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


def _item_template(item: Any) -> str | None:
    """The official prompt template an item asks for (``meta["template"]``, set by the Table 3 loaders)."""
    meta = item.get("meta") if isinstance(item, Mapping) else getattr(item, "meta", None)
    t = meta.get("template") if isinstance(meta, Mapping) else None
    return str(t) if t else None


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
        template = _item_template(items[i])
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
                    template=template,
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


def _mean(values: Iterable[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def paper_token_count(text: str | None) -> int | None:
    """Tokens of an answer text as the official TALE code counts them: tiktoken ``cl100k_base``
    (offline copy); None without text."""
    if text is None:
        return None
    from tale_core.accounting.tokens import get_encoding

    return len(get_encoding("cl100k_base").encode(str(text), disallowed_special=()))


def _answer_tokens(r: Mapping[str, Any]) -> float | None:
    if r.get("answer_output_tokens") is not None:
        return float(r["answer_output_tokens"])
    if r.get("output_tokens") is None:
        return None
    return float(r["output_tokens"]) - float(r.get("estimate_output_tokens") or 0)


def _pair(iv: Any) -> list[float | None] | None:
    return None if iv.low is None or iv.high is None else [iv.low, iv.high]


def summarize(rows: Sequence[Mapping[str, Any]], *, paper_tokens: bool = True) -> list[SummaryRow]:
    """One :class:`SummaryRow` per (spec, method), in first-seen order, with intervals and the paired
    comparison against vanilla CoT on the same model (see :class:`SummaryRow` for the conventions).

    Reductions are ``1 - method / vanilla`` (positive = cheaper) over the questions both answered
    (answer-call tokens; ``reduction_total_tokens_vs_vanilla`` counts both calls); the accuracy delta is
    ``method - vanilla`` as a fraction, over the same questions. They are None when the model has no
    vanilla rows. Rows are grouped per question by ``item_id`` (``question_id``, else their order), so
    repeats (rows with a ``repeat`` number) are aggregated per question before anything is paired.
    ``paper_tokens=False`` skips the tiktoken count.
    """
    from tale_core.analysis import stats

    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        rs = groups.setdefault((str(r["spec"]), str(r["method"])), [])
        q = r.get("item_id") if r.get("item_id") not in (None, "") else r.get("question_id")
        rr = dict(r)
        rr["_q"] = str(q) if q not in (None, "") else f"#{len(rs)}"
        rr["_answer_tokens"] = _answer_tokens(r)
        rr["_total_tokens"] = None if r.get("output_tokens") is None else float(r["output_tokens"])
        rs.append(rr)
    out: list[SummaryRow] = []
    per_q: dict[tuple[str, str], dict[str, Any]] = {}
    per_q_total: dict[tuple[str, str], dict[str, Any]] = {}
    for (spec, method), rs in groups.items():
        ok = [r for r in rs if r.get("status") != "error"]
        graded = [r for r in ok if r.get("status") in stats.GRADED_STATUSES]
        n_correct = sum(1 for r in graded if r.get("status") == "correct")
        costs = [float(r["cost_usd"]) for r in ok if r.get("cost_usd") is not None]
        expense = sum(costs) if costs else None
        pq = stats.per_question(ok, tokens_key="_answer_tokens", key="_q")
        pq_total = stats.per_question(ok, tokens_key="_total_tokens", key="_q")
        per_q[(spec, method)], per_q_total[(spec, method)] = pq, pq_total
        acc = stats.accuracy_over_questions(pq)
        tok = stats.mean_interval(p.tokens for p in pq.values())
        tot = stats.mean_interval(p.tokens for p in pq_total.values())
        est_tokens = _mean(r.get("estimate_output_tokens") or 0 for r in ok) if ok else None
        texts = [r.get("text") for r in ok if isinstance(r.get("text"), str)] if paper_tokens else []
        questions = {r["_q"] for r in rs}
        out.append(
            SummaryRow(
                spec=spec,
                method=method,
                n=len(rs),
                accuracy=acc.estimate,
                avg_output_tokens=tok.estimate,
                avg_input_tokens=_mean(r.get("input_tokens") for r in ok),
                expense_usd=expense,
                avg_expense_usd=(sum(costs) / len(costs)) if costs else None,
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
                hedged=sum(1 for r in ok if r.get("status") == "hedged"),
                n_questions=len(questions),
                repeats=max((sum(1 for r in rs if r["_q"] == q) for q in questions), default=1),
                accuracy_ci=_pair(acc),
                accuracy_ci_method=acc.method if acc.estimate is not None else "",
                avg_output_tokens_ci=_pair(tok),
                answer_tokens=tok.estimate,
                estimator_tokens=est_tokens,
                total_tokens=tot.estimate,
                total_tokens_ci=_pair(tot),
                paper_tokens=_mean(paper_token_count(t) for t in texts) if texts else None,
            )
        )
    vanilla = {s.spec: s for s in out if s.method == "vanilla"}
    for s in out:
        v = vanilla.get(s.spec)
        if v is None:
            continue
        if v.avg_expense_usd and s.avg_expense_usd is not None:
            s.reduction_expense_vs_vanilla = 1.0 - s.avg_expense_usd / v.avg_expense_usd
        if s is v:
            if v.avg_output_tokens:
                s.reduction_tokens_vs_vanilla = s.reduction_total_tokens_vs_vanilla = 0.0
            if v.accuracy is not None:
                s.accuracy_delta_vs_vanilla = 0.0
            continue
        cmp = stats.paired_comparison(per_q[(s.spec, s.method)], per_q[(s.spec, "vanilla")])
        total = stats.paired_comparison(per_q_total[(s.spec, s.method)], per_q_total[(s.spec, "vanilla")])
        s.reduction_tokens_vs_vanilla = cmp.reduction.estimate
        s.reduction_vs_vanilla_ci = _pair(cmp.reduction)
        s.reduction_total_tokens_vs_vanilla = total.reduction.estimate
        s.accuracy_delta_vs_vanilla = cmp.accuracy_difference
        s.n_paired = cmp.n
        if cmp.mcnemar is not None:
            s.mcnemar_p, s.mcnemar_b, s.mcnemar_c = cmp.mcnemar.p_value, cmp.mcnemar.b, cmp.mcnemar.c
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
