"""The experiment kinds: one typed configuration and one result per kind, and the registry pages read.

======================  =========================  ==============================  ===================
kind (stored)           config                     plan / run                      rebuilt from calls
======================  =========================  ==============================  ===================
``playground``          :class:`PlaygroundConfig`  ``plan_playground`` / ``run_playground``  ``playground_runs``
``sweep``               :class:`SweepConfig`       ``plan_sweep`` / ``run_sweep``  ``sweep_cells``
``search``              :class:`SearchConfig`      ``plan_search`` / ``run_search``  ``search_probes``
``benchmark``           :class:`BenchmarkConfig`   ``plan_benchmark`` / ``run_benchmark``  ``benchmark_rows``
======================  =========================  ==============================  ===================

Every planner runs on :mod:`tale_core.engine.runner`. :func:`config_of` reads the stored configuration
of an experiment of any kind (also those stored before the kinds existed: the stored form is unchanged) and
validates it once; :func:`rebuild` turns an experiment's stored calls back into the kind's live result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tale_core.engine.methods import MethodSpec
from tale_core.errors import TaleError
from tale_core.experiments import rebuild as _rebuild
from tale_core.experiments.playground import PlaygroundConfig
from tale_core.experiments.search_dataset import DatasetSearchConfig, records_by_question
from tale_core.experiments.search_plan import SearchConfig
from tale_core.experiments.sweep import SweepConfig, plan_cells
from tale_core.protocols import CallRecord
from tale_core.types import GenParams


class KindError(TaleError):
    """An experiment kind or configuration we cannot read."""


@dataclass(frozen=True)
class BenchmarkConfig:
    """A benchmark: questions of a dataset (by id) x methods x models (x repeats)."""

    dataset: Mapping[str, Any]  # where the questions come from: {"source": "samples"|"stored"|"path"|<CLI text>, ...}
    item_ids: tuple[str, ...]
    methods: tuple[MethodSpec, ...]
    models: tuple[str, ...]
    params: GenParams = field(default_factory=GenParams)
    spend_cap_usd: float | None = None
    repeats: int = 1

    def validate(self) -> BenchmarkConfig:
        if not self.item_ids:
            raise KindError("No questions selected.")
        if not self.methods:
            raise KindError("Pick at least one method.")
        if not self.models:
            raise KindError("Pick at least one model.")
        if isinstance(self.repeats, bool) or not isinstance(self.repeats, int) or not 1 <= self.repeats <= 50:
            raise KindError(f"Repeats must be a whole number from 1 to 50, not {self.repeats!r}.")
        return self

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "dataset": dict(self.dataset),
            "item_ids": list(self.item_ids),
            "methods": [m.to_str() for m in self.methods],
            "models": list(self.models),
            "params": self.params.to_dict(),
            "spend_cap_usd": self.spend_cap_usd,
        }
        if self.repeats != 1:
            d["repeats"] = self.repeats
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BenchmarkConfig:
        if not isinstance(d, Mapping):
            raise KindError("A benchmark configuration must be an object.")
        try:
            cap = d.get("spend_cap_usd")
            return cls(
                dataset=dict(d.get("dataset") or {}),
                item_ids=tuple(str(i) for i in d.get("item_ids") or []),
                methods=tuple(MethodSpec.parse(str(m)) for m in d.get("methods") or []),
                models=tuple(str(m) for m in d.get("models") or []),
                params=GenParams.from_dict(dict(d.get("params") or {})),
                spend_cap_usd=float(cap) if isinstance(cap, (int, float)) and not isinstance(cap, bool) else None,
                repeats=int(d.get("repeats", 1) if d.get("repeats") is not None else 1),
            )
        except (TypeError, ValueError) as e:
            raise KindError(f"Unreadable benchmark configuration: {e}") from None

    def plan_size(self) -> int:
        return len(self.item_ids) * len(self.methods) * len(self.models) * self.repeats


def _sweep_size(c: SweepConfig) -> int:
    return len(plan_cells(c))


@dataclass(frozen=True)
class Kind:
    """One experiment kind: its stored name, label, page, CLI command and how to read/rebuild it."""

    name: str
    label: str
    page: str
    cli: str | None
    from_dict: Callable[[Mapping[str, Any]], Any]
    plan_size: Callable[[Any], int]
    rebuild: Callable[[Any, Sequence[CallRecord]], Any]


KINDS: dict[str, Kind] = {
    "playground": Kind(
        "playground",
        "Playground",
        "pages/experiments.py",
        None,
        PlaygroundConfig.from_dict,
        PlaygroundConfig.plan_size,
        lambda c, recs: _rebuild.playground_runs(recs, c.models),
    ),
    "sweep": Kind(
        "sweep",
        "Sweep",
        "pages/sweep.py",
        "sweep",
        SweepConfig.from_dict,
        _sweep_size,
        lambda c, recs: _rebuild.sweep_cells(recs),
    ),
    "search": Kind(
        "search",
        "Budget search",
        "pages/search.py",
        "search",
        SearchConfig.from_dict,
        SearchConfig.plan_size,
        lambda c, recs: _rebuild.search_probes(recs, c.algorithms),
    ),
    "benchmark": Kind(
        "benchmark",
        "Benchmark",
        "pages/benchmark.py",
        "bench",
        BenchmarkConfig.from_dict,
        BenchmarkConfig.plan_size,
        lambda c, recs: _rebuild.benchmark_rows(recs, item_ids=c.item_ids, methods=[m.to_str() for m in c.methods]),
    ),
    "search-dataset": Kind(
        "search-dataset",
        "Dataset budget search",
        "pages/estimators.py",
        "search-dataset",
        DatasetSearchConfig.from_dict,
        DatasetSearchConfig.plan_size,
        lambda c, recs: records_by_question(recs),
    ),
}

#: CLI command names and older aliases -> stored kind
ALIASES = {
    "bench": "benchmark",
    "run": "playground",
    "methods": "playground",
    "compare": "playground",
    "search-budget": "search",
}


def kind(name: str) -> Kind:
    k = KINDS.get(ALIASES.get(name, name))
    if k is None:
        raise KindError(f"Unknown experiment kind {name!r}; the kinds are {', '.join(KINDS)}.")
    return k


def config_of(kind_name: str, stored: Mapping[str, Any] | None) -> Any:
    """The typed, validated configuration of a stored experiment (raises a TaleError with a message)."""
    return kind(kind_name).from_dict(dict(stored or {})).validate()


def rebuild(kind_name: str, stored: Mapping[str, Any] | None, records: Sequence[CallRecord]) -> Any:
    """The kind's live result rebuilt from its stored calls (the config is read but not validated)."""
    k = kind(kind_name)
    return k.rebuild(k.from_dict(dict(stored or {})), records)


__all__ = ["ALIASES", "KINDS", "BenchmarkConfig", "Kind", "KindError", "config_of", "kind", "rebuild"]
