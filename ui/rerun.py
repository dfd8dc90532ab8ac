"""Run a stored experiment again with the same configuration (deterministic calls come free from the cache).

The configuration is read once through the experiment kinds (:mod:`tale_core.experiments.kinds`), then each
kind goes back through the same code path its page uses, with ``parent_id`` pointing at the original.
Models are resolved with today's settings, so a model whose key is missing says so.
"""

from __future__ import annotations

from typing import Any

from tale_core.errors import TaleError
from tale_core.experiments.kinds import KINDS, BenchmarkConfig, config_of
from tale_core.experiments.playground import PlaygroundConfig
from tale_core.experiments.search_plan import SearchConfig
from tale_core.experiments.sweep import SweepConfig
from tale_core.providers import resolve
from tale_core.settings import ProviderSettings

from . import bench_job, playground_job, search_job, services, sweep_job

#: the page that opens each kind
PAGE_OF_KIND = {name: k.page for name, k in KINDS.items()}


def _models(specs: tuple[str, ...] | list[str], settings: ProviderSettings) -> dict[str, Any]:
    if not specs:
        raise TaleError("This experiment names no model.")
    return {spec: resolve(spec, settings) for spec in specs}


def rerun(detail: Any, settings: ProviderSettings) -> tuple[str, str]:
    """Start the rerun; returns ``(page to open, new experiment or job id)``. Raises TaleError."""
    config = config_of(detail.kind, detail.config)
    title = f"{detail.title} (rerun)"[:300]
    page = PAGE_OF_KIND[detail.kind]
    if isinstance(config, SweepConfig):
        models = _models(config.models, settings)
        job = sweep_job.start_sweep(config, models, title=title, parent_id=detail.id, validated=True)
        return page, job.id
    if isinstance(config, SearchConfig):
        model = resolve(config.model, settings)
        job = search_job.start_search_config(config, model, title=title, parent_id=detail.id)
        return page, job.id
    if isinstance(config, BenchmarkConfig):
        ds = bench_job.load_source(config.dataset)
        by_id = {it.id: it for it in ds.items}
        missing = [i for i in config.item_ids if i not in by_id]
        if missing:
            raise TaleError(
                f"{len(missing)} question(s) of this benchmark are no longer in {ds.name} (e.g. {missing[0]!r})."
            )
        job = bench_job.start_benchmark(
            [by_id[i] for i in config.item_ids],
            list(config.methods),
            _models(config.models, settings),
            source=config.dataset,
            params=config.params,
            title=title,
            spend_cap_usd=config.spend_cap_usd,
            parent_id=detail.id,
            repeats=config.repeats,
        )
        return page, job.id
    if isinstance(config, PlaygroundConfig):
        return page, rerun_playground(config, detail.id, settings, title)
    raise TaleError(f"Experiments of kind {detail.kind!r} cannot be rerun.")


#: kinds whose interrupted runs resume cell by cell into the same experiment
RESUMABLE = ("sweep", "benchmark")


def resume(detail: Any, settings: ProviderSettings) -> tuple[str, str]:
    """Run only the missing cells of an interrupted (or cancelled, or failed) sweep or benchmark into the
    same experiment; returns ``(page to open, experiment id)``. Raises TaleError."""
    if detail.kind not in RESUMABLE:
        raise TaleError(f"Only sweeps and benchmarks resume cell by cell; rerun this {detail.kind} instead.")
    config = config_of(detail.kind, detail.config)
    prior = KINDS[detail.kind].rebuild(config, detail.records)
    page = PAGE_OF_KIND[detail.kind]
    if isinstance(config, SweepConfig):
        models = _models(config.models, settings)
        recorder = services.resume_experiment(detail.id)
        done = recorder.done_cell_ids()
        cells = [c for c in prior if c.key.id in done]
        job = sweep_job.start_sweep(config, models, title=detail.title, validated=True, resume=(recorder, cells))
        return page, job.id
    assert isinstance(config, BenchmarkConfig)
    ds = bench_job.load_source(config.dataset)
    by_id = {it.id: it for it in ds.items}
    missing = [i for i in config.item_ids if i not in by_id]
    if missing:
        raise TaleError(f"{len(missing)} question(s) of this benchmark are no longer in {ds.name}.")
    models = _models(config.models, settings)
    recorder = services.resume_experiment(detail.id)
    done = recorder.done_cell_ids()
    job = bench_job.start_benchmark(
        [by_id[i] for i in config.item_ids],
        list(config.methods),
        models,
        source=config.dataset,
        params=config.params,
        title=detail.title,
        spend_cap_usd=config.spend_cap_usd,
        repeats=config.repeats,
        resume=(recorder, [r for r in prior if r.get("cell_id") in done]),
    )
    return page, job.id


def rerun_playground(config: PlaygroundConfig, parent_id: str, settings: ProviderSettings, title: str) -> str:
    """Playground runs are short: run them here (on the engine's runner) and record a new experiment."""
    models = _models(config.models, settings)
    with playground_job.recording(config, title, parent_id=parent_id) as rec:
        rec.all(models)
    if rec.experiment_id is None:
        raise TaleError("The rerun ran but could not be saved: " + (services.store_problem() or "no database"))
    return rec.experiment_id
