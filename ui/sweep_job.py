"""Start a budget sweep as a background job, and load a finished one back from the store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tale_core.analysis.elasticity import analyze
from tale_core.engine.runner import finish_quietly
from tale_core.experiments.sweep import SweepCell, SweepConfig, iter_sweep, plan_cells
from tale_core.providers.base import ChatModel

from . import services
from .jobs import Job, new_job_id, registry
from .state import MultiSink, spend_meter


def sweep_summary(cells: list[SweepCell], outcome: Any = None) -> dict:
    """What the experiment keeps as its summary: outcome numbers and the per-model elasticity reports."""
    summary: dict[str, Any] = {"reports": {spec: rep.to_dict() for spec, rep in analyze(cells).items()}}
    if outcome is not None:
        summary.update(
            {
                "status": outcome.status,
                "spent_usd": outcome.spent_usd,
                "errors": outcome.errors,
                "planned": outcome.planned,
                "done": len(outcome.cells),
                "notes": list(outcome.notes),
            }
        )
    return summary


def start_sweep(
    config: SweepConfig,
    models: Mapping[str, ChatModel],
    *,
    title: str,
    parent_id: str | None = None,
    validated: bool = False,
    resume: tuple[Any, list[SweepCell]] | None = None,
) -> Job:
    """Validate, record and run ``config`` in a worker thread; returns the job (id = experiment id).

    Call on the script thread (it reads the session's spend meter and the app's cache); the worker
    itself never touches Streamlit. ``validated=True``: the caller has just validated ``config``.
    ``resume=(recorder, cells already stored)`` runs only the missing cells into that experiment.
    """
    if not validated:
        config.validate()
    if resume is not None:
        recorder, prior = resume
    else:
        from tale_core.providers.limiter import call_settings_of

        recorded = {**config.to_dict(), "call_settings": call_settings_of(models)}
        recorder, prior = services.start_experiment("sweep", title, recorded, parent_id=parent_id), []
    skip = {c.key.id for c in prior}
    job_id = recorder.id if recorder is not None else new_job_id()
    job = Job(
        id=job_id,
        kind="sweep",
        title=title,
        config=config.to_dict(),
        total=len(plan_cells(config)),
        experiment_id=recorder.id if recorder is not None else None,
        items=list(prior),
    )
    sink = MultiSink([spend_meter(), recorder.sink if recorder is not None else None])
    cache = services.call_cache()

    def work(job: Job) -> None:
        gen = iter_sweep(config, models, cache=cache, sink=sink, cancel=job.cancel, skip=skip, validated=True)
        outcome = None
        try:
            while True:
                cell = next(gen)
                job.add(cell, spent_usd=cell.result.spent_usd, error=not cell.result.ok)
        except StopIteration as stop:
            outcome = stop.value
        except Exception as e:
            finish_quietly(recorder, "failed", {"error": f"{type(e).__name__}: {e}"})
            raise
        status = outcome.status if outcome is not None else "failed"
        finish_quietly(recorder, status, sweep_summary(job.snapshot(), outcome))
        job.finish(status, outcome=outcome, notes=list(outcome.notes) if outcome else [])

    return registry().start(job, work)
