"""Run a stored experiment again with the same configuration (deterministic calls come free from the cache).

Each kind goes back through the same code path its page uses, with ``parent_id`` pointing at the
original. Models are resolved with today's settings, so a model whose key is missing says so.
"""

from __future__ import annotations

from typing import Any

from tale_core.engine.methods import MethodSpec, run_method
from tale_core.engine.prompts import PAPER
from tale_core.errors import TaleError
from tale_core.experiments.sweep import SweepConfig
from tale_core.providers import resolve
from tale_core.settings import ProviderSettings
from tale_core.types import GenParams

from . import bench_job, search_job, services, sweep_job
from .state import MultiSink, spend_meter

PAGE_OF_KIND = {
    "sweep": "pages/sweep.py",
    "search": "pages/search.py",
    "benchmark": "pages/benchmark.py",
    "playground": "pages/experiments.py",
}


def _models(specs: list[str], settings: ProviderSettings) -> dict[str, Any]:
    if not specs:
        raise TaleError("This experiment names no model.")
    return {spec: resolve(spec, settings) for spec in specs}


def rerun(detail: Any, settings: ProviderSettings) -> tuple[str, str]:
    """Start the rerun; returns ``(page to open, new experiment or job id)``. Raises TaleError."""
    cfg = dict(detail.config or {})
    title = f"{detail.title} (rerun)"[:300]
    if detail.kind == "sweep":
        config = SweepConfig.from_dict(cfg).validate()
        job = sweep_job.start_sweep(config, _models(list(config.models), settings), title=title, parent_id=detail.id)
        return PAGE_OF_KIND["sweep"], job.id
    if detail.kind == "search":
        model = resolve(str(cfg.get("model") or ""), settings)
        job = search_job.start_search(
            model,
            str(cfg.get("question") or ""),
            str(cfg.get("gold") or ""),
            params=GenParams.from_dict(cfg.get("params") or {}),
            algorithms=list(cfg.get("algorithms") or ["paper"]),
            title=title,
            sample_curve=bool(cfg.get("sample_curve")),
            max_calls=int(cfg.get("max_calls") or 8),
            choices=tuple(cfg["choices"]) if cfg.get("choices") else None,
            parent_id=detail.id,
        )
        return PAGE_OF_KIND["search"], job.id
    if detail.kind == "benchmark":
        ds = bench_job.load_source(cfg.get("dataset") or {})
        by_id = {it.id: it for it in ds.items}
        ids = list(cfg.get("item_ids") or [])
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise TaleError(
                f"{len(missing)} question(s) of this benchmark are no longer in {ds.name} (e.g. {missing[0]!r})."
            )
        job = bench_job.start_benchmark(
            [by_id[i] for i in ids],
            [MethodSpec.parse(m) for m in cfg.get("methods") or []],
            _models(list(cfg.get("models") or []), settings),
            source=cfg.get("dataset") or {},
            params=GenParams.from_dict(cfg.get("params") or {}),
            title=title,
            spend_cap_usd=cfg.get("spend_cap_usd"),
            parent_id=detail.id,
        )
        return PAGE_OF_KIND["benchmark"], job.id
    if detail.kind == "playground":
        return PAGE_OF_KIND["playground"], rerun_playground(detail, settings, title)
    raise TaleError(f"Experiments of kind {detail.kind!r} cannot be rerun.")


def rerun_playground(detail: Any, settings: ProviderSettings, title: str) -> str:
    """Playground runs are short: run them here, on the script thread, and record a new experiment."""
    cfg = dict(detail.config or {})
    question = str(cfg.get("question") or "")
    methods = [MethodSpec.parse(m) for m in cfg.get("methods") or []]
    if not question.strip() or not methods:
        raise TaleError("This playground run has no question or no methods to rerun.")
    models = _models(list(cfg.get("models") or []), settings)
    params = GenParams.from_dict(cfg.get("params") or {})
    choices = tuple(cfg["choices"]) if cfg.get("choices") else None
    recorder = services.start_experiment("playground", title, cfg, parent_id=detail.id)
    sink = MultiSink([spend_meter(), recorder.sink if recorder is not None else None])
    runs: dict[str, list] = {}
    for spec, model in models.items():
        runs[spec] = [
            run_method(
                model,
                m,
                question,
                gold=cfg.get("gold"),
                choices=choices,
                params=params,
                cache=services.call_cache(),
                sink=sink,
                prompt_style=str(cfg.get("prompt_style") or PAPER),
            )
            for m in methods
        ]
    new_id = services.finish_experiment(recorder, runs)
    if new_id is None:
        raise TaleError("The rerun ran but could not be saved: " + (services.store_problem() or "no database"))
    return new_id
