"""CLI commands that drive the engine: ``sweep``, ``search`` and ``bench``.

    python -m tale_core sweep "QUESTION" --answer 42 --model fake/elastic --budgets 10,25,50 [--json]
    python -m tale_core sweep "QUESTION" --answer 42 --model local/smollm2 --grid log:5:500:8 --repeats 2
    python -m tale_core search "QUESTION" --answer 42 --model fake/elastic [--algorithm both] [--json]
    python -m tale_core bench --dataset samples --limit 5 --methods direct,vanilla,tale-ep --model fake/elastic

With ``--json`` each command prints one JSON object on stdout: ``sweep`` -> ``{"rows": [...],
"analysis": {spec: ...}, "status", ...}``; ``search`` -> ``{"results": {"paper": ..., "bracket": ...},
...}``; ``bench`` -> ``{"summary": [...], "status", ...}`` (add ``--rows`` for every row). Without it,
readable tables. Progress goes to stderr when it is a terminal. When an extension installed
``tale_core.cli.RECORDER_FACTORY`` (the ``db`` package does), the run is recorded as an experiment
and its id printed (``experiment_id``).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from tale_core.engine.method_registry import sweepable_methods
from tale_core.engine.runner import FAILED, INTERRUPTED, finish_quietly, store_status
from tale_core.errors import TaleError
from tale_core.protocols import MemoryCache
from tale_core.types import GenParams

# ------------------------------------------------------------------------------------ shared helpers


def parse_grid(text: str) -> list[int]:
    """``log:LO:HI:N`` or ``lin:LO:HI:N`` -> budgets; raises a TaleError with the expected form."""
    from tale_core.engine.budgets import BudgetError, linear_grid, log_grid

    parts = (text or "").strip().lower().split(":")
    kinds = {"log": log_grid, "lin": linear_grid, "linear": linear_grid}
    if len(parts) != 4 or parts[0] not in kinds:
        raise BudgetError(f"Grid {text!r}: write log:LO:HI:N or lin:LO:HI:N, e.g. log:5:500:8")
    try:
        lo, hi, n = (int(p) for p in parts[1:])
    except ValueError:
        raise BudgetError(f"Grid {text!r}: LO, HI and N must be whole numbers, e.g. log:5:500:8") from None
    return kinds[parts[0]](lo, hi, n)


def _apply_call_flags(args: argparse.Namespace) -> None:
    """``--concurrency`` applies to every API model this process builds (ProviderSettings reads it)."""
    import os

    from tale_core.settings import check_concurrency

    if getattr(args, "concurrency", None) is not None:
        os.environ["TALE_CONCURRENCY"] = str(check_concurrency(args.concurrency, "--concurrency"))


def _check_methods(models: dict[str, Any], methods: Sequence[Any], max_tokens: int | None) -> None:
    """Refuse, before any call, a method a model cannot take (a thinking sweep on a model without
    thinking budgets, an effort level it does not name): a clear message and a non-zero exit."""
    from tale_core.providers.capabilities import check_method_supported

    for model in models.values():
        for m in methods:
            check_method_supported(model, m, max_tokens=max_tokens)


def _call_settings(models: dict[str, Any]) -> dict[str, Any]:
    """Concurrency, timeout and retries per model, recorded with the experiment."""
    from tale_core.providers.limiter import call_settings_of

    return call_settings_of(models)


def _resolve_models(specs: Sequence[str]) -> dict[str, Any]:
    from tale_core.providers import resolve

    out: dict[str, Any] = {}
    for s in specs:
        s = s.strip()
        if s in out:
            raise TaleError(f"Model {s} is listed twice.")
        out[s] = resolve(s)
    return out


def _default_max_tokens(specs: Sequence[str], floor: int = 0) -> int:
    """The output cap when ``--max-tokens`` is not given: the largest of the models' own defaults (sized
    so that reasoning models are not starved: 1,024 for plain chat models, 16,384 for o-series), and
    above ``floor`` (a thinking budget must stay below the cap)."""
    from tale_core.providers import parse_spec
    from tale_core.providers.catalog import capabilities_for

    caps = []
    for s in specs:
        try:
            caps.append(capabilities_for(*parse_spec(s.strip())).default_max_tokens)
        except TaleError:
            caps.append(1024)  # resolve() reports a bad spec with its own message
    return max([1024, floor, *caps])


def _params(args: argparse.Namespace) -> GenParams:
    if args.max_tokens is None:
        specs = args.model if isinstance(args.model, list) else [args.model]
        args.max_tokens = _default_max_tokens(specs)
    if args.max_tokens < 1:
        raise TaleError("--max-tokens must be at least 1.")
    if not 0 <= args.temperature <= 2:
        raise TaleError("--temperature must be between 0 and 2.")
    return GenParams(max_tokens=args.max_tokens, temperature=args.temperature, seed=args.seed)


def _use_cache(args: argparse.Namespace) -> bool | None:
    return False if args.no_cache else None


class _Run:
    """The recorder (when an extension installed one) or an in-memory cache, for one CLI run."""

    def __init__(self, kind: str, title: str, config: dict[str, Any], *, recorder: Any = None):
        from tale_core import cli

        factory: Callable | None = cli.RECORDER_FACTORY
        if recorder is not None:  # resuming an experiment: its own recorder
            self.rec = recorder
        else:
            self.rec = factory(kind, title, config) if factory is not None else None
        self.sink = getattr(self.rec, "sink", None)
        cache = getattr(self.rec, "cache", None) if self.rec is not None else None
        self.cache = cache if cache is not None else MemoryCache()
        #: True when the recorder could not store every finished call (the run then exits non-zero)
        self.lost_calls = False

    @property
    def experiment_id(self) -> str | None:
        return str(self.rec.id) if self.rec is not None else None

    def finish(self, status: str, summary: dict[str, Any]) -> None:
        """Close the recorded experiment with the store's status for the engine's (the summary keeps the
        engine's own status, e.g. ``spend_cap``)."""
        if self.rec is not None:
            stored = self.rec.finish(store_status(status), summary)
            if stored == FAILED and store_status(status) != FAILED:  # finished calls the store could not keep
                self.lost_calls = True
                print(f"error: experiment {self.rec.id}: some finished calls could not be stored", file=sys.stderr)

    def __enter__(self) -> _Run:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None or self.rec is None or getattr(self.rec, "finished", False):
            return
        if issubclass(exc_type, KeyboardInterrupt):  # Ctrl-C or SIGTERM: stopped, not broken; resumable
            finish_quietly(self.rec, INTERRUPTED, {"error": "interrupted"})
            eid = self.experiment_id
            print(
                f"experiment {eid} interrupted; resume it with: python -m tale_core experiments resume {eid}",
                file=sys.stderr,
            )
            return
        finish_quietly(self.rec, "failed", {"error": str(exc)[:500]} if exc else {})  # never hide the error


def _common_args(p: argparse.ArgumentParser, max_tokens: int | None = None) -> None:
    """``max_tokens``: a fixed default output cap; None sizes it per model."""
    p.add_argument(
        "--max-tokens",
        type=int,
        default=max_tokens,
        help=f"hard output cap per call (default {max_tokens})"
        if max_tokens is not None
        else "hard output cap per call (default: sized per model, 1024 for chat models, 16384 for o-series; "
        "for a thinking sweep at least the largest budget + 1024)",
    )
    p.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--no-cache", action="store_true", help="always call the model, never the call cache")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="calls at once per API provider and key (default 32, or TALE_CONCURRENCY); adapts down on 429",
    )


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _money(v: float | None) -> str:
    return "-" if v is None else f"${v:.6f}"


