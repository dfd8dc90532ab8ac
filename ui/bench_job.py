"""Benchmarks in the app: pick a question set, run it as a background job, rebuild it from the store."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from tale_core.data.datasets import Dataset, Item, load_dataset, load_samples
from tale_core.engine.methods import MethodSpec
from tale_core.engine.runner import finish_quietly
from tale_core.errors import TaleError
from tale_core.experiments.benchmark import run_benchmark
from tale_core.providers.base import ChatModel
from tale_core.types import GenParams

from . import rebuild, services
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
    if kind == "path":
        return load_dataset(str(source.get("path") or ""))
    if isinstance(kind, str) and kind.strip():  # recorded by the CLI: "samples[:which]" or a file path
        from tale_core.cli.engine import load_items

        return load_items(kind)
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
) -> Job:
    """Record and run the benchmark in a worker thread; job items are the engine's result rows."""
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
    recorder = services.start_experiment("benchmark", title, config, parent_id=parent_id)
    total = len(items) * len(methods) * len(models) * repeats
    job = Job(
        id=recorder.id if recorder is not None else new_job_id(),
        kind="benchmark",
        title=title,
        config=config,
        total=total,
        experiment_id=recorder.id if recorder is not None else None,
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
            )
        except Exception as e:
            finish_quietly(recorder, "failed", {"error": f"{type(e).__name__}: {e}"})
            raise
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
    """Benchmark rows (like the engine's) rebuilt from stored calls: one per model x question x method,
    in the configured question and method order (calls finish in any order)."""
    groups = rebuild.group(records, lambda r: (r.spec, r.question_id, r.method, r.repeat) if r.method else None)
    order_q: dict[Any, int] = {q: i for i, q in enumerate(item_ids)}
    order_m: dict[Any, int] = {m: i for i, m in enumerate(methods)}
    for r in sorted(records, key=lambda r: r.created_at):
        order_q.setdefault(r.question_id, len(order_q))
        order_m.setdefault(r.method, len(order_m))
    rows = []
    for (spec, qid, method, _rep), recs in groups.items():
        res = rebuild.result_from_records(recs)
        row = res.to_row()
        row.update(
            {
                "spec": spec,
                "item_id": qid,
                "item_index": order_q.get(qid, 0),
                "method": method,
                "method_label": res.method.label,
                "method_index": order_m.get(method, 0),
                "gold": res.gold,
                "error": res.error_message or None,
            }
        )
        rows.append(row)
    rows.sort(key=lambda r: (r["spec"], r["item_index"], r["method_index"]))
    return rows


def load_benchmark(experiment_id: str) -> tuple[Any, list[dict]]:
    store = services.get_store()
    if store is None:
        raise TaleError(services.store_problem() or "No database: experiments cannot be opened.")
    detail = store.get_experiment(experiment_id)
    cfg = detail.config or {}
    return detail, rows_from_records(
        detail.records,
        item_ids=[str(i) for i in cfg.get("item_ids") or []],
        methods=[str(m) for m in cfg.get("methods") or []],
    )


__all__ = [
    "SAMPLE_SETS",
    "load_source",
    "keep_upload",
    "choose_items",
    "start_benchmark",
    "rows_from_records",
    "load_benchmark",
]
