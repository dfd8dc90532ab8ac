"""Run the budget searches (the paper's halving and our bracketing search) as one background job."""

from __future__ import annotations

from typing import Any

from tale_core.engine.budgets import log_grid
from tale_core.engine.methods import MethodSpec, run_method
from tale_core.experiments.search import bracket_search, paper_search
from tale_core.providers.base import ChatModel
from tale_core.types import GenParams

from . import services
from .jobs import Job, new_job_id, registry
from .state import MultiSink, spend_meter

ALGORITHMS = {
    "paper": "The paper's search (halving)",
    "bracket": "Bracketing search (ours)",
}
CURVE_POINTS = 6


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
    config = {
        "question": question,
        "gold": gold,
        "model": model.spec,
        "algorithms": list(algorithms),
        "params": params.to_dict(),
        "sample_curve": sample_curve,
        "max_calls": max_calls,
        "choices": list(choices) if choices else None,
    }
    recorder = services.start_experiment("search", title, config, parent_id=parent_id)
    job = Job(
        id=recorder.id if recorder is not None else new_job_id(),
        kind="search",
        title=title,
        config=config,
        total=len(algorithms),
        experiment_id=recorder.id if recorder is not None else None,
    )
    job.extra.update(results={}, curve=[], phase="reference")
    sink = MultiSink([spend_meter(), recorder.sink if recorder is not None else None])
    common = dict(params=params, cache=services.call_cache(), sink=sink, choices=choices)

    def work(job: Job) -> None:
        try:
            ref = run_method(
                model,
                MethodSpec("vanilla"),
                question,
                gold=gold,
                role="reference",
                extra={"search": "shared", "step": 0},
                **common,
            )
            for algo in algorithms:
                if job.cancel.is_set():
                    break
                job.extra["phase"] = algo
                fn = paper_search if algo == "paper" else bracket_search
                kw = {"max_calls": max_calls} if algo == "bracket" else {}
                result = fn(
                    model,
                    question,
                    gold,
                    reference=ref,
                    on_probe=lambda p, a=algo: job.add((a, p.to_dict()), spent_usd=0.0),
                    **common,
                    **kw,
                )
                job.extra["results"][algo] = result.to_dict()
            if sample_curve and not job.cancel.is_set() and ref.ok and ref.output_tokens >= 8:
                job.extra["phase"] = "curve"
                for b in sorted(log_grid(4, max(5, ref.output_tokens), CURVE_POINTS), reverse=True):
                    if job.cancel.is_set():
                        break
                    r = run_method(
                        model,
                        MethodSpec("budget", budget=b),
                        question,
                        gold=gold,
                        role="probe",
                        extra={"search": "curve"},
                        **common,
                    )
                    if r.ok:
                        job.extra["curve"].append({"budget": b, "output_tokens": r.output_tokens, "correct": r.correct})
            status = "cancelled" if job.cancel.is_set() else "done"
        except Exception as e:
            if recorder is not None:
                _finish(recorder, "failed", {"error": f"{type(e).__name__}: {e}", **summary(job)})
            raise
        if recorder is not None:
            _finish(recorder, status, summary(job))
        job.finish(status)

    return registry().start(job, work)


def summary(job: Job) -> dict[str, Any]:
    return {"results": dict(job.extra.get("results") or {}), "curve": list(job.extra.get("curve") or [])}


def _finish(recorder: Any, status: str, summary: dict) -> None:
    try:
        recorder.finish(status, summary)
    except Exception:
        pass


def live_results(job: Job) -> dict[str, dict]:
    """Per algorithm: the finished result dict, or a partial one built from the probes so far."""
    out: dict[str, dict] = {}
    for algo, probe in job.snapshot():
        out.setdefault(algo, {"algorithm": algo, "probes": [], "running": True})["probes"].append(probe)
    for algo, res in (job.extra.get("results") or {}).items():
        out[algo] = res
    return out


def probes_from_calls(records: list, algorithms: list[str]) -> dict[str, list[dict]]:
    """Probe dicts per algorithm rebuilt from stored calls (for runs whose summary kept no probes, e.g. the
    CLI's). Whether a probe was accepted is not stored with a call, so it is left unknown."""
    shared = [r for r in records if (r.extra or {}).get("search") == "shared"]
    out: dict[str, list[dict]] = {}
    for algo in algorithms:
        mine = [r for r in records if (r.extra or {}).get("search") == algo]
        calls = shared[:1] + sorted(mine, key=lambda r: int((r.extra or {}).get("step") or 0))
        probes = []
        for step, r in enumerate(calls):
            c = r.completion
            probes.append(
                {
                    "step": step,
                    "budget": None if r.role == "reference" else r.budget,
                    "output_tokens": (c.output_tokens or 0) if c else 0,
                    "correct": r.correct,
                    "status": "error" if r.error else ("correct" if r.correct else "wrong"),
                    "cost_usd": r.cost_usd,
                    "accepted": True,
                    "note": "",
                    "phase": "",
                    "extracted": r.extracted_answer,
                    "cache_hit": r.cache_hit,
                }
            )
        out[algo] = probes
    return out
