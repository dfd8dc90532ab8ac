"""A budget estimator learned from stored budget searches: question features -> log2(optimal budget).

Trained on the questions of a search experiment that found an optimal budget (TALE-PT's searched
optimum), it predicts a budget for a new question with no model call at all. The regressor is a ridge
regression (scikit-learn ``RidgeCV``: its penalty chosen by leave-one-out) over
:func:`tale_core.estimators.features.feature_union`, and its error is reported by k-fold cross-validation
on the training questions.

The saved artifact is a small JSON document, not a pickle: it names the model and the search experiment
it was trained on, holds the training questions and their optimal budgets and the settings, and the
regressor is refitted from it on load (milliseconds for hundreds of questions, deterministic, and safe to
load from anywhere because nothing in it is executed).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline

from tale_core.errors import TaleError
from tale_core.estimators.base import BudgetEstimate
from tale_core.estimators.features import feature_union
from tale_core.estimators.saved import ARTIFACT_FORMAT

ARTIFACT_VERSION = 1
ALPHAS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
MIN_TRAINING = 4
MIN_BUDGET, MAX_BUDGET = 1, 100_000


class EstimatorError(TaleError):
    """An estimator that cannot be trained, saved or loaded (with a message for people)."""


@dataclass(frozen=True)
class TrainingExample:
    question_id: str
    question: str
    budget: int


@dataclass
class CrossValidation:
    """k-fold cross-validated error of the estimator on its own training questions (log2 budget)."""

    folds: int
    mean_abs_log2_error: float
    within_2x: float
    predictions: list[int] = field(default_factory=list)


def _pipeline() -> Pipeline:
    return Pipeline([("features", feature_union()), ("ridge", RidgeCV(alphas=ALPHAS))])


def _clamp(budget: float) -> int:
    return int(min(MAX_BUDGET, max(MIN_BUDGET, round(budget))))


class LearnedEstimator:
    """Predicts ``2 ** ridge(features(question))``; see the module docstring."""

    calls_model = False

    def __init__(
        self,
        examples: Sequence[TrainingExample],
        *,
        model_spec: str,
        search_experiment_id: str | None,
        algorithm: str = "",
        created_at: float | None = None,
        cv: CrossValidation | None = None,
        name: str | None = None,
    ) -> None:
        examples = list(examples)
        if len(examples) < MIN_TRAINING:
            raise EstimatorError(
                f"A learned estimator needs at least {MIN_TRAINING} searched questions with an "
                f"optimal budget; got {len(examples)}."
            )
        if any(e.budget < MIN_BUDGET for e in examples):
            raise EstimatorError("Every training budget must be at least 1 token.")
        self.examples = examples
        self.model_spec = model_spec
        self.search_experiment_id = search_experiment_id
        self.algorithm = algorithm
        self.created_at = time.time() if created_at is None else created_at
        self.name = name or default_name(model_spec, search_experiment_id)
        self.key = f"learned:{self.name}"
        self.label = f"Learned from {len(examples)} searched questions ({model_spec})"
        self._fit = _pipeline().fit([e.question for e in examples], np.log2([e.budget for e in examples]))
        self.cv = cv if cv is not None else self._cross_validate()

    def _cross_validate(self) -> CrossValidation:
        n = len(self.examples)
        folds = min(5, n)
        x = [e.question for e in self.examples]
        y = np.log2([e.budget for e in self.examples])
        pred = cross_val_predict(_pipeline(), x, y, cv=KFold(n_splits=folds, shuffle=True, random_state=0))
        err = np.abs(pred - y)
        return CrossValidation(
            folds=folds,
            mean_abs_log2_error=float(err.mean()),
            within_2x=float((err <= 1.0).mean()),
            predictions=[_clamp(2**p) for p in pred],
        )

    def predict(self, questions: Sequence[str]) -> list[int]:
        return [_clamp(2 ** float(p)) for p in self._fit.predict(list(questions))]

    def estimate(self, question: str, *, question_id: str | None = None) -> BudgetEstimate:
        return BudgetEstimate(self.predict([question])[0], note="learned estimate (no model call)")

    # --- the artifact -------------------------------------------------------------------------------
    def to_artifact(self) -> dict[str, Any]:
        return {
            "format": ARTIFACT_FORMAT,
            "version": ARTIFACT_VERSION,
            "name": self.name,
            "model": self.model_spec,
            "search_experiment_id": self.search_experiment_id,
            "algorithm": self.algorithm,
            "created_at": self.created_at,
            "sklearn_version": sklearn.__version__,
            "regressor": {
                "kind": "RidgeCV on log2(budget)",
                "alphas": list(ALPHAS),
                "alpha": float(self._fit.named_steps["ridge"].alpha_),
            },
            "cross_validation": {k: v for k, v in asdict(self.cv).items() if k != "predictions"},
            "training": [asdict(e) for e in self.examples],
        }

    @classmethod
    def from_artifact(cls, data: Any) -> LearnedEstimator:
        if not isinstance(data, dict) or data.get("format") != ARTIFACT_FORMAT:
            raise EstimatorError("Not a learned-estimator file (its 'format' is not tale-learned-estimator).")
        if data.get("version") != ARTIFACT_VERSION:
            raise EstimatorError(
                f"Learned-estimator version {data.get('version')!r} is not supported "
                f"(this app reads version {ARTIFACT_VERSION})."
            )
        try:
            examples = [
                TrainingExample(str(e["question_id"]), str(e["question"]), int(e["budget"])) for e in data["training"]
            ]
            cvd = data.get("cross_validation") or None
            cv = (
                CrossValidation(int(cvd["folds"]), float(cvd["mean_abs_log2_error"]), float(cvd["within_2x"]))
                if cvd
                else None
            )
            return cls(
                examples,
                model_spec=str(data["model"]),
                search_experiment_id=data.get("search_experiment_id"),
                algorithm=str(data.get("algorithm") or ""),
                created_at=float(data["created_at"]),
                cv=cv,
                name=str(data["name"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise EstimatorError(f"Unreadable learned-estimator file: {type(e).__name__}: {e}") from None

    def save(self, directory: str | Path) -> Path:
        d = Path(directory)
        try:
            d.mkdir(parents=True, exist_ok=True)
            path = d / f"{self.name}.json"
            path.write_text(json.dumps(self.to_artifact(), indent=1, ensure_ascii=False), encoding="utf-8")
        except OSError as e:
            raise EstimatorError(f"Cannot save the estimator: {e.strerror or e}") from None
        return path

    @classmethod
    def load(cls, path: str | Path) -> LearnedEstimator:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            raise EstimatorError(f"Cannot read the estimator file: {e.strerror or e}") from None
        except json.JSONDecodeError:
            raise EstimatorError("The estimator file is not valid JSON.") from None
        return cls.from_artifact(data)


def default_name(model_spec: str, search_experiment_id: str | None) -> str:
    """A file-safe name that says which model and search it came from, e.g. ``local_qwen__ab12cd34__v1``."""
    safe = re.sub(r"[^A-Za-z0-9.-]+", "_", model_spec).strip("_") or "model"
    exp = re.sub(r"[^A-Za-z0-9]+", "", search_experiment_id or "")[:8] or "adhoc"
    return f"{safe}__{exp}__v{ARTIFACT_VERSION}"


def list_saved(directory: str | Path) -> list[LearnedEstimator]:
    """Every readable learned estimator in ``directory`` (unreadable files are skipped)."""
    out: list[LearnedEstimator] = []
    d = Path(directory)
    if not d.is_dir():
        return out
    for p in sorted(d.glob("*.json")):
        try:
            out.append(LearnedEstimator.load(p))
        except EstimatorError:
            continue
    return out


def for_model(directory: str | Path, model_spec: str) -> LearnedEstimator | None:
    """The newest saved estimator trained for ``model_spec``, or None."""
    mine = [e for e in list_saved(directory) if e.model_spec == model_spec]
    return max(mine, key=lambda e: e.created_at) if mine else None


def log2_error(predicted: int, optimal: int) -> float:
    return abs(math.log2(max(1, predicted)) - math.log2(max(1, optimal)))
