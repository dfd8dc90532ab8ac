"""The budget of the "TALE (learned budget)" method: the newest learned estimator saved for the model.

Estimators are read from :func:`~tale_core.estimators.learned.estimators_dir` and refitted once per file
version (path and modification time), so answering many questions costs one fit.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from tale_core.engine.method_registry import MethodError
from tale_core.estimators.learned import LearnedEstimator
from tale_core.estimators.saved import artifacts


@lru_cache(maxsize=16)
def _load(path: Path, mtime: float) -> LearnedEstimator:
    return LearnedEstimator.load(path)


def newest_for(spec: str, directory: Path | None = None) -> LearnedEstimator | None:
    best: LearnedEstimator | None = None
    for path, mtime in artifacts(directory):
        try:
            est = _load(path, mtime)
        except Exception:  # an unreadable file is skipped, like list_saved does
            continue
        if est.model_spec == spec and (best is None or est.created_at > best.created_at):
            best = est
    return best


def learned_budget(model: Any, question: str) -> tuple[int | None, dict[str, Any]]:
    """(budget, estimate info) for ``question`` from the newest estimator learned for ``model``."""
    est = newest_for(model.spec)
    if est is None:
        raise MethodError(
            f"No learned budget estimator for {model.spec}: train one on the Budget estimators page or with "
            "`python -m tale_core estimator train --search ID`."
        )
    budget = est.predict([question])[0]
    return budget, {"raw": None, "parsed": budget, "status": "ok", "fallback": None, "source": est.name}
