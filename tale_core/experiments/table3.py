"""The paper's Table 3, replicated: GSM8K, GSM8K-Zero and MathBench in their official formats, run with
the official per-dataset prompts, summarised one row per (dataset, model, method) plus the average row,
each beside the paper's matching row (:data:`~tale_core.experiments.benchmark.PAPER_TABLE3`).

Like-for-like with the paper: its output-token column counts the answer call only (TALE-EP's estimator
call is not in it), so ``answer_tokens`` is what sits beside the paper's figure; ``total_tokens`` (both
calls) and the expense are always given too. Accuracy carries a Wilson 95% interval (scipy), read from
the benchmark summary when it has one (``accuracy_ci``) and computed here otherwise. The average row is
the plain mean over the paper's datasets that were run, as the paper averages its six rows; it says which
(a subset the paper does not have, e.g. MathBench-Primary, is shown but not averaged).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tale_core.data.datasets import Item
from tale_core.data.official import NamedSet, load_gsm8k, load_gsm8k_zero, load_mathbench
from tale_core.errors import TaleError
from tale_core.experiments.benchmark import PAPER_TABLE3, PAPER_TABLE3_SOURCE, run_benchmark, summarize
from tale_core.types import GenParams

TABLE3_METHODS = ("direct", "vanilla", "tale-ep")
_SEP = "::"  # dataset name :: item id, so ids stay unique across datasets


def load_table3(
    *,
    gsm8k: str | Path | None = None,
    gsm8k_zero: str | Path | None = None,
    mathbench: str | Path | None = None,
    limit: int | None = None,
) -> list[NamedSet]:
    """The datasets given, in the paper's row order; ``limit`` keeps the first N questions of each."""
    sets: list[NamedSet] = []
    if gsm8k:
        sets.append(NamedSet("GSM8K", load_gsm8k(gsm8k), (Path(gsm8k).name,)))
    if gsm8k_zero:
        sets.append(NamedSet("GSM8K-Zero", load_gsm8k_zero(gsm8k_zero), (Path(gsm8k_zero).name,)))
    if mathbench:
        sets.extend(load_mathbench(mathbench))
    if not sets:
        raise TaleError("The Table 3 preset needs at least one of --gsm8k, --gsm8k-zero or --mathbench.")
    if limit is not None:
        if limit < 1:
            raise TaleError("The question limit must be at least 1.")
        sets = [replace(s, dataset=replace(s.dataset, items=s.dataset.items[:limit])) for s in sets]
    return sets


def table3_items(sets: Sequence[NamedSet]) -> list[Item]:
    """All questions of all sets, ids prefixed with the dataset name (``GSM8K::line-3``)."""
    return [replace(it, id=f"{s.name}{_SEP}{it.id}") for s in sets for it in s.dataset.items]


def dataset_of(item_id: str) -> str:
    return item_id.split(_SEP, 1)[0] if _SEP in item_id else ""


def _wilson(k: int, n: int) -> list[float] | None:
    if n <= 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return [float(ci.low), float(ci.high)]


def _mean(vals: Sequence[float | None]) -> float | None:
    xs = [float(v) for v in vals if v is not None]
    return sum(xs) / len(xs) if xs else None


@dataclass
class Table3Outcome:
    rows: list[dict[str, Any]]  # the benchmark rows, each with "dataset"
    table: list[dict[str, Any]]  # one line per (dataset, spec, method) and the average lines
    status: str
    datasets: list[str]
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    spent_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "datasets": list(self.datasets),
            "table": list(self.table),
            "notes": list(self.notes),
            "elapsed_s": self.elapsed_s,
            "spent_usd": self.spent_usd,
            "paper_source": PAPER_TABLE3_SOURCE,
        }


