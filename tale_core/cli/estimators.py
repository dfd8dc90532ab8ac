"""CLI commands for budget estimators and TALE-PT data: ``search-dataset``, ``estimator``, ``export-pt``.

    python -m tale_core search-dataset --model local/qwen2.5-coder-1.5b --dataset FILE --limit 40 [--algorithm paper]
    python -m tale_core estimator train --search ID_OR_FILE [--train 24]
    python -m tale_core estimator score --search ID_OR_FILE --model SPEC [--from 24] [--end-to-end]
    python -m tale_core estimator list
    python -m tale_core export-pt --search ID_OR_FILE --format sft|dpo|openai --out FILE

A dataset search is recorded as one experiment (kind ``search-dataset``) when the ``db`` extension is
loaded, and ``--search`` then takes its id; ``--out FILE.json`` also writes the result to a file, which
``--search`` accepts too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tale_core.errors import TaleError
from tale_core.estimators.learned import LearnedEstimator, TrainingExample, for_model, list_saved
from tale_core.estimators.saved import estimators_dir
from tale_core.experiments.search import ALGORITHMS, PAPER
from tale_core.experiments.search_dataset import DatasetSearch, DatasetSearchConfig, QuestionSearch, search_dataset
from tale_core.types import GenParams


def _load_search(ref: str) -> tuple[DatasetSearch, str | None]:
    """A dataset search from a JSON file or a stored experiment id; also returns the experiment id."""
    path = Path(ref)
    if path.suffix == ".json" and path.is_file():
        try:
            return DatasetSearch.from_dict(json.loads(path.read_text(encoding="utf-8"))), None
        except (OSError, ValueError) as e:
            raise TaleError(f"Cannot read the search file {ref}: {e}") from None
    from tale_core import cli

    if cli.EXPERIMENT_LOADER is None:
        raise TaleError(f"{ref!r} is not a search result file, and no database is loaded to look it up.")
    exp = cli.EXPERIMENT_LOADER(ref)
    if exp.get("kind") != "search-dataset" or not exp.get("summary"):
        raise TaleError(f"Experiment {ref} is not a finished dataset search (kind {exp.get('kind')!r}).")
    return DatasetSearch.from_dict(exp["summary"]), ref


def _split(search: DatasetSearch, first_test: int) -> tuple[list[QuestionSearch], list[QuestionSearch]]:
    return search.questions[:first_test], search.questions[first_test:]


def _examples(questions: list[QuestionSearch]) -> list[TrainingExample]:
    return [
        TrainingExample(q.question_id, q.question, q.optimal_budget)
        for q in questions
        if q.status == "searched" and q.optimal_budget is not None
    ]


def cmd_search_dataset(args: argparse.Namespace) -> int:
    from tale_core.cli.engine import _params, _Run, _use_cache
    from tale_core.experiments.benchmark import _item_fields  # the benchmark's reading of dataset items
    from tale_core.providers import resolve

    if args.algorithm not in ALGORITHMS:
        raise TaleError(f"--algorithm must be one of {', '.join(ALGORITHMS)}")
    model = resolve(args.model)
    params = _params(args)
    from tale_core.cli.engine import load_items

    if args.limit is not None and args.limit < 1:
        raise TaleError("--limit must be at least 1.")
    ds = load_items(args.dataset)
    items = list(ds.items)[: args.limit] if args.limit else list(ds.items)
    rows = []
    for i, it in enumerate(items):
        item_id, question, gold, choices = _item_fields(it, i)
        rows.append({"id": item_id, "question": question, "answer": gold, "choices": choices})
    config = DatasetSearchConfig(
        model=model.spec,
        algorithm=args.algorithm,
        dataset=args.dataset,
        limit=args.limit,
        params=params.to_dict(),
        question_ids=tuple(str(r["id"]) for r in rows),
    ).to_dict()
    with _Run("search-dataset", f"Budget search over {len(rows)} questions ({model.spec})", config) as run:
        result = search_dataset(
            model,
            rows,
            algorithm=args.algorithm,
            params=params,
            cache=run.cache,
            sink=run.sink,
            use_cache=_use_cache(args),
        )
        run.finish(result.status, result.to_dict())
    if args.out:
        Path(args.out).write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    searched = result.searched
    out: dict[str, Any] = {
        "experiment_id": run.experiment_id,
        "status": result.status,
        "questions": len(result.questions),
        "searched": len(searched),
        "vanilla_wrong": sum(q.status == "vanilla_wrong" for q in result.questions),
        "errors": sum(q.status == "error" for q in result.questions),
        "rows": [
            {
                k: q.to_dict()[k]
                for k in (
                    "question_id",
                    "status",
                    "reference_tokens",
                    "optimal_budget",
                    "optimal_tokens",
                    "beats_vanilla",
                    "calls",
                )
            }
            for q in result.questions
        ],
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False, default=str))
    else:
        for r in out["rows"]:
            print(
                f"{r['question_id']:<10} {r['status']:<14} vanilla {r['reference_tokens']!s:>5}  "
                f"optimal budget {r['optimal_budget']!s:>5} ({r['optimal_tokens']!s} tokens)"
            )
        print(
            f"{out['searched']} of {out['questions']} questions searched (vanilla CoT correct); "
            f"{out['vanilla_wrong']} skipped (vanilla wrong), {out['errors']} errors."
            + (f" Experiment {out['experiment_id']}." if out["experiment_id"] else "")
        )
    return 0


def cmd_estimator(args: argparse.Namespace) -> int:
    if args.action == "list":
        rows = [
            {
                "name": e.name,
                "model": e.model_spec,
                "search": e.search_experiment_id,
                "n": len(e.examples),
                "cv_mean_abs_log2_error": round(e.cv.mean_abs_log2_error, 3),
            }
            for e in list_saved(estimators_dir())
        ]
        print(
            json.dumps(rows, ensure_ascii=False)
            if args.json
            else "\n".join(
                f"{r['name']}  {r['model']}  n={r['n']}  cv error {r['cv_mean_abs_log2_error']}" for r in rows
            )
            or "No learned estimators yet: train one with `estimator train --search ID`."
        )
        return 0
    if not args.search:
        raise TaleError("--search ID_OR_FILE is required.")
    search, exp_id = _load_search(args.search)
    cut = args.train if args.train is not None else max(1, int(len(search.questions) * 0.6))
    train, test = _split(search, cut)
    if args.action == "train":
        est = LearnedEstimator(
            _examples(train), model_spec=search.spec, search_experiment_id=exp_id, algorithm=search.algorithm
        )
        path = est.save(estimators_dir())
        out = {
            "name": est.name,
            "path": str(path),
            "model": est.model_spec,
            "search_experiment_id": exp_id,
            "trained_on": len(est.examples),
            "cv": {
                "folds": est.cv.folds,
                "mean_abs_log2_error": est.cv.mean_abs_log2_error,
                "within_2x": est.cv.within_2x,
            },
        }
        print(
            json.dumps(out)
            if args.json
            else f"Trained {est.name} on {len(est.examples)} searched questions; {est.cv.folds}-fold CV: mean abs "
            f"log2 error {est.cv.mean_abs_log2_error:.2f}, within 2x {100 * est.cv.within_2x:.0f}%. Saved {path}"
        )
        return 0
    return _score(args, search, train, test)


def _score(
    args: argparse.Namespace, search: DatasetSearch, train: list[QuestionSearch], test: list[QuestionSearch]
) -> int:
    from tale_core.estimators.llm import ZeroShotEstimator
    from tale_core.estimators.scoring import end_to_end_rows, score_against_optimum, vanilla_rows
    from tale_core.estimators.simple import FixedEstimator, OracleEstimator
    from tale_core.experiments.benchmark import summarize
    from tale_core.protocols import MemoryCache
    from tale_core.providers import resolve

    spec = args.model or search.spec
    model = resolve(spec)
    params = GenParams(max_tokens=args.max_tokens, temperature=0.0, seed=0)
    cache = MemoryCache()
    ests: list[Any] = []
    for key in [k.strip() for k in args.estimators.split(",") if k.strip()]:
        if key == "zero-shot":
            ests.append(ZeroShotEstimator(model, params=params, cache=cache))
        elif key.startswith("fixed:"):
            ests.append(FixedEstimator(int(key.split(":", 1)[1])))
        elif key == "learned":
            learned = for_model(estimators_dir(), spec)
            if learned is None:
                learned = LearnedEstimator(
                    _examples(train), model_spec=spec, search_experiment_id=None, algorithm=search.algorithm
                )
            ests.append(learned)
        elif key == "oracle":
            ests.append(
                OracleEstimator({q.question_id: q.optimal_budget for q in test if q.optimal_budget is not None})
            )
        else:
            raise TaleError(f"Unknown estimator {key!r}; use zero-shot, fixed:N, learned, oracle.")
    scores = [score_against_optimum(e, test).to_dict() for e in ests]
    out: dict[str, Any] = {"model": spec, "held_out": len(test), "optimum": scores}
    if args.end_to_end:
        rows = vanilla_rows(spec, test)
        for e in ests:
            rows += end_to_end_rows(model, e, test, params=params, cache=cache)
        out["end_to_end"] = [s.to_dict() for s in summarize(rows)]
    if args.json:
        print(json.dumps(out, ensure_ascii=False, default=str))
        return 0
    print(f"{len(test)} held-out questions ({spec}); error in log2 budget against the searched optimum:")
    for s in scores:
        err = "n/a" if s["mean_abs_log2_error"] is None else f"{s['mean_abs_log2_error']:.2f}"
        print(
            f"  {s['label']:<45} n={s['n']:<4} mean abs log2 error {err}  within 2x {s['within_2x']}/{s['n']}"
            f"  over {s['over']} under {s['under']} none {s['no_estimate']}"
        )
    for s in out.get("end_to_end", []):
        acc = "n/a" if s["accuracy"] is None else f"{100 * s['accuracy']:.0f}%"
        tok = "n/a" if s["avg_output_tokens"] is None else f"{s['avg_output_tokens']:.0f}"
        print(f"  end to end {s['label']:<38} n={s['n']:<4} accuracy {acc:>5}  mean output tokens {tok}")
    return 0


def cmd_export_pt(args: argparse.Namespace) -> int:
    from tale_core.data import tale_pt
    from tale_core.settings import ProviderSettings

    search, _ = _load_search(args.search)
    settings = ProviderSettings.from_env()
    secrets = [s for s in (settings.openai_api_key, settings.anthropic_api_key) if s]
    n = tale_pt.write(search.questions, args.format, args.out, secrets=secrets)
    print(
        json.dumps({"examples": n, "format": args.format, "out": args.out})
        if args.json
        else f"Wrote {n} {args.format} examples to {args.out}"
        + ("" if n else " (no question had a correct budget-aware answer that beat vanilla CoT)")
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from tale_core.cli.engine import _common_args

    p = sub.add_parser("search-dataset", help="search the optimal budget of every question of a dataset")
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", default="samples", help="samples, samples-mc, or a JSONL/CSV file")
    p.add_argument("--limit", type=int, default=None, help="only the first N questions")
    p.add_argument("--algorithm", default=PAPER, choices=sorted(ALGORITHMS))
    p.add_argument("--out", default=None, help="also write the result as JSON to this file")
    _common_args(p, max_tokens=1024)
    p.set_defaults(func=cmd_search_dataset)

    p = sub.add_parser("estimator", help="train, score and list learned budget estimators")
    p.add_argument("action", choices=("train", "score", "list"))
    p.add_argument("--search", help="a dataset-search experiment id or result file")
    p.add_argument(
        "--train", type=int, default=None, help="the first N questions train, the rest are held out (default: 60%%)"
    )
    p.add_argument("--model", default=None, help="model for the end-to-end calls (default: the searched one)")
    p.add_argument("--estimators", default="zero-shot,fixed:50,learned,oracle")
    p.add_argument("--end-to-end", action="store_true", help="also answer the held-out questions with each budget")
    p.add_argument("--max-tokens", type=int, default=1024)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_estimator)

    p = sub.add_parser("export-pt", help="write TALE-PT fine-tuning data from a dataset search")
    p.add_argument("--search", required=True)
    p.add_argument("--format", required=True, choices=("openai", "sft", "dpo"))
    p.add_argument("--out", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export_pt)
