"""Budget estimators on GSM8K with an embedded model: search, train on part, score on the held-out rest.

    TALE_MODELS_DIR=... .venv/bin/python -m bench.estimators_gsm8k --model local/qwen2.5-coder-1.5b --n 40

1. The optimal budget of each of the first ``--n`` questions of ``../shared/data/gsm8k_test.jsonl`` (never
   copied into the repository) by the chosen search (``--algorithm``, default the paper's), temperature 0;
2. a learned estimator fitted on the first ``--train`` questions' searched optima;
3. on the remaining (held-out) questions: each estimator's error against the searched optimum
   (zero-shot LLM estimate = TALE-EP's, a fixed budget, learned, oracle), and end to end: its budget used
   for the answer call, tokens and accuracy against vanilla CoT (the search's own vanilla calls), with
   the benchmark summary's intervals and paired tests.

Progress is saved after every question to ``bench/results/estimators_gsm8k.progress.json`` and
``--resume`` continues from it; ``--max-minutes`` bounds the search phase. Writes
``bench/results/estimators_gsm8k.{json,md}``. Rows keep ids, budgets, statuses and counts, not question text.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from tale_core.data.datasets import load_dataset
from tale_core.estimators.learned import LearnedEstimator, TrainingExample
from tale_core.estimators.llm import ZeroShotEstimator
from tale_core.estimators.scoring import end_to_end_rows, score_against_optimum, vanilla_rows
from tale_core.estimators.simple import FixedEstimator, OracleEstimator
from tale_core.experiments.benchmark import summarize
from tale_core.experiments.search import PAPER
from tale_core.experiments.search_dataset import DatasetSearch, QuestionSearch, search_dataset
from tale_core.protocols import MemoryCache
from tale_core.providers import resolve
from tale_core.types import GenParams

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "gsm8k_test.jsonl"
RESULTS = REPO / "bench" / "results"


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
        return f"[{_fmt(v[0], pct)}, {_fmt(v[1], pct)}]"
    if isinstance(v, float):
        return f"{100 * v:.0f}%" if pct else f"{v:.2f}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="local/qwen2.5-coder-1.5b")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--train", type=int, default=24)
    ap.add_argument("--algorithm", default=PAPER)
    ap.add_argument("--fixed", type=int, default=50, help="the fixed-budget baseline")
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--max-minutes", type=float, default=60.0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--out", default=str(RESULTS / "estimators_gsm8k"))
    ap.add_argument("--render", action="store_true", help="only recompute the summary and .md from <out>.json")
    args = ap.parse_args(argv)
    if args.render:
        return render(Path(args.out + ".json"))

    model = resolve(args.model)
    params = GenParams(max_tokens=args.max_tokens, temperature=0.0, seed=0)
    ds = load_dataset(DATA)
    items = [{"id": it.id, "question": it.question, "answer": it.answer} for it in ds.items[: args.n]]
    questions = {it["id"]: it["question"] for it in items}
    progress_path = Path(args.out + ".progress.json")
    done: list[QuestionSearch] = []
    if args.resume and progress_path.exists():
        done = DatasetSearch.from_dict(json.loads(progress_path.read_text())).questions
        for q in done:  # progress files keep no question text: restore it from the data set
            q.question = questions.get(q.question_id, q.question)
    started = time.monotonic()
    cache = MemoryCache()

    def save(qs: QuestionSearch) -> None:
        done.append(qs)
        slim = DatasetSearch(args.algorithm, model.spec, done).to_dict()
        for q in slim["questions"]:
            q["question"], q["reference_text"], q["optimal_text"] = "", "", ""
        progress_path.write_text(json.dumps(slim, indent=1))
        print(
            f"  {qs.question_id}: {qs.status} optimum={qs.optimal_budget} tokens={qs.optimal_tokens} "
            f"(vanilla {qs.reference_tokens}) {time.monotonic() - started:.0f}s",
            flush=True,
        )

    class Deadline:
        def is_set(self) -> bool:
            return time.monotonic() - started > args.max_minutes * 60

    print(f"searching {len(items)} questions with {model.spec} ({args.algorithm})", flush=True)
    search_dataset(
        model,
        items,
        algorithm=args.algorithm,
        params=params,
        cache=cache,
        skip={q.question_id for q in done},
        cancel=Deadline(),
        on_question=save,
    )  # type: ignore[arg-type]
    order = {it["id"]: i for i, it in enumerate(items)}
    done.sort(key=lambda q: order.get(q.question_id, 1 << 30))
    train = [q for q in done if order[q.question_id] < args.train]
    test = [q for q in done if order[q.question_id] >= args.train]
    train_ex = [
        TrainingExample(q.question_id, q.question, q.optimal_budget)
        for q in train
        if q.status == "searched" and q.optimal_budget is not None
    ]
    report: dict[str, Any] = {
        "model": model.spec,
        "runtime": model.runtime(),
        "algorithm": args.algorithm,
        "n_questions": len(done),
        "n_train": len(train),
        "n_test": len(test),
        "n_train_searched": len(train_ex),
        "params": params.to_dict(),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "elapsed_search_s": round(time.monotonic() - started, 1),
        "search": [
            {k: v for k, v in q.to_dict().items() if k not in ("question", "reference_text", "optimal_text")}
            for q in done
        ],
    }
    estimators: list[Any] = [ZeroShotEstimator(model, params=params, cache=cache), FixedEstimator(args.fixed)]
    try:
        learned = LearnedEstimator(train_ex, model_spec=model.spec, search_experiment_id=None, algorithm=args.algorithm)
        estimators.append(learned)
        report["learned_cv"] = {
            "folds": learned.cv.folds,
            "mean_abs_log2_error": learned.cv.mean_abs_log2_error,
            "within_2x": learned.cv.within_2x,
        }
    except Exception as e:  # too few searched questions: say so in the report
        report["learned_error"] = str(e)
    estimators.append(
        OracleEstimator(
            {q.question_id: q.optimal_budget for q in test if q.status == "searched" and q.optimal_budget is not None}
        )
    )
    report["optimum_scores"] = [score_against_optimum(e, test).to_dict() for e in estimators]
    rows = vanilla_rows(model.spec, test)
    for e in estimators:
        rows += end_to_end_rows(model, e, test, params=params, cache=cache)
    report["summary"] = [s.to_dict() for s in summarize(rows)]
    report["rows"] = [
        {
            k: r.get(k)
            for k in (
                "item_id",
                "method",
                "status",
                "correct",
                "output_tokens",
                "answer_output_tokens",
                "estimate_output_tokens",
                "budget_used",
            )
        }
        for r in rows
    ]
    report["elapsed_total_s"] = round(time.monotonic() - started, 1)
    Path(args.out + ".json").write_text(json.dumps(report, indent=1, default=str))
    Path(args.out + ".md").write_text(markdown(report))
    print(markdown(report))
    return 0


LABELS = {
    "vanilla": "Vanilla CoT",
    "zero-shot": "Zero-shot LLM estimate (TALE-EP)",
    "oracle": "Oracle (searched optimum)",
}


def render(path: Path) -> int:
    """Recompute the end-to-end summary (intervals, paired tests) from the stored rows and rewrite the .md."""
    report = json.loads(path.read_text())
    rows = []
    for r in report["rows"]:
        label = LABELS.get(r["method"]) or (
            f"Fixed budget {r['method'].split(':', 1)[1]}" if r["method"].startswith("fixed:") else "Learned estimator"
        )
        rows.append({**r, "spec": report["model"], "method_label": label, "repeat": 0})
    report["summary"] = [s.to_dict() for s in summarize(rows)]
    path.write_text(json.dumps(report, indent=1, default=str))
    path.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    return 0


def markdown(r: dict[str, Any]) -> str:
    out = [
        f"# Budget estimators on GSM8K: {r['model']}",
        "",
        f"{r['n_questions']} GSM8K test questions, searched with the {r['algorithm']} search at temperature 0 "
        f"(max {r['params']['max_tokens']} output tokens); the learned estimator is trained on the first "
        f"{r['n_train']} ({r['n_train_searched']} had a searched optimum: vanilla CoT answered them correctly) "
        f"and everything below is measured on the other {r['n_test']} (held out). Runtime: {r['runtime']}. "
        f"Search phase {r['elapsed_search_s']:.0f} s, total {r['elapsed_total_s']:.0f} s on {r['machine']}.",
        "",
        "## Against the searched optimum (held-out questions vanilla CoT answered correctly)",
        "",
        "| estimator | n | mean abs log2 error | median | within 2x (95% Wilson CI) | over | under | no estimate |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in r["optimum_scores"]:
        out.append(
            f"| {s['label']} | {s['n']} | {_fmt(s['mean_abs_log2_error'])} | "
            f"{_fmt(s['median_abs_log2_error'])} | {s['within_2x']} {_fmt(s['within_2x_ci'], True)} | "
            f"{s['over']} | {s['under']} | {s['no_estimate']} |"
        )
    if "learned_error" in r:
        out += ["", f"Learned estimator not trained: {r['learned_error']}"]
    elif "learned_cv" in r:
        cv = r["learned_cv"]
        out += [
            "",
            f"Learned estimator, {cv['folds']}-fold cross-validation on its training questions: mean abs "
            f"log2 error {cv['mean_abs_log2_error']:.2f}, within 2x {100 * cv['within_2x']:.0f}%.",
        ]
    out += [
        "",
        "## End to end on the held-out questions (estimate -> budget prompt; no usable estimate -> vanilla CoT)",
        "",
        "Answer-call tokens are the paper's convention; 'both calls' adds the estimator's own call where it makes "
        "one (TALE-EP). Vanilla CoT rows are the search's own vanilla calls. Intervals: accuracy 95% Wilson, "
        "tokens and the paired token reduction 95% bootstrap over questions; accuracy against vanilla CoT by an "
        "exact McNemar test (tale_core.analysis.stats).",
        "",
        "| method | n | accuracy | answer-call tokens | tokens, both calls | answer tokens vs vanilla | accuracy vs vanilla |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in r["summary"]:
        vanilla = s["method"] == "vanilla"
        acc = _fmt(s.get("accuracy"), True) + (f" {_fmt(s['accuracy_ci'], True)}" if s.get("accuracy_ci") else "")
        tok = _fmt(s.get("avg_output_tokens")) + (
            f" {_fmt(s['avg_output_tokens_ci'])}" if s.get("avg_output_tokens_ci") else ""
        )
        total = _fmt(s.get("total_tokens")) + (f" {_fmt(s['total_tokens_ci'])}" if s.get("total_tokens_ci") else "")
        red, red_ci = s.get("reduction_tokens_vs_vanilla"), s.get("reduction_vs_vanilla_ci")
        red_txt = "" if vanilla or red is None else f"{-100 * red:+.0f}%"
        if red_txt and red_ci:
            red_txt += f" [{-100 * red_ci[1]:+.0f}%, {-100 * red_ci[0]:+.0f}%]"
        delta, p = s.get("accuracy_delta_vs_vanilla"), s.get("mcnemar_p")
        delta_txt = "" if vanilla or delta is None else f"{100 * delta:+.1f} pts"
        if delta_txt and p is not None:
            delta_txt += f" (McNemar p={p:.2g})"
        out.append(f"| {s['label']} | {s['n']} | {acc} | {tok} | {total} | {red_txt} | {delta_txt} |")
    if r.get("notes"):
        out += ["", "## Notes", ""] + [f"- {n}" for n in r["notes"]]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
