"""Benchmarks in the app: pick a question set, run it as a background job, rebuild it from the store."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from tale_core.data.datasets import Dataset, Item, load_dataset, load_samples
from tale_core.engine.methods import MethodSpec
from tale_core.engine.runner import finish_quietly
from tale_core.errors import TaleError
from tale_core.experiments.benchmark import run_benchmark, summarize
from tale_core.experiments.rebuild import benchmark_rows
from tale_core.providers.base import ChatModel
from tale_core.types import GenParams

from . import server_files, services
from .jobs import Job, new_job_id, registry
from .state import MultiSink, spend_meter

SAMPLE_SETS = {
    "numeric": "Bundled samples: word problems",
    "multiple_choice": "Bundled samples: multiple choice",
    "all": "Bundled samples: all",
}


def load_source(source: Mapping[str, Any]) -> Dataset:
    """The dataset a config names: bundled samples, a stored upload, or a file path on the server."""
    kind = source.get("source")
    if kind == "samples":
        return load_samples(source.get("which") or "numeric")
    if kind == "stored":
        store = services.get_store()
        if store is None:
            raise TaleError("The uploaded dataset was kept in the database, which is not available now.")
        info = store.get_dataset(str(source.get("dataset_id")))
        return load_dataset((info.content or "").encode("utf-8"), name=info.name, fmt="jsonl")
    if kind == "path":  # a file on the server: only inside the allowed folder (a bundle may name any path)
        return server_files.load(str(source.get("path") or ""))
    if isinstance(kind, str) and kind.strip():  # recorded by the CLI: "samples[:which]" or a file path
        if kind.strip() == "samples" or kind.strip().startswith("samples:"):
            from tale_core.cli.engine import load_items

            return load_items(kind)
        return server_files.load(kind.strip())
    raise TaleError(f"Unknown dataset source {kind!r}.")


def keep_upload(ds: Dataset) -> dict[str, Any]:
    """Save an uploaded dataset in the store (so the run can be repeated) and return its source entry."""
    store = services.get_store()
    if store is None:
        return {"source": "upload", "name": ds.name}  # runs now, cannot be rerun later
    dataset_id = store.save_dataset(ds.name, "jsonl", ds.to_jsonl(), len(ds.items))
    return {"source": "stored", "dataset_id": dataset_id, "name": ds.name}


def choose_items(ds: Dataset, n: int, *, shuffle_seed: int | None = None) -> list[Item]:
    """The first ``n`` items, or ``n`` drawn at random with a fixed seed (reproducible)."""
    items = list(ds.items)
    if shuffle_seed is not None:
        items = random.Random(shuffle_seed).sample(items, k=min(n, len(items)))
    return items[:n]


def start_benchmark(
    items: Sequence[Item],
    methods: Sequence[MethodSpec],
    models: Mapping[str, ChatModel],
    *,
    source: Mapping[str, Any],
    params: GenParams,
    title: str,
    spend_cap_usd: float | None = None,
    parent_id: str | None = None,
    repeats: int = 1,
    resume: tuple[Any, list[dict]] | None = None,
) -> Job:
    """Record and run the benchmark in a worker thread; job items are the engine's result rows.
    ``resume=(recorder, rows already stored)`` runs only the missing cells into that experiment."""
    if not items:
        raise TaleError("No questions selected.")
    if not methods:
        raise TaleError("Pick at least one method.")
    if not models:
        raise TaleError("Pick at least one model in the sidebar.")
    config = {
        "dataset": dict(source),
        "item_ids": [it.id for it in items],
        "methods": [m.to_str() for m in methods],
        "models": list(models),
        "params": params.to_dict(),
        "spend_cap_usd": spend_cap_usd,
        "repeats": repeats,
    }
    if resume is not None:
        recorder, prior = resume
    else:
        from tale_core.providers.limiter import call_settings_of

        recorded = {**config, "call_settings": call_settings_of(models)}
        recorder, prior = services.start_experiment("benchmark", title, recorded, parent_id=parent_id), []
    skip = {str(r.get("cell_id")) for r in prior}
    total = len(items) * len(methods) * len(models) * repeats
    job = Job(
        id=recorder.id if recorder is not None else new_job_id(),
        kind="benchmark",
        title=title,
        config=config,
        total=total,
        experiment_id=recorder.id if recorder is not None else None,
        items=list(prior),
    )
    sink = MultiSink([spend_meter(), recorder.sink if recorder is not None else None])
    cache = services.call_cache()

    def on_result(row: dict) -> None:
        spent = 0.0 if row.get("cache_hit") or row.get("cost_usd") is None else float(row["cost_usd"])
        job.add(row, spent_usd=spent, error=row.get("status") == "error")

    def work(job: Job) -> None:
        try:
            outcome = run_benchmark(
                items,
                methods,
                models,
                params=params,
                cache=cache,
                sink=sink,
                on_result=on_result,
                cancel=job.cancel,
                repeats=repeats,
                spend_cap_usd=spend_cap_usd,
                skip=skip,
            )
        except Exception as e:
            finish_quietly(recorder, "failed", {"error": f"{type(e).__name__}: {e}"})
            raise
        if prior:  # a resumed run: the results are the stored rows and the new ones
            outcome.rows = [r for r in prior if r.get("cell_id") not in {n.get("cell_id") for n in outcome.rows}]
            outcome.rows += [r for r in job.snapshot() if r not in outcome.rows and r not in prior]
            outcome.summary = summarize(outcome.rows)
        summary = {
            "status": outcome.status,
            "errors": outcome.errors,
            "elapsed_s": outcome.elapsed_s,
            "spent_usd": outcome.spent_usd,
            "notes": list(outcome.notes),
            "summary": [s.to_dict() for s in outcome.summary],
        }
        finish_quietly(recorder, outcome.status, summary)
        job.finish(outcome.status, outcome=outcome, notes=list(outcome.notes))

    return registry().start(job, work)


def rows_from_records(records: list, *, item_ids: Sequence[str] = (), methods: Sequence[str] = ()) -> list[dict]:
    """Benchmark rows rebuilt from stored calls (:func:`tale_core.experiments.rebuild.benchmark_rows`)."""
    return benchmark_rows(records, item_ids=item_ids, methods=methods)


__all__ = [
    "SAMPLE_SETS",
    "load_source",
    "keep_upload",
    "choose_items",
    "start_benchmark",
    "rows_from_records",
]
