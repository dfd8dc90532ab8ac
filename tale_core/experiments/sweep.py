"""Budget sweeps: one question, several models, many budgets, results streamed as each cell completes.

A sweep is a grid of cells ``(model spec, budget, repeat)``; ``budget=None`` is the vanilla CoT
reference. Order (:func:`plan_cells`): per model, per repeat, the reference first and then the budgets
**descending**, so a live chart draws the cheap right-hand side first and the elastic region (small
budgets) last. Repeat ``r`` uses seed ``seed + r`` so repeats are separate calls (and cache entries).

Execution (:func:`iter_sweep` / :func:`run_sweep`): :func:`plan_sweep` makes the cells and the engine's
one grid runner (:mod:`tale_core.engine.runner`) runs them: per model as many at a time as
``model.max_concurrency`` (local models: 1, i.e. sequential); cancel and the spend cap stop new calls at
once, calls already in flight finish and are reported. A failed call is an error cell; the sweep goes on.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tale_core.engine.budgets import MAX_BUDGET, BudgetError, normalize_budgets, parse_budget_list
from tale_core.engine.calls import _cache_allowed
from tale_core.engine.method_registry import sweepable_methods
from tale_core.engine.methods import MethodResult, MethodSpec, build_messages, params_for, run_method
from tale_core.engine.prompts import format_choices
from tale_core.engine.runner import Cell, Runner, RunOutcome, model_concurrency
from tale_core.errors import TaleError, UnknownModel
from tale_core.experiments.common import error_result
from tale_core.protocols import CallCache, CallSink
from tale_core.providers.base import ChatModel
from tale_core.types import GenParams, cache_key

#: the methods a sweep can vary: those whose argument is a number (budget, constrained, thinking, forced, ...)
SWEEP_METHODS = tuple(m.key for m in sweepable_methods())
MAX_REPEATS = 50
#: output-token guesses for the cost preview (the paper's vanilla CoT averages ~460 output tokens)
REFERENCE_OUTPUT_GUESS = 450
MIN_BUDGET_OUTPUT_GUESS = 80


class SweepError(TaleError):
    """A sweep configuration we cannot run."""


@dataclass(frozen=True)
class SweepConfig:
    """What to sweep. ``method`` is how the budget is given: ``budget`` ("use less than N tokens" in the
    prompt), ``constrained`` (N words) or ``thinking`` (the provider's native thinking budget)."""

    question: str
    gold: str | None
    models: tuple[str, ...]
    budgets: tuple[int, ...]
    repeats: int = 1
    include_reference: bool = True
    choices: tuple[str, ...] | None = None
    temperature: float = 0.0
    seed: int | None = 0
    max_tokens: int = 1024
    spend_cap_usd: float | None = None
    use_cache: bool | None = None
    method: str = "budget"
    question_id: str | None = None

    def __post_init__(self) -> None:
        # accept lists and unsorted budgets from callers; anything unusable is reported by validate()
        if isinstance(self.models, (list, str)):
            object.__setattr__(self, "models", (self.models,) if isinstance(self.models, str) else tuple(self.models))
        if isinstance(self.choices, list):
            object.__setattr__(self, "choices", tuple(self.choices))
        try:
            object.__setattr__(self, "budgets", tuple(normalize_budgets(self.budgets)))
        except (BudgetError, TypeError):
            pass

    def validate(self) -> SweepConfig:
        """Raise :class:`SweepError` (a TaleError) with a user message when something is off; else self."""
        if not isinstance(self.question, str) or not self.question.strip():
            raise SweepError("The question is empty: type a question first.")
        if not self.models:
            raise SweepError("Pick at least one model.")
        from tale_core.providers import parse_spec

        for s in self.models:
            try:
                parse_spec(s)
            except UnknownModel as e:
                raise SweepError(str(e)) from None
        if len(set(self.models)) != len(self.models):
            raise SweepError("A model is listed twice.")
        try:
            budgets = normalize_budgets(self.budgets)
        except BudgetError as e:
            raise SweepError(str(e)) from None
        if isinstance(self.repeats, bool) or not isinstance(self.repeats, int) or not 1 <= self.repeats <= MAX_REPEATS:
            raise SweepError(f"Repeats must be a whole number from 1 to {MAX_REPEATS}, not {self.repeats!r}.")
        if (
            isinstance(self.temperature, bool)
            or not isinstance(self.temperature, (int, float))
            or not 0 <= self.temperature <= 2
        ):
            raise SweepError(f"Temperature must be between 0 and 2, not {self.temperature!r}.")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise SweepError(f"The seed must be a whole number or empty, not {self.seed!r}.")
        if (
            isinstance(self.max_tokens, bool)
            or not isinstance(self.max_tokens, int)
            or not 1 <= self.max_tokens <= 2 * MAX_BUDGET
        ):
            raise SweepError(
                f"Max tokens must be a whole number from 1 to {2 * MAX_BUDGET:,}, not {self.max_tokens!r}."
            )
        if self.spend_cap_usd is not None:
            cap = self.spend_cap_usd
            if isinstance(cap, bool) or not isinstance(cap, (int, float)) or not math.isfinite(cap) or cap <= 0:
                raise SweepError(f"The spend cap must be an amount of dollars above 0, or empty; not {cap!r}.")
        if self.use_cache not in (None, True, False):
            raise SweepError("use_cache must be true, false or empty.")
        if self.method not in SWEEP_METHODS:
            raise SweepError(f"Sweep method must be one of {', '.join(SWEEP_METHODS)}, not {self.method!r}.")
        if self.method == "thinking" and budgets[-1] >= self.max_tokens:
            raise SweepError(
                f"Thinking budgets must stay below max tokens ({self.max_tokens}); raise max tokens "
                f"above {budgets[-1]}."
            )
        if self.choices is not None:
            if (
                not isinstance(self.choices, tuple)
                or not 2 <= len(self.choices) <= 26
                or not all(isinstance(c, str) and c.strip() for c in self.choices)
            ):
                raise SweepError("Multiple choice needs 2 to 26 non-empty choices.")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["models"], d["budgets"] = list(self.models), list(self.budgets)
        d["choices"] = list(self.choices) if self.choices is not None else None
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SweepConfig:
        """Build from a dict (JSON, a link, a form); budgets are normalised; unknown keys are ignored."""
        if not isinstance(d, Mapping):
            raise SweepError("A sweep configuration must be an object.")
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        kw.setdefault("question", "")
        kw.setdefault("gold", None)
        try:
            b = kw.get("budgets") or ()
            if isinstance(b, str):
                kw["budgets"] = tuple(parse_budget_list(b))
            else:
                kw["budgets"] = tuple(normalize_budgets([b] if isinstance(b, int) else b)) if b else ()
            if kw.get("choices") is not None:
                kw["choices"] = tuple(kw["choices"])
            return cls(**kw)
        except BudgetError as e:
            raise SweepError(str(e)) from None
        except TypeError as e:
            raise SweepError(f"Unreadable sweep configuration: {e}") from None

    def cell_method(self, budget: int | None) -> MethodSpec:
        """The method of one cell: vanilla CoT for the reference, else ``method:budget``."""
        return MethodSpec("vanilla") if budget is None else MethodSpec(self.method, budget)

    def cell_params(self, repeat: int) -> GenParams:
        seed = None if self.seed is None else self.seed + repeat
        return GenParams(max_tokens=self.max_tokens, temperature=float(self.temperature), seed=seed)


@dataclass(frozen=True)
class CellKey:
    spec: str
    budget: int | None  # None = vanilla CoT reference
    repeat: int

    @property
    def is_reference(self) -> bool:
        return self.budget is None

    @property
    def id(self) -> str:
        """Stable text id, e.g. ``fake/elastic|50|0`` or ``fake/elastic|ref|0`` (used for resume)."""
        return f"{self.spec}|{'ref' if self.budget is None else self.budget}|{self.repeat}"

    @classmethod
    def from_id(cls, text: str) -> CellKey:
        spec, b, r = text.rsplit("|", 2)
        return cls(spec, None if b == "ref" else int(b), int(r))


@dataclass
class SweepCell:
    key: CellKey
    result: MethodResult

    def to_row(self) -> dict[str, Any]:
        r = self.result
        return {
            "cell": self.key.id,
            "spec": self.key.spec,
            "budget": self.key.budget,
            "repeat": self.key.repeat,
            "is_reference": self.key.is_reference,
            "method": r.method.label,
            "output_tokens": r.output_tokens,
            "input_tokens": r.input_tokens,
            "reasoning_tokens": r.reasoning_tokens,
            "correct": r.correct,
            "status": r.status,
            "cost_usd": r.cost_usd,
            "spent_usd": r.spent_usd,
            "latency_s": r.latency_s,
            "extracted": r.extracted,
            "text": r.text,
            "finish_reason": r.finish_reason,
            "error": r.error_message or None,
            "error_kind": (r.error or {}).get("kind"),
            "cache_hit": r.cache_hit,
        }


@dataclass
class SweepOutcome:
    cells: list[SweepCell]
    status: str  # the runner's: "done" | "cancelled" | "spend_cap" | "failed" (every cell failed)
    spent_usd: float
    errors: int
    planned: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "spent_usd": self.spent_usd,
            "errors": self.errors,
            "planned": self.planned,
            "skipped": self.skipped,
            "done": len(self.cells),
            "notes": list(self.notes),
            "cells": [c.to_row() for c in self.cells],
        }


