"""Run the budget searches (the paper's halving and our bracketing search) as one background job."""

from __future__ import annotations

from typing import Any

from tale_core.engine.runner import finish_quietly
from tale_core.experiments.rebuild import search_probes
from tale_core.experiments.search_plan import CURVE_POINTS, SearchConfig, run_search, single
from tale_core.providers.base import ChatModel
from tale_core.types import GenParams

from . import services
from .jobs import Job, new_job_id, registry
from .state import MultiSink, spend_meter

ALGORITHMS = {
    "paper": "The paper's search (halving)",
    "bracket": "Bracketing search (ours)",
}
__all__ = ["ALGORITHMS", "CURVE_POINTS", "start_search", "start_search_config", "live_results", "probes_from_calls"]


def start_search(
    model: ChatModel,
    question: str,
    gold: str,
    *,
    params: GenParams,
    algorithms: list[str],
    title: str,
    sample_curve: bool = False,
    max_calls: int = 8,
    choices: tuple[str, ...] | None = None,
    parent_id: str | None = None,
) -> Job:
    """Record and run the searches in a worker thread. Job items are ``(algorithm, probe dict)``;
    ``job.extra["results"]`` holds each finished ``SearchResult.to_dict()``, ``extra["curve"]`` the
    optional curve points. Call on the script thread."""
    config = single(
        question,
        gold,
        model.spec,
        algorithms=tuple(algorithms),
        params=params,
        sample_curve=sample_curve,
        max_calls=max_calls,
        choices=choices,
    ).validate()
    return start_search_config(config, model, title=title, parent_id=parent_id)


def start_search_config(config: SearchConfig, model: ChatModel, *, title: str, parent_id: str | None = None) -> Job:
    """Record and run a validated :class:`SearchConfig` in a worker thread (see :func:`start_search`)."""
    recorder = services.start_experiment("search", title, config.to_dict(), parent_id=parent_id)
    job = Job(
        id=recorder.id if recorder is not None else new_job_id(),
        kind="search",
        title=title,
        config=config.to_dict(),
        total=config.plan_size(),
        experiment_id=recorder.id if recorder is not None else None,
    )
    job.extra.update(results={}, curve=[], phase="reference")
    sink = MultiSink([spend_meter(), recorder.sink if recorder is not None else None])
    cache = services.call_cache()

    def work(job: Job) -> None:
        try:
            out = run_search(
                config,
                model,
                cache=cache,
                sink=sink,
                cancel=job.cancel,
                on_probe=lambda i, algo, p: job.add((algo, p.to_dict()), spent_usd=0.0),
                on_phase=lambda i, phase: job.extra.update(phase=phase),
                on_result=lambda i, algo, res: job.extra["results"].update({algo: res.to_dict()}),
                validated=True,
            )
        except Exception as e:
            finish_quietly(recorder, "failed", {"error": f"{type(e).__name__}: {e}", **summary(job)})
            raise
        if out.questions:
            job.extra["curve"] = list(out.questions[0].curve)
        finish_quietly(recorder, out.status, summary(job))
        job.finish(out.status, notes=list(out.notes))

    return registry().start(job, work)


def summary(job: Job) -> dict[str, Any]:
    return {"results": dict(job.extra.get("results") or {}), "curve": list(job.extra.get("curve") or [])}


def live_results(job: Job) -> dict[str, dict]:
    """Per algorithm: the finished result dict, or a partial one built from the probes so far."""
    out: dict[str, dict] = {}
    for algo, probe in job.snapshot():
        out.setdefault(algo, {"algorithm": algo, "probes": [], "running": True})["probes"].append(probe)
    for algo, res in (job.extra.get("results") or {}).items():
        out[algo] = res
    return out


def probes_from_calls(records: list, algorithms: list[str]) -> dict[str, list[dict]]:
    """Probe dicts per algorithm rebuilt from stored calls (see :func:`tale_core.experiments.rebuild.search_probes`)."""
    return search_probes(records, algorithms)