def table3_table(rows: Sequence[Mapping[str, Any]], datasets: Sequence[str]) -> list[dict[str, Any]]:
    """Per (dataset, spec, method) lines beside the paper's row, then per (spec, method) average lines."""
    out: list[dict[str, Any]] = []
    for ds in datasets:
        mine = [r for r in rows if r.get("dataset") == ds]
        for s in summarize(mine):
            d = s.to_dict()
            ok = [r for r in mine if r["spec"] == s.spec and r["method"] == s.method and r.get("status") != "error"]
            paper = (PAPER_TABLE3.get(ds) or {}).get(s.method)
            out.append(
                {
                    "dataset": ds,
                    "spec": s.spec,
                    "method": s.method,
                    "n": s.n,
                    "n_graded": s.n_graded,
                    "n_correct": s.n_correct,
                    "accuracy": s.accuracy,
                    "accuracy_ci": d.get("accuracy_ci") or _wilson(s.n_correct, s.n_graded),
                    "accuracy_ci_method": d.get("accuracy_ci_method") or "wilson",
                    # the summary's like-for-like columns when it has them (answer call only = the paper's)
                    "answer_tokens": d.get("answer_tokens", _mean([r.get("answer_output_tokens") for r in ok])),
                    "answer_tokens_ci": d.get("avg_output_tokens_ci"),
                    "estimator_tokens": d.get("estimator_tokens", _mean([r.get("estimate_output_tokens") for r in ok])),
                    "total_tokens": d.get("total_tokens", _mean([r.get("output_tokens") for r in ok])),
                    "paper_token_count": d.get("paper_tokens"),
                    "reduction_vs_vanilla_ci": d.get("reduction_vs_vanilla_ci"),
                    "mcnemar_p": d.get("mcnemar_p"),
                    "expense_usd": s.expense_usd,
                    "no_answer": s.no_answer,
                    "errors": s.errors,
                    "paper_accuracy": paper[0] / 100 if paper else None,
                    "paper_tokens": paper[1] if paper else None,
                    "paper_expense_1e5_usd": paper[2] if paper else None,
                }
            )
    keys = list(dict.fromkeys((r["spec"], r["method"]) for r in out))
    # like the paper: the average of the paper's datasets (others, e.g. MathBench-Primary, stay out of it)
    in_paper = [d for d in datasets if d in PAPER_TABLE3 and d != "average"] or list(datasets)
    for spec, method in keys:
        lines = [r for r in out if r["spec"] == spec and r["method"] == method and r["dataset"] in in_paper]
        paper = PAPER_TABLE3["average"].get(method)
        out.append(
            {
                "dataset": "average",
                "spec": spec,
                "method": method,
                "over": [r["dataset"] for r in lines],
                "n": sum(r["n"] for r in lines),
                "accuracy": _mean([r["accuracy"] for r in lines]),
                "answer_tokens": _mean([r["answer_tokens"] for r in lines]),
                "estimator_tokens": _mean([r["estimator_tokens"] for r in lines]),
                "total_tokens": _mean([r["total_tokens"] for r in lines]),
                "paper_accuracy": paper[0] / 100 if paper else None,
                "paper_tokens": paper[1] if paper else None,
                "paper_expense_1e5_usd": paper[2] if paper else None,
                "paper_over": [k for k in PAPER_TABLE3 if k != "average"],
            }
        )
    return out


def run_table3(
    sets: Sequence[NamedSet],
    models: Mapping[str, Any],
    *,
    methods: Sequence[Any] = TABLE3_METHODS,
    params: GenParams | None = None,
    repeats: int = 1,
    cache=None,
    sink=None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    cancel: threading.Event | None = None,
    use_cache: bool | None = None,
    spend_cap_usd: float | None = None,
) -> Table3Outcome:
    """Run the preset on the engine's benchmark (one runner for all datasets) and build the table."""
    items = table3_items(sets)
    names = [s.name for s in sets]

    def tagged(row: dict[str, Any]) -> None:
        row["dataset"] = dataset_of(str(row.get("item_id", "")))
        if on_result is not None:
            on_result(row)

    out = run_benchmark(
        items,
        list(methods),
        models,
        params=params,
        cache=cache,
        sink=sink,
        on_result=tagged,
        cancel=cancel,
        use_cache=use_cache,
        repeats=repeats,
        spend_cap_usd=spend_cap_usd,
    )
    for r in out.rows:
        r["dataset"] = dataset_of(str(r.get("item_id", "")))
    notes = list(out.notes)
    missing = [k for k in PAPER_TABLE3 if k != "average" and k not in names]
    if missing:
        notes.append(
            "Our average is over "
            + ", ".join(names)
            + "; the paper's average is over all six datasets ("
            + ", ".join(missing)
            + " not run here)."
        )
    notes.append(
        "Tokens beside the paper's are answer-call tokens (the paper's convention); total tokens add "
        "TALE-EP's estimator call."
    )
    return Table3Outcome(
        rows=out.rows,
        table=table3_table(out.rows, names),
        status=out.status,
        datasets=names,
        notes=notes,
        elapsed_s=out.elapsed_s,
        spent_usd=out.spent_usd,
    )


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _ci(ci: Sequence[float] | None) -> str:
    return f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else ""


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def format_table3(table: Sequence[Mapping[str, Any]]) -> str:
    """A plain-text table: each of our lines, then the paper's matching line (GPT-4o-mini)."""
    head = (
        f"{'dataset':<22}{'model':<26}{'method':<9}{'n':>5}  {'accuracy [95% CI]':<24}"
        f"{'answer tok':>11}{'total tok':>10}{'estimator':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in table:
        lines.append(
            f"{r['dataset']:<22}{str(r['spec'])[:25]:<26}{r['method']:<9}{r['n']:>5}  "
            f"{(_pct(r['accuracy']) + _ci(r.get('accuracy_ci'))):<24}"
            f"{_num(r['answer_tokens']):>11}{_num(r['total_tokens']):>10}{_num(r['estimator_tokens']):>10}"
        )
        if r.get("paper_accuracy") is not None:
            lines.append(
                f"{'':<22}{'paper: GPT-4o-mini':<26}{r['method']:<9}{'':>5}  {_pct(r['paper_accuracy']):<24}"
                f"{_num(r['paper_tokens']):>11}{'':>10}{'':>10}"
            )
        if r["dataset"] == "average":
            lines.append(f"{'':<22}(ours over {', '.join(r['over'])}; the paper's over its six datasets)")
    return "\n".join(lines)