def _table(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> str:
    cells = [[h for _, h in cols]] + [
        [_fmt(r.get(k)) if not k.endswith("usd") else _money(r.get(k)) for k, _ in cols] for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    return "\n".join("  ".join(c[i].ljust(widths[i]) for i in range(len(cols))).rstrip() for c in cells)


def _exit_code(status: str, run: _Run | None = None) -> int:
    """0, or 1 when every cell of the run failed or a finished call could not be stored (the output still
    shows each result and error)."""
    return 1 if status == FAILED or (run is not None and run.lost_calls) else 0


def _emit(obj: dict[str, Any], text: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(obj, ensure_ascii=False, default=str))
    else:
        print(text)


# ------------------------------------------------------------------------------------ sweep


def cmd_sweep(args: argparse.Namespace) -> int:
    from tale_core.engine.budgets import parse_budget_list
    from tale_core.experiments.sweep import SweepConfig

    if bool(args.budgets) == bool(args.grid):
        raise TaleError("Give the budgets with either --budgets 10,25,50 or --grid log:5:500:8.")
    budgets = parse_budget_list(args.budgets) if args.budgets else parse_grid(args.grid)
    _apply_call_flags(args)
    config = SweepConfig(
        question=args.question,
        gold=args.answer,
        models=tuple(args.model),
        budgets=tuple(budgets),
        repeats=args.repeats,
        include_reference=not args.no_reference,
        temperature=args.temperature,
        seed=args.seed,
        max_tokens=args.max_tokens
        if args.max_tokens is not None
        else _default_max_tokens(args.model, floor=(max(budgets) + 1024) if args.method == "thinking" else 0),
        spend_cap_usd=args.spend_cap,
        use_cache=_use_cache(args),
        method=args.method,
    ).validate()
    models = _resolve_models(config.models)
    _check_methods(models, [f"{config.method}:{b}" for b in config.budgets], config.max_tokens)
    stored = {**config.to_dict(), "call_settings": _call_settings(models)}
    if args.batch:
        if args.spend_cap is not None:
            raise TaleError("--spend-cap cannot stop a batch: its requests are sent at once. Leave out one of the two.")
        if args.batch_poll <= 0:
            raise TaleError("--batch-poll must be a positive number of seconds.")
        stored["batch"] = {"poll_s": float(args.batch_poll), "batches": []}
    with _Run("sweep", f"Sweep: {args.question.strip()[:60]}", stored) as run:
        return sweep_into(run, config, models, as_json=args.json, batch=stored.get("batch"))


def sweep_into(
    run: _Run,
    config: Any,
    models: dict[str, Any],
    *,
    as_json: bool,
    skip: set[str] | None = None,
    prior: Sequence[Any] = (),
    batch: dict[str, Any] | None = None,
) -> int:
    """Run a validated sweep into ``run``'s experiment; ``skip`` / ``prior`` (cells already stored) resume
    one. Prints the rows and the analysis of every cell (prior and new); returns the exit code. ``batch``
    (the stored config's ``batch`` dict) runs it through the providers' batch APIs."""
    from tale_core.analysis.elasticity import analyze
    from tale_core.engine.progress import Progress
    from tale_core.experiments.sweep import plan_cells, run_sweep

    cancel = threading.Event()
    session = _batch_session(run, batch) if batch is not None else None
    with Progress(len(plan_cells(config)) - len(skip or ()), "sweep") as bar:
        try:
            outcome = run_sweep(
                config,
                session.wrap(models) if session is not None else models,
                cache=run.cache,
                sink=run.sink,
                cancel=cancel,
                skip=skip,
                on_cell=lambda c: bar.advance(note=f"{c.key.spec} {c.key.budget or 'ref'}"),
                validated=True,
            )
        except KeyboardInterrupt:
            cancel.set()
            if session is not None:  # the batches go on at the provider: a resume collects them
                session.abandon()
            raise
        finally:
            if session is not None:
                session.close()
    if session is not None:
        outcome.notes.append(_batch_summary(session)["note"])
    order = {s: i for i, s in enumerate(config.models)}
    new_ids = {c.key.id for c in outcome.cells}
    cells = sorted(
        [c for c in prior if c.key.id not in new_ids and c.key.spec in order] + list(outcome.cells),
        key=lambda c: (order[c.key.spec], c.key.repeat, c.key.budget is not None, -(c.key.budget or 0)),
    )
    analysis = {spec: rep.to_dict() for spec, rep in analyze(cells).items()}
    summary = {
        "status": outcome.status,
        "spent_usd": outcome.spent_usd,
        "errors": outcome.errors,
        "notes": list(outcome.notes),
        "analysis": analysis,
    }
    if skip:
        summary["resumed_skipped"] = outcome.skipped
    if session is not None:
        summary["batch"] = _batch_summary(session)
    run.finish(outcome.status, summary)
    rows = [c.to_row() for c in cells]
    obj = {"kind": "sweep", **summary, "experiment_id": run.experiment_id, "rows": rows}
    _emit(obj, _sweep_text(rows, analysis, outcome, run.experiment_id, config.method), as_json)
    return _exit_code(outcome.status, run)


#: what a sweep's reference cell is, by sweep method: for provider and hard budgets it is the model's
#: default behaviour (the same prompt with no budget), not a "more verbose" baseline
REFERENCE_NAMES = {
    "budget": "vanilla CoT",
    "constrained": "vanilla CoT",
    "thinking": "the model's default (vanilla CoT, no thinking budget)",
    "forced": "the model's default (vanilla CoT, no hard budget)",
}


def _savings_text(savings: float | None, ref_name: str) -> str:
    """ "42% fewer tokens", or "3.1x the tokens of <reference>" when the budget spends more."""
    if savings is None:
        return ""
    if savings >= 0:
        return f", {100 * savings:.0f}% fewer tokens than {ref_name}"
    return f", {1 - savings:.1f}x the tokens of {ref_name}"


def _sweep_text(rows, analysis, outcome, experiment_id, method: str = "budget") -> str:
    cols = [
        ("spec", "model"),
        ("budget", "budget"),
        ("repeat", "rep"),
        ("output_tokens", "tokens"),
        ("correct", "correct"),
        ("status", "status"),
        ("cost_usd", "cost"),
        ("error", "error"),
    ]
    shown = [dict(r, budget=r["budget"] if r["budget"] is not None else "vanilla") for r in rows]
    lines = [_table(shown, cols), ""]
    ref_name = REFERENCE_NAMES.get(method, "vanilla CoT")
    for spec, a in analysis.items():
        ss = a.get("sweet_spot")
        lines.append(
            f"{spec}: {ref_name} {_fmt(a.get('reference_tokens'))} tokens; sweet spot "
            + (f"budget {ss['budget']} ({_fmt(ss['mean_tokens'])} tokens)" if ss else "none")
            + _savings_text(a.get("savings_vs_reference"), ref_name)
            + (f"; elastic below budget {a['elastic_region'][1]}" if a.get("elastic_region") else "")
            + (f"; cliff: wrong at budget {a['cliff'][0]}" if a.get("cliff") else "")
        )
        lines += [f"  note: {n}" for n in a.get("notes") or ()]
    lines.append(f"status {outcome.status}, {outcome.errors} error(s), spent {_money(outcome.spent_usd)}")
    lines += [f"note: {n}" for n in outcome.notes]
    if experiment_id:
        lines.append(f"experiment {experiment_id}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ search


def cmd_search(args: argparse.Namespace) -> int:
    from tale_core.engine.progress import Progress
    from tale_core.experiments.search import ALGORITHMS
    from tale_core.experiments.search_plan import SearchError, run_search, single

    if not (args.answer or "").strip():
        raise TaleError("The budget search needs the gold answer: add --answer.")
    if not args.question.strip():
        raise TaleError("The question is empty: pass the question as the first argument.")
    if args.max_calls < 2:
        raise TaleError("--max-calls must be at least 2 (the reference and one probe).")
    algos = list(ALGORITHMS) if args.algorithm == "both" else [args.algorithm]
    config = single(
        args.question,
        args.answer,
        args.model,
        algorithms=tuple(algos),
        params=_params(args),
        max_calls=args.max_calls,
        use_cache=_use_cache(args),
    )
    try:
        config.validate()
    except SearchError as e:
        raise TaleError(str(e)) from None
    model = _resolve_models([args.model])[args.model]
    stored = config.to_dict()
    stored.pop("sample_curve", None)
    stored.pop("choices", None)
    with _Run("search", f"Search: {args.question.strip()[:60]}", stored) as run, Progress(None, "search") as bar:
        out = run_search(
            config,
            model,
            cache=run.cache,
            sink=run.sink,
            on_probe=lambda i, a, p: bar.advance(note=f"{a} {p.budget or 'ref'}") if p.step else None,
            on_phase=lambda i, phase: bar.advance(note="reference") if phase == "reference" else None,
            validated=True,
        )
        qs = out.questions[0]
        results = {a: r.to_dict() for a, r in qs.results.items()}
        summary = {
            "results": {
                a: {k: r[k] for k in ("chosen_budget", "chosen_tokens", "calls", "total_output_tokens", "reason")}
                for a, r in results.items()
            }
        }
        run.finish(out.status, summary)
    ref = qs.reference
    obj = {
        "kind": "search",
        "spec": args.model,
        "question": args.question,
        "gold": args.answer,
        "status": out.status,
        "reference": {
            "output_tokens": ref.output_tokens if ref else 0,
            "correct": ref.correct if ref else None,
            "status": ref.status if ref else "error",
            "extracted": ref.extracted if ref else None,
        },
        "results": results,
        "experiment_id": run.experiment_id,
    }
    _emit(obj, _search_text(obj), args.json)
    return _exit_code(out.status, run)


def _search_text(obj: dict[str, Any]) -> str:
    cols = [
        ("step", "step"),
        ("phase", "phase"),
        ("budget", "budget"),
        ("output_tokens", "tokens"),
        ("correct", "correct"),
        ("accepted", "accepted"),
        ("note", "note"),
    ]
    lines = []
    for algo, r in obj["results"].items():
        probes = [dict(p, budget=p["budget"] if p["budget"] is not None else "vanilla") for p in r["probes"]]
        lines += [
            f"== {algo} search on {r['spec']}",
            _table(probes, cols),
            f"chosen budget: {_fmt(r['chosen_budget'])} ({_fmt(r['chosen_tokens'])} tokens) after "
            f"{r['calls']} calls, {r['total_output_tokens']} output tokens in all",
            f"why: {r['reason']}",
            "",
        ]
    if obj.get("experiment_id"):
        lines.append(f"experiment {obj['experiment_id']}")
    return "\n".join(lines).rstrip()


# ------------------------------------------------------------------------------------ bench


def load_items(source: str):
    """``samples`` / ``samples:multiple_choice`` / ``samples:all``, a JSONL/JSON/CSV path, a Hugging Face
    ``save_to_disk`` folder or parquet file, or a Hub id (``owner/name``; needs ``datasets`` and a network)."""
    from tale_core.data import datasets

    src = (source or "").strip()
    if src == "samples" or src.startswith("samples:"):
        which = src.partition(":")[2] or "numeric"
        sets: dict[str, Literal["numeric", "multiple_choice", "all"]] = {
            "numeric": "numeric",
            "multiple_choice": "multiple_choice",
            "all": "all",
        }
        if which not in sets:
            raise TaleError(f"Unknown sample set {which!r}; use samples, samples:multiple_choice or samples:all")
        return datasets.load_samples(sets[which])
    path = Path(src)
    if path.is_dir() or path.suffix.lower() == ".parquet" or (not path.exists() and src.count("/") == 1):
        from tale_core.data.official import load_any  # Hugging Face folder, parquet, or Hub id

        return load_any(src)
    if not path.is_file():
        raise TaleError(
            f"Dataset {src!r} not found: give a JSONL, JSON or CSV file, a Hugging Face folder or parquet "
            "file, or 'samples'."
        )
    return datasets.load_dataset(path)


def cmd_bench(args: argparse.Namespace) -> int:
    from tale_core.engine.methods import MethodSpec
    from tale_core.experiments.kinds import BenchmarkConfig

    if args.limit is not None and args.limit < 1:
        raise TaleError("--limit must be at least 1.")
    if not 1 <= args.repeats <= 50:
        raise TaleError("--repeats must be a whole number from 1 to 50.")
    if getattr(args, "preset", None) == "table3":
        from tale_core.cli.table3 import cmd_table3

        return cmd_table3(args, _Run, _params, _resolve_models, _use_cache, _emit, _exit_code)
    if not args.dataset:
        raise TaleError("--dataset is required (or --preset table3 with --gsm8k / --gsm8k-zero / --mathbench).")
    methods = [MethodSpec.parse(m) for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise TaleError("--methods is empty: e.g. --methods direct,vanilla,tale-ep")
    ds = load_items(args.dataset)
    items = list(ds.items)[: args.limit] if args.limit else list(ds.items)
    params = _params(args)
    _apply_call_flags(args)
    models = _resolve_models(args.model)
    _check_methods(models, methods, params.max_tokens)
    name = getattr(ds, "name", "") or args.dataset
    config = {
        "dataset": {"source": args.dataset, "name": name},
        "item_ids": [it.id for it in items],
        "methods": [m.to_str() for m in methods],
        "models": list(models),
        "params": params.to_dict(),
        "spend_cap_usd": args.spend_cap,
        "call_settings": _call_settings(models),
        "repeats": args.repeats,
    }
    if args.batch:  # the providers' batch APIs: cheaper, slower; the batch ids are stored as they are sent
        if args.spend_cap is not None:
            raise TaleError("--spend-cap cannot stop a batch: its requests are sent at once. Leave out one of the two.")
        if args.batch_poll <= 0:
            raise TaleError("--batch-poll must be a positive number of seconds.")
        config["batch"] = {"poll_s": float(args.batch_poll), "batches": []}
    with _Run("bench", f"Benchmark: {name} x {len(items)}", config) as run:
        return bench_into(
            run,
            items,
            BenchmarkConfig.from_dict(config),
            models,
            name=name,
            as_json=args.json,
            use_cache=_use_cache(args),
            out_csv=args.out,
            with_rows=args.rows,
            batch=config.get("batch"),
        )


def _batch_session(run: _Run, batch: dict[str, Any]) -> Any:
    """A :class:`~tale_core.engine.batch.BatchSession` for a ``--batch`` run: progress on stderr, each
    submitted batch stored with the experiment (``Recorder.add_batch``), stored batches resumed. Ctrl-C
    leaves the submitted batches running at the provider (``experiments resume`` collects them)."""
    from tale_core.engine.batch import BatchSession

    def on_batch(info: dict[str, Any]) -> None:
        add = getattr(run.rec, "add_batch", None)
        if add is not None:
            add(info)
        print(f"batch {info['batch_id']} sent ({info['requests']} requests, round {info['round']})", file=sys.stderr)

    return BatchSession(
        poll_s=float(batch.get("poll_s") or 30.0),
        on_event=lambda ev: print(ev.line(), file=sys.stderr),
        on_batch=on_batch,
        resume=list(batch.get("batches") or []),
    )


def _batch_summary(session: Any) -> dict[str, Any]:
    from tale_core.accounting.batch_pricing import AS_OF

    return {
        "batches": session.batches,
        "rounds": session.rounds,
        "price": f"cost at the providers' published batch discount (as of {AS_OF}; see each call's price_basis)",
        "note": f"Batch run: {len(session.batches)} batch(es) in {session.rounds} round(s); costs are batch prices "
        f"(list price x the published batch discount as of {AS_OF}, overridable).",
    }


def bench_into(
    run: _Run,
    items: Sequence[Any],
    config: Any,
    models: dict[str, Any],
    *,
    name: str,
    as_json: bool,
    use_cache: bool | None = None,
    out_csv: str | None = None,
    with_rows: bool = False,
    skip: set[str] | None = None,
    prior: Sequence[dict[str, Any]] = (),
    batch: dict[str, Any] | None = None,
) -> int:
    """Run a benchmark (a :class:`~tale_core.experiments.kinds.BenchmarkConfig`) into ``run``'s experiment;
    ``skip`` / ``prior`` (rows already stored) resume one. Prints the summary of every row; returns the
    exit code. ``batch`` (the config's ``batch`` dict) runs it through the providers' batch APIs."""
    from tale_core.engine.progress import Progress
    from tale_core.experiments.benchmark import run_benchmark, summarize, write_rows_csv

    cancel = threading.Event()
    session = _batch_session(run, batch) if batch is not None else None
    with Progress(config.plan_size() - len(skip or ()), "bench") as bar:
        try:
            out = run_benchmark(
                items,
                list(config.methods),
                session.wrap(models) if session is not None else models,
                params=config.params,
                cache=run.cache,
                sink=run.sink,
                on_result=lambda row: bar.advance(note=f"{row['item_id']} {row['method']}"),
                cancel=cancel,
                use_cache=use_cache,
                repeats=config.repeats,
                spend_cap_usd=config.spend_cap_usd,
                skip=skip,
            )
        except KeyboardInterrupt:
            cancel.set()
            if session is not None:  # the batches go on at the provider: a resume collects them
                session.abandon()
            raise
        finally:
            if session is not None:
                session.close()
    if session is not None:
        out.notes.append(_batch_summary(session)["note"])
    new_ids = {r["cell_id"] for r in out.rows}
    rows = [r for r in prior if r.get("cell_id") not in new_ids] + list(out.rows)
    summary = {
        "status": out.status,
        "errors": sum(1 for r in rows if r.get("status") == "error"),
        "elapsed_s": out.elapsed_s,
        "notes": out.notes,
        "summary": [s.to_dict() for s in (summarize(rows) if prior else out.summary)],
    }
    if session is not None:
        summary["batch"] = _batch_summary(session)
    run.finish(out.status, summary)
    csv_path = str(write_rows_csv(rows, out_csv)) if out_csv else None
    obj = {
        "kind": "bench",
        "dataset": name,
        "items": len(items),
        **summary,
        "spent_usd": out.spent_usd,
        "rows_csv": csv_path,
        "experiment_id": run.experiment_id,
    }
    if with_rows:
        obj["rows"] = rows
    _emit(obj, _bench_text(obj), as_json)
    return _exit_code(out.status, run)


def _ci_text(value: Any, ci: Any, scale: float = 1.0, digits: int = 1, suffix: str = "") -> str | None:
    """``"72.0% [61.2, 80.9]"``: a value with its 95% interval (none shown when there is none)."""
    if value is None:
        return None
    text = f"{scale * value:.{digits}f}{suffix}"
    if ci and ci[0] is not None and ci[1] is not None:
        text += f" [{scale * ci[0]:.{digits}f}, {scale * ci[1]:.{digits}f}]"
    return text


def _bench_text(obj: dict[str, Any]) -> str:
    rows = [
        dict(
            s,
            n=f"{s.get('n_questions') or s['n']}x{s.get('repeats') or 1}",
            accuracy=_ci_text(s["accuracy"], s.get("accuracy_ci"), 100, 1, "%"),
            answer=_ci_text(s["avg_output_tokens"], s.get("avg_output_tokens_ci")),
            estimator=None if s.get("estimator_tokens") is None else f"{s['estimator_tokens']:.1f}",
            total=_ci_text(s.get("total_tokens"), s.get("total_tokens_ci")),
            reduction="reference"
            if s["method"] == "vanilla"
            else _ci_text(s["reduction_tokens_vs_vanilla"], s.get("reduction_vs_vanilla_ci"), 100, 1, "%"),
            mcnemar=None if s.get("mcnemar_p") is None else f"{s['mcnemar_p']:.3g}",
        )
        for s in obj["summary"]
    ]
    cols = [
        ("spec", "model"),
        ("method", "method"),
        ("n", "questions x repeats"),
        ("accuracy", "accuracy [95% CI]"),
        ("answer", "answer tokens [95% CI]"),
        ("estimator", "estimator tokens"),
        ("total", "total tokens [95% CI]"),
        ("reduction", "answer tokens vs vanilla [95% CI]"),
        ("mcnemar", "McNemar p"),
        ("expense_usd", "expense (both calls)"),
        ("hedged", "hedged"),
        ("no_answer", "no answer"),
        ("errors", "errors"),
    ]
    lines = [
        f"{obj['dataset']}: {obj['items']} question(s), status {obj['status']}, {obj['elapsed_s']:.1f} s",
        _table(rows, cols),
        "answer tokens: the answer call only (the paper's convention); total: answer + TALE-EP's estimate "
        "call; intervals: 95%, accuracy Wilson (bootstrap over questions with repeats), tokens bootstrap, "
        "reduction paired bootstrap over questions; McNemar: exact test on the same questions.",
    ]
    lines += [f"note: {n}" for n in obj.get("notes") or ()]
    if obj.get("rows_csv"):
        lines.append(f"rows written to {obj['rows_csv']}")
    if obj.get("experiment_id"):
        lines.append(f"experiment {obj['experiment_id']}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ resume

#: kinds whose runs resume cell by cell into the same experiment
RESUMABLE = ("sweep", "benchmark")


def resume(
    kind: str,
    stored_config: dict[str, Any],
    recorder: Any,
    *,
    records: Sequence[Any],
    load_dataset: Callable[[dict[str, Any]], Any],
    as_json: bool = False,
) -> int:
    """Run only the missing cells of a stored sweep or benchmark into the same experiment.

    ``recorder`` is the experiment's (``done_cell_ids()`` says what to skip); ``records`` its stored calls
    (for the analysis of every cell); ``load_dataset(source)`` loads a benchmark's questions.
    """
    from tale_core.experiments import kinds, rebuild

    if kind not in RESUMABLE:
        raise TaleError(f"Only {' and '.join(RESUMABLE)} runs resume cell by cell; rerun a {kind} instead.")
    config = kinds.config_of(kind, stored_config)
    skip = set(recorder.done_cell_ids())
    run = _Run(kind, "", stored_config, recorder=recorder)
    with run:
        if kind == "sweep":
            models = _resolve_models(config.models)
            prior = [c for c in rebuild.sweep_cells(records) if c.key.id in skip]
            return sweep_into(
                run, config, models, as_json=as_json, skip=skip, prior=prior, batch=stored_config.get("batch")
            )
        ds = load_dataset(dict(config.dataset))
        by_id = {it.id: it for it in ds.items}
        missing = [i for i in config.item_ids if i not in by_id]
        if missing:
            raise TaleError(f"{len(missing)} question(s) are no longer in the dataset (e.g. {missing[0]!r}).")
        prior_rows = [
            r
            for r in rebuild.benchmark_rows(
                records, item_ids=config.item_ids, methods=[m.to_str() for m in config.methods]
            )
            if r["cell_id"] in skip
        ]
        return bench_into(
            run,
            [by_id[i] for i in config.item_ids],
            config,
            _resolve_models(config.models),
            name=str(config.dataset.get("name") or ""),
            as_json=as_json,
            skip=skip,
            prior=prior_rows,
            batch=stored_config.get("batch"),
        )


# ------------------------------------------------------------------------------------ registration


def _batch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--batch",
        action="store_true",
        help="use the provider's batch API (OpenAI/Anthropic): about half the price, results within 24 h; "
        "TALE-EP takes two batch rounds",
    )
    p.add_argument("--batch-poll", type=float, default=30.0, help="seconds between batch status checks (default 30)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sweep``, ``search`` and ``bench`` to the ``python -m tale_core`` parser."""
    p = sub.add_parser(
        "sweep",
        help="sweep token budgets on one question and analyse the elasticity",
        description="Run one question at many budgets (plus a vanilla CoT reference) on one or "
        "more models; print every cell and the elasticity analysis.",
    )
    p.add_argument("question")
    p.add_argument("--answer", default=None, help="gold answer (to grade correctness)")
    p.add_argument("--model", action="append", required=True, help="provider/model; repeat for several")
    p.add_argument("--budgets", default=None, help="comma-separated budgets, e.g. 10,25,50")
    p.add_argument("--grid", default=None, help="log:LO:HI:N or lin:LO:HI:N, e.g. log:5:500:8")
    p.add_argument("--repeats", type=int, default=1, help="calls per budget (seed + repeat)")
    p.add_argument("--no-reference", action="store_true", help="skip the vanilla CoT reference cells")
    p.add_argument("--spend-cap", type=float, default=None, help="stop scheduling calls once this many USD are spent")
    p.add_argument(
        "--method",
        default="budget",
        choices=[m.key for m in sweepable_methods()],
        help="how the budget is given (default: 'use less than N tokens' in the prompt; thinking: the "
        "provider's thinking budget; forced: a hard budget by budget forcing)",
    )
    _batch_args(p)
    _common_args(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "search",
        help="search the cheapest correct budget: the paper's halving and ours",
        description="Run the paper's budget search and our bracketing search on one question, "
        "sharing one vanilla CoT reference; print every probe and the chosen budgets.",
    )
    p.add_argument("question")
    p.add_argument("--answer", required=True, help="gold answer (the search needs it)")
    p.add_argument("--model", required=True, help="provider/model")
    p.add_argument("--algorithm", default="both", choices=("both", "paper", "bracket"))
    p.add_argument("--max-calls", type=int, default=8, help="call cap of the bracketing search (default 8)")
    _common_args(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "bench",
        help="run a dataset: methods x models, summarised like the paper's Table 3",
        description="Run every question of a dataset with each method on each model; print "
        "accuracy, mean tokens, expense and the reduction against vanilla CoT.",
    )
    p.add_argument(
        "--dataset",
        default=None,
        help="a JSONL/JSON/CSV file, a Hugging Face save_to_disk folder or parquet file, or 'samples' "
        "(required unless --preset is given)",
    )
    p.add_argument("--limit", type=int, default=None, help="first N questions only (per dataset with --preset)")
    p.add_argument(
        "--preset",
        choices=("table3",),
        default=None,
        help="table3: the paper's Table 3 from --gsm8k / --gsm8k-zero / --mathbench files in the official "
        "formats, with the official per-dataset prompts, printed beside the paper's rows",
    )
    p.add_argument("--gsm8k", default=None, help="(table3) GSM8K JSONL (answers end in '#### N'), or HF folder/parquet")
    p.add_argument("--gsm8k-zero", default=None, help="(table3) GSM8K-Zero JSONL (float answers)")
    p.add_argument("--mathbench", default=None, help="(table3) MathBench v1 folder (<subset>/<kind>_<lang>.jsonl)")
    p.add_argument(
        "--methods", default="direct,vanilla,tale-ep", help="comma-separated, e.g. vanilla,tale-ep,budget:50"
    )
    p.add_argument("--model", action="append", required=True, help="provider/model; repeat for several")
    p.add_argument("--out", default=None, help="write every row to this CSV file")
    p.add_argument("--rows", action="store_true", help="include every row in the --json output")
    p.add_argument("--repeats", type=int, default=1, help="trials per question and method (seed + repeat)")
    p.add_argument("--spend-cap", type=float, default=None, help="stop scheduling calls once this many USD are spent")
    _batch_args(p)
    _common_args(p)
    p.set_defaults(func=cmd_bench)