@dataclass
class CostPreview:
    total_usd: float | None
    per_model: dict[str, dict[str, Any]]
    input_tokens_estimate: int
    output_tokens_estimate: int
    is_estimate: bool = True
    notes: list[str] = field(default_factory=list)
    worst_case_usd: float | None = None
    calls: int = 0
    cached_calls: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def plan_cells(config: SweepConfig) -> list[CellKey]:
    """Every cell in run order: per model, per repeat, the reference first, then budgets descending."""
    out: list[CellKey] = []
    for spec in config.models:
        for r in range(config.repeats):
            if config.include_reference:
                out.append(CellKey(spec, None, r))
            out.extend(CellKey(spec, b, r) for b in sorted(config.budgets, reverse=True))
    return out


def _prompt_question(config: SweepConfig) -> str:
    return format_choices(config.question, config.choices) if config.choices else config.question


def _count(model: ChatModel, text: str, memo: dict) -> tuple[int, bool]:
    if text not in memo:
        try:
            memo[text] = model.count_tokens(text)
        except Exception:  # tokenizer unavailable: a rough 4 characters per token
            memo[text] = (len(text) // 4 + 1, False)
    return memo[text]


def expected_output_tokens(budget: int | None, max_tokens: int) -> int:
    """The preview's output guess for one cell (the truth comes from usage after the call)."""
    guess = REFERENCE_OUTPUT_GUESS if budget is None else max(budget, MIN_BUDGET_OUTPUT_GUESS)
    return min(max_tokens, guess)


def preview_cost(
    config: SweepConfig,
    models: Mapping[str, ChatModel],
    *,
    cache=None,
    skip: Iterable[str] | None = None,
    price_overrides: Any = None,
    validated: bool = False,
) -> CostPreview:
    """Estimated cost before running: input tokens counted, output tokens guessed, priced per model.

    Cells already in ``cache`` (when the sweep would use it) or in ``skip`` cost nothing.
    ``worst_case_usd`` assumes every call writes ``max_tokens``. Totals are None when a price is unknown.
    ``validated=True`` skips the check for a config the caller has just validated.
    """
    if not validated:
        config.validate()
    from tale_core.accounting.pricing import price_for

    skip = set(skip or ())
    q = _prompt_question(config)
    mc = bool(config.choices)
    per_model: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    total_in = total_out = n_calls = n_cached = 0
    total, worst = 0.0, 0.0
    unpriced: list[str] = []
    for spec in config.models:
        model = _model_for(models, spec)
        price = price_for(model.provider, model.model, price_overrides)
        memo: dict[str, tuple[int, bool]] = {}
        row: dict[str, Any] = {
            "calls": 0,
            "cached_calls": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "exact_tokens": True,
            "usd": None,
            "max_usd": None,
            "priced": price is not None,
            "price_source": f"{price.source} ({price.as_of})" if price else None,
        }
        max_out = 0
        for key in plan_cells(config):
            if key.spec != spec or key.id in skip:
                continue
            method = config.cell_method(key.budget)
            msgs = build_messages(method, q, multiple_choice=mc)
            params = params_for(method, config.cell_params(key.repeat))
            allowed = _cache_allowed(config.use_cache, params, model)
            if (
                cache is not None
                and allowed
                and cache.get(cache_key(model.provider, model.model, msgs, params, model.runtime())) is not None
            ):
                row["cached_calls"] += 1
                continue
            n_in, exact = 0, True
            for m in msgs:
                c, ex = _count(model, m.content, memo)
                n_in, exact = n_in + c, exact and ex
            row["calls"] += 1
            row["input_tokens"] += n_in
            row["output_tokens"] += expected_output_tokens(key.budget, config.max_tokens)
            row["exact_tokens"] = row["exact_tokens"] and exact
            max_out += config.max_tokens
        if price is not None:
            row["usd"] = price.cost(row["input_tokens"], row["output_tokens"])
            row["max_usd"] = price.cost(row["input_tokens"], max_out)
            total += row["usd"]
            worst += row["max_usd"]
        else:
            unpriced.append(spec)
        per_model[spec] = row
        total_in += row["input_tokens"]
        total_out += row["output_tokens"]
        n_calls += row["calls"]
        n_cached += row["cached_calls"]
    notes.append(
        f"Output tokens are a guess ({REFERENCE_OUTPUT_GUESS} for vanilla CoT, the budget but at least "
        f"{MIN_BUDGET_OUTPUT_GUESS} otherwise, capped at max tokens); models overshoot small budgets."
    )
    if not all(r["exact_tokens"] for r in per_model.values()):
        notes.append("Input tokens of some models are estimated with a generic tokenizer.")
    if unpriced:
        notes.append(
            f"No known price for {', '.join(unpriced)}: set its price under 'Prices per model' in the sidebar "
            "to estimate its cost."
        )
    if n_cached:
        notes.append(f"{n_cached} call(s) are already in the cache and cost nothing.")
    return CostPreview(
        total_usd=None if unpriced else total,
        per_model=per_model,
        input_tokens_estimate=total_in,
        output_tokens_estimate=total_out,
        notes=notes,
        worst_case_usd=None if unpriced else worst,
        calls=n_calls,
        cached_calls=n_cached,
    )


def _model_for(models: Mapping[str, ChatModel], spec: str) -> ChatModel:
    m = models.get(spec)
    if m is None:
        raise SweepError(f"No model object for {spec!r}; resolve every model of the sweep first.")
    return m


def run_cell(
    config: SweepConfig,
    model: ChatModel,
    key: CellKey,
    *,
    cache=None,
    sink=None,
    price_overrides: Any = None,
    on_text=None,
) -> SweepCell:
    """Run one cell (used by the sweep workers; also handy to rerun a single cell)."""
    result = run_method(
        model,
        config.cell_method(key.budget),
        config.question,
        gold=config.gold,
        choices=config.choices,
        params=config.cell_params(key.repeat),
        cache=cache,
        sink=sink,
        use_cache=config.use_cache,
        on_text=on_text,
        question_id=config.question_id,
        repeat=key.repeat,
        price_overrides=price_overrides,
        role="reference" if key.is_reference else "answer",
        extra={"cell": key.id},
    )
    return SweepCell(key, result)


def _internal_error_cell(config: SweepConfig, key: CellKey, err: BaseException) -> SweepCell:
    res = error_result(
        config.cell_method(key.budget),
        key.spec,
        err,
        gold=config.gold,
        question_id=config.question_id,
        repeat=key.repeat,
    )
    return SweepCell(key, res)


def plan_sweep(
    config: SweepConfig,
    models: Mapping[str, ChatModel],
    *,
    cache: CallCache | None = None,
    sink: CallSink | None = None,
    price_overrides: Any = None,
) -> list[Cell[SweepCell]]:
    """The sweep's cells for the runner, in plan order (the config is assumed valid)."""
    resolved = {s: _model_for(models, s) for s in config.models}

    def work(key: CellKey) -> Callable[[], SweepCell]:
        return lambda: run_cell(
            config, resolved[key.spec], key, cache=cache, sink=sink, price_overrides=price_overrides
        )

    return [Cell(k.id, k.spec, work(k), k) for k in plan_cells(config)]


def _sweep_runner(
    config: SweepConfig,
    models: Mapping[str, ChatModel],
    *,
    cache: CallCache | None,
    sink: CallSink | None,
    on_cell: Callable[[SweepCell], None] | None,
    cancel: threading.Event | None,
    skip: Iterable[str] | None,
    price_overrides: Any,
    validated: bool = False,
) -> Runner[SweepCell]:
    if not validated:
        config.validate()
    cells = plan_sweep(config, models, cache=cache, sink=sink, price_overrides=price_overrides)
    return Runner(
        cells,
        concurrency=model_concurrency(models),
        on_error=lambda cell, e: _internal_error_cell(config, cell.key, e),
        cancel=cancel,
        spend_cap_usd=config.spend_cap_usd,
        skip=skip,
        on_cell=(lambda fin: on_cell(fin.result)) if on_cell is not None else None,
        spent=lambda c: c.result.spent_usd,
        ok=lambda c: c.result.ok,
        name="sweep",
    )


def _sweep_outcome(config: SweepConfig, out: RunOutcome[SweepCell]) -> SweepOutcome:
    cells = [f.result for f in out.finished]
    notes = list(out.notes)
    unpriced = sorted({c.key.spec for c in cells if c.result.ok and c.result.cost_usd is None})
    if config.spend_cap_usd is not None and unpriced:
        notes.insert(0, f"No known price for {', '.join(unpriced)}: the spend cap cannot count them.")
    return SweepOutcome(
        cells=cells,
        status=out.status,
        spent_usd=out.spent_usd,
        errors=out.errors,
        planned=out.planned,
        skipped=out.skipped,
        notes=notes,
    )


def iter_sweep(
    config: SweepConfig,
    models: Mapping[str, ChatModel],
    *,
    cache: CallCache | None = None,
    sink: CallSink | None = None,
    on_cell: Callable[[SweepCell], None] | None = None,
    cancel: threading.Event | None = None,
    skip: Iterable[str] | None = None,
    price_overrides: Any = None,
    validated: bool = False,
) -> Generator[SweepCell, None, SweepOutcome]:
    """Yield each :class:`SweepCell` as soon as it completes (completion order, not plan order).

    The generator's return value (``StopIteration.value``, or ``yield from``) is the :class:`SweepOutcome`.
    ``on_cell`` is called one cell at a time, before the next cell starts. Closing the generator early
    cancels the rest. Raises :class:`SweepError` for a bad config (``validated=True`` skips the check for a
    config the caller has just validated).
    """
    runner = _sweep_runner(
        config,
        models,
        cache=cache,
        sink=sink,
        on_cell=on_cell,
        cancel=cancel,
        skip=skip,
        price_overrides=price_overrides,
        validated=validated,
    )
    return _iter(config, runner)


def _iter(config: SweepConfig, runner: Runner[SweepCell]) -> Generator[SweepCell, None, SweepOutcome]:
    gen = runner.iter()
    try:
        while True:
            yield next(gen).result
    except StopIteration as stop:
        return _sweep_outcome(config, stop.value)
    finally:
        gen.close()


def run_sweep(
    config: SweepConfig,
    models: Mapping[str, ChatModel],
    *,
    cache: CallCache | None = None,
    sink: CallSink | None = None,
    on_cell: Callable[[SweepCell], None] | None = None,
    cancel: threading.Event | None = None,
    skip: Iterable[str] | None = None,
    price_overrides: Any = None,
    validated: bool = False,
) -> SweepOutcome:
    """Run the whole sweep and return its :class:`SweepOutcome` (cells in completion order)."""
    runner = _sweep_runner(
        config,
        models,
        cache=cache,
        sink=sink,
        on_cell=on_cell,
        cancel=cancel,
        skip=skip,
        price_overrides=price_overrides,
        validated=validated,
    )
    return _sweep_outcome(config, runner.run())
