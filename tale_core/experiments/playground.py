"""The playground: one question, several methods side by side on one or more models, as a runner planner.

Each (model, method) is one cell; cells of one model run up to its ``max_concurrency`` at a time. A page that
streams each method into its own card calls :func:`run_one` per card instead (same calls, same records).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tale_core.engine.methods import MethodResult, MethodSpec, run_method
from tale_core.engine.prompts import PAPER, check_style
from tale_core.engine.runner import CELL_KEY, Cell, Runner, model_concurrency
from tale_core.errors import TaleError
from tale_core.experiments.common import error_result
from tale_core.protocols import CallCache, CallSink
from tale_core.providers.base import ChatModel, OnText
from tale_core.types import GenParams


class PlaygroundError(TaleError):
    """A playground configuration we cannot run."""


@dataclass(frozen=True)
class PlaygroundConfig:
    question: str
    methods: tuple[MethodSpec, ...]
    models: tuple[str, ...]
    gold: str | None = None
    choices: tuple[str, ...] | None = None
    params: GenParams = field(default_factory=GenParams)
    use_cache: bool | None = None
    source: str | None = None  # e.g. "learn" for the Learn page's worked example
    prompt_style: str = PAPER  # the templates every call uses (tale_core.engine.prompts.PROMPT_STYLES)

    def validate(self) -> PlaygroundConfig:
        if not isinstance(self.question, str) or not self.question.strip():
            raise PlaygroundError("The question is empty: type a question first.")
        if not self.methods:
            raise PlaygroundError("Pick at least one method.")
        if not self.models:
            raise PlaygroundError("This experiment names no model.")
        check_style(self.prompt_style)
        return self

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "question": self.question,
            "gold": self.gold,
            "choices": list(self.choices) if self.choices else None,
            "models": list(self.models),
            "methods": [m.to_str() for m in self.methods],
            "params": self.params.to_dict(),
            "prompt_style": self.prompt_style,
        }
        if self.source:
            d["source"] = self.source
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PlaygroundConfig:
        if not isinstance(d, Mapping):
            raise PlaygroundError("A playground configuration must be an object.")
        try:
            return cls(
                question=str(d.get("question") or ""),
                methods=tuple(MethodSpec.parse(str(m)) for m in d.get("methods") or []),
                models=tuple(str(m) for m in d.get("models") or []),
                gold=None if d.get("gold") in (None, "") else str(d.get("gold")),
                choices=tuple(d["choices"]) if d.get("choices") else None,
                # the Learn page stored no params: it ran with these
                params=GenParams.from_dict(
                    dict(d.get("params") or {"max_tokens": 1024, "temperature": 0.0, "seed": 0})
                ),
                source=d.get("source") if isinstance(d.get("source"), str) else None,
                prompt_style=str(d.get("prompt_style") or PAPER),  # runs stored before styles used the paper's
            )
        except (TypeError, ValueError) as e:
            raise PlaygroundError(f"Unreadable playground configuration: {e}") from None

    def plan_size(self) -> int:
        return len(self.models) * len(self.methods)


def playground_cell_id(spec: str, method: MethodSpec) -> str:
    return f"{spec}|{method.to_str()}"


def run_one(
    config: PlaygroundConfig,
    model: ChatModel,
    method: MethodSpec,
    *,
    cache: CallCache | None = None,
    sink: CallSink | None = None,
    on_text: OnText | None = None,
    price_overrides: Any = None,
) -> MethodResult:
    """One cell of the playground: ``method`` on ``model`` (what a streaming card calls)."""
    return run_method(
        model,
        method,
        config.question,
        gold=config.gold,
        choices=config.choices,
        params=config.params,
        cache=cache,
        sink=sink,
        use_cache=config.use_cache,
        on_text=on_text,
        price_overrides=price_overrides,
        extra={CELL_KEY: playground_cell_id(model.spec, method)},
        prompt_style=config.prompt_style,
    )


def plan_playground(config: PlaygroundConfig, models: Mapping[str, ChatModel], **kw: Any) -> list[Cell[MethodResult]]:
    """One cell per (model, method), models in order, methods in order (``kw`` as for :func:`run_one`)."""

    def work(spec: str, m: MethodSpec) -> Callable[[], MethodResult]:
        return lambda: run_one(config, models[spec], m, **kw)

    return [
        Cell(playground_cell_id(spec, m), spec, work(spec, m), (i, j))
        for i, spec in enumerate(config.models)
        if spec in models
        for j, m in enumerate(config.methods)
    ]


@dataclass
class PlaygroundOutcome:
    runs: dict[str, list[MethodResult]]  # per model, in method order
    status: str
    notes: list[str] = field(default_factory=list)


def run_playground(
    config: PlaygroundConfig,
    models: Mapping[str, ChatModel],
    *,
    cache: CallCache | None = None,
    sink: CallSink | None = None,
    cancel: threading.Event | None = None,
    price_overrides: Any = None,
    on_result: Callable[[MethodResult], None] | None = None,
) -> PlaygroundOutcome:
    """Run every method on every model through the runner; results per model in method order."""
    config.validate()
    cells = plan_playground(config, models, cache=cache, sink=sink, price_overrides=price_overrides)

    def on_error(cell: Cell[MethodResult], e: BaseException) -> MethodResult:
        i, j = cell.key
        return error_result(config.methods[j], cell.spec, e, gold=config.gold)

    runner: Runner[MethodResult] = Runner(
        cells,
        concurrency=model_concurrency(models),
        on_error=on_error,
        cancel=cancel,
        on_cell=(lambda fin: on_result(fin.result)) if on_result is not None else None,
        name="playground",
    )
    out = runner.run()
    runs: dict[str, list[MethodResult]] = {s: [] for s in config.models if s in models}
    for fin in sorted(out.finished, key=lambda f: f.cell.key):
        runs[fin.cell.spec].append(fin.result)
    return PlaygroundOutcome(runs, out.status, list(out.notes))


__all__ = [
    "PlaygroundConfig",
    "PlaygroundError",
    "PlaygroundOutcome",
    "plan_playground",
    "run_one",
    "run_playground",
]
