"""Run playground methods and record them as one playground experiment: the one path the Playground page,
the Learn page and a rerun share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tale_core.engine.methods import MethodResult, MethodSpec
from tale_core.experiments.playground import PlaygroundConfig, run_one, run_playground
from tale_core.providers.base import ChatModel, OnText

from . import services


@dataclass
class PlaygroundRecording:
    """An open playground experiment: run cells with :meth:`one` (streaming) or :meth:`all` (runner)."""

    config: PlaygroundConfig
    recorder: Any
    sink: Any
    cache: Any
    runs: dict[str, list[MethodResult]] = field(default_factory=dict)
    experiment_id: str | None = None

    def one(self, model: ChatModel, method: MethodSpec, on_text: OnText | None = None) -> MethodResult:
        """One (model, method) cell; its result joins the experiment's summary."""
        result = run_one(self.config, model, method, cache=self.cache, sink=self.sink, on_text=on_text)
        self.runs.setdefault(model.spec, []).append(result)
        return result

    def all(self, models: Mapping[str, ChatModel]) -> dict[str, list[MethodResult]]:
        """Every cell through the engine's runner (models side by side, no streaming)."""
        out = run_playground(self.config, models, cache=self.cache, sink=self.sink)
        for spec, results in out.runs.items():
            self.runs.setdefault(spec, []).extend(results)
        return out.runs


@contextmanager
def recording(config: PlaygroundConfig, title: str, *, parent_id: str | None = None) -> Iterator[PlaygroundRecording]:
    """Open the experiment; on exit close it ``done`` (or ``cancelled`` when the script run was interrupted,
    e.g. by a click during streaming) with the summary of what ran; ``.experiment_id`` is then set."""
    recorder = services.start_experiment("playground", title, config.to_dict(), parent_id=parent_id)
    rec = PlaygroundRecording(
        config, recorder, services.session_sink(recorder.sink if recorder else None), services.call_cache()
    )
    finished = False
    try:
        yield rec
        finished = True
    finally:
        rec.experiment_id = services.finish_experiment(recorder, rec.runs, "done" if finished else "cancelled")
