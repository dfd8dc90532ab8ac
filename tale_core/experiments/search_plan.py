"""Budget search over one or many questions, as a planner on the engine's runner.

Each question is one cell: a chain of probes (one shared vanilla CoT reference, then each algorithm of
:mod:`tale_core.experiments.search` in turn, then optionally a few points of the curve). Questions run side
by side up to the model's ``max_concurrency``; the probes of one question are sequential by nature. Cancel
and the spend cap stop new questions at once and a running chain between two algorithms.

Search calls carry ``extra["search"]`` (the algorithm, or ``shared`` for the reference) and ``step``, not a
cell id: many probes share a role within one question, and a rerun of a deterministic search replays from
the call cache anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tale_core.engine.budgets import log_grid
from tale_core.engine.methods import MethodResult, MethodSpec, run_method
from tale_core.engine.runner import Cell, Runner, model_concurrency
from tale_core.errors import TaleError, UnknownModel
from tale_core.experiments.search import ALGORITHMS, BRACKET, Probe, SearchResult
from tale_core.protocols import CallCache, CallSink
from tale_core.providers.base import ChatModel
from tale_core.types import GenParams

#: points of the optional token curve drawn beside the searches
CURVE_POINTS = 6
MAX_QUESTIONS = 1000


class SearchError(TaleError):
    """A search configuration we cannot run."""


@dataclass(frozen=True)
class SearchQuestion:
    question: str
    gold: str
    id: str | None = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SearchConfig:
    """What to search: the questions (each with its gold answer), one model, the algorithms."""

    questions: tuple[SearchQuestion, ...]
    model: str
    algorithms: tuple[str, ...] = tuple(ALGORITHMS)
    params: GenParams = field(default_factory=GenParams)
    max_calls: int = 8
    sample_curve: bool = False
    use_cache: bool | None = None
    spend_cap_usd: float | None = None

    def validate(self) -> SearchConfig:
        if not self.questions:
            raise SearchError("The question is empty: type a question first.")
        if len(self.questions) > MAX_QUESTIONS:
            raise SearchError(f"At most {MAX_QUESTIONS} questions per search.")
        for q in self.questions:
            if not isinstance(q.question, str) or not q.question.strip():
                raise SearchError("The question is empty: type a question first.")
            if not isinstance(q.gold, str) or not q.gold.strip():
                raise SearchError("The budget search needs the gold answer of every question.")
        from tale_core.providers import parse_spec

        try:
            parse_spec(self.model)
        except UnknownModel as e:
            raise SearchError(str(e)) from None
        bad = [a for a in self.algorithms if a not in ALGORITHMS]
        if bad or not self.algorithms:
            raise SearchError(f"Algorithms must be among {', '.join(ALGORITHMS)}, not {bad or 'none'}.")
        if isinstance(self.max_calls, bool) or not isinstance(self.max_calls, int) or self.max_calls < 2:
            raise SearchError("The call cap must be at least 2 (the reference and one probe).")
        return self

    @property
    def question(self) -> SearchQuestion:
        return self.questions[0]

    def to_dict(self) -> dict[str, Any]:
        """The stored form; a one-question search keeps the flat keys older experiments have."""
        d: dict[str, Any] = {
            "model": self.model,
            "algorithms": list(self.algorithms),
            "params": self.params.to_dict(),
            "sample_curve": self.sample_curve,
            "max_calls": self.max_calls,
        }
        if self.spend_cap_usd is not None:
            d["spend_cap_usd"] = self.spend_cap_usd
        if len(self.questions) == 1:
            q = self.questions[0]
            d.update(question=q.question, gold=q.gold, choices=list(q.choices) if q.choices else None)
            if q.id is not None:
                d["question_id"] = q.id
        else:
            d["questions"] = [
                {"id": q.id, "question": q.question, "gold": q.gold, "choices": list(q.choices) if q.choices else None}
                for q in self.questions
            ]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SearchConfig:
        """From the stored form (pages, the CLI and older experiments alike)."""
        if not isinstance(d, Mapping):
            raise SearchError("A search configuration must be an object.")
        raw = d.get("questions")
        if isinstance(raw, list) and raw:
            qs = tuple(
                SearchQuestion(
                    str(q.get("question") or ""),
                    str(q.get("gold") or ""),
                    None if q.get("id") in (None, "") else str(q.get("id")),
                    tuple(q["choices"]) if q.get("choices") else None,
                )
                for q in raw
                if isinstance(q, Mapping)
            )
        else:
            qs = (
                SearchQuestion(
                    str(d.get("question") or ""),
                    str(d.get("gold") or ""),
                    None if d.get("question_id") in (None, "") else str(d.get("question_id")),
                    tuple(d["choices"]) if d.get("choices") else None,
                ),
            )
        try:
            params = GenParams.from_dict(dict(d.get("params") or {}))
            max_calls = int(d.get("max_calls") or 8)
        except (TypeError, ValueError) as e:
            raise SearchError(f"Unreadable search configuration: {e}") from None
        cap = d.get("spend_cap_usd")
        return cls(
            questions=qs,
            model=str(d.get("model") or ""),
            algorithms=tuple(str(a) for a in (d.get("algorithms") or ["paper"])),
            params=params,
            max_calls=max_calls,
            sample_curve=bool(d.get("sample_curve")),
            spend_cap_usd=float(cap) if isinstance(cap, (int, float)) and not isinstance(cap, bool) else None,
        )

    def plan_size(self) -> int:
        """Steps a progress bar counts: per question, each algorithm."""
        return len(self.questions) * len(self.algorithms)


@dataclass
class QuestionSearch:
    """The searches of one question: the shared reference, each algorithm's result, the curve points."""

    question: SearchQuestion
    reference: MethodResult | None
    results: dict[str, SearchResult] = field(default_factory=dict)
    curve: list[dict[str, Any]] = field(default_factory=list)
    spent_usd: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.reference is not None and self.reference.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.question.id,
            "question": self.question.question,
            "gold": self.question.gold,
            "results": {a: r.to_dict() for a, r in self.results.items()},
            "curve": list(self.curve),
            "error": self.error,
        }


#: ``on_probe(question index, algorithm, probe)``, called as each probe finishes
OnProbe = Callable[[int, str, Probe], None]
#: ``on_phase(question index, phase)``: "reference", an algorithm, "curve"
OnPhase = Callable[[int, str], None]


def search_question(
    config: SearchConfig,
    model: ChatModel,
    index: int,
    *,
    cache: CallCache | None = None,
    sink: CallSink | None = None,
    cancel: threading.Event | None = None,
    on_probe: OnProbe | None = None,
    on_phase: OnPhase | None = None,
    on_result: Callable[[int, str, SearchResult], None] | None = None,
    price_overrides: Any = None,
) -> QuestionSearch:
    """The chain of one question: the reference, each algorithm (sharing it), then the optional curve."""
    q = config.questions[index]
    common: dict[str, Any] = dict(
        params=config.params,
        cache=cache,
        sink=sink,
        choices=q.choices,
        use_cache=config.use_cache,
        price_overrides=price_overrides,
        question_id=q.id,
    )
    stopped = cancel.is_set if cancel is not None else (lambda: False)
    if on_phase:
        on_phase(index, "reference")
    ref = run_method(
        model,
        MethodSpec("vanilla"),
        q.question,
        gold=q.gold,
        role="reference",
        extra={"search": "shared", "step": 0},
        **common,
    )
    out = QuestionSearch(q, ref, spent_usd=ref.spent_usd)
    for algo in config.algorithms:
        if stopped():
            break
        if on_phase:
            on_phase(index, algo)
        kw: dict[str, Any] = {"max_calls": config.max_calls} if algo == BRACKET else {}
        res = ALGORITHMS[algo](
            model,
            q.question,
            q.gold,
            reference=ref,
            on_probe=(lambda p, a=algo: on_probe(index, a, p)) if on_probe else None,
            **common,
            **kw,
        )
        out.results[algo] = res
        out.spent_usd += sum(p.cost_usd or 0.0 for p in res.probes[1:] if not p.cache_hit)
        if on_result:
            on_result(index, algo, res)
    if config.sample_curve and not stopped() and ref.ok and ref.output_tokens >= 8:
        if on_phase:
            on_phase(index, "curve")
        for b in sorted(log_grid(4, max(5, ref.output_tokens), CURVE_POINTS), reverse=True):
            if stopped():
                break
            r = run_method(
                model,
                MethodSpec("budget", budget=b),
                q.question,
                gold=q.gold,
                role="probe",
                extra={"search": "curve"},
                **common,
            )
            out.spent_usd += r.spent_usd
            if r.ok:
                out.curve.append({"budget": b, "output_tokens": r.output_tokens, "correct": r.correct})
    return out


def search_cell_id(config: SearchConfig, index: int) -> str:
    q = config.questions[index]
    return f"{config.model}|{q.id if q.id is not None else index + 1}|search"


def plan_search(
    config: SearchConfig,
    model: ChatModel,
    *,
    cancel: threading.Event | None = None,
    **kw: Any,
) -> list[Cell[QuestionSearch]]:
    """One cell per question (``kw`` as for :func:`search_question`)."""

    def work(i: int) -> Callable[[], QuestionSearch]:
        return lambda: search_question(config, model, i, cancel=cancel, **kw)

    return [Cell(search_cell_id(config, i), config.model, work(i), i) for i in range(len(config.questions))]


@dataclass
class SearchOutcome:
    questions: list[QuestionSearch]  # in question order
    status: str
    spent_usd: float
    notes: list[str] = field(default_factory=list)


def run_search(
    config: SearchConfig,
    model: ChatModel,
    *,
    cache: CallCache | None = None,
    sink: CallSink | None = None,
    cancel: threading.Event | None = None,
    on_probe: OnProbe | None = None,
    on_phase: OnPhase | None = None,
    on_result: Callable[[int, str, SearchResult], None] | None = None,
    price_overrides: Any = None,
    validated: bool = False,
) -> SearchOutcome:
    """Search every question of ``config`` on ``model`` through the runner; questions in order."""
    if not validated:
        config.validate()
    cancel = cancel if cancel is not None else threading.Event()
    cells = plan_search(
        config,
        model,
        cancel=cancel,
        cache=cache,
        sink=sink,
        on_probe=on_probe,
        on_phase=on_phase,
        on_result=on_result,
        price_overrides=price_overrides,
    )

    def on_error(cell: Cell[QuestionSearch], e: BaseException) -> QuestionSearch:
        return QuestionSearch(config.questions[cell.key], None, error=f"{type(e).__name__}: {e}")

    runner: Runner[QuestionSearch] = Runner(
        cells,
        concurrency=model_concurrency({config.model: model}),
        on_error=on_error,
        cancel=cancel,
        spend_cap_usd=config.spend_cap_usd,
        name="search",
    )
    out = runner.run()
    done = sorted(out.finished, key=lambda f: f.cell.key)
    status = out.status
    # a chain stopped by cancel between two algorithms is finished for the runner, not for the user
    if status in ("done", "failed") and cancel.is_set():
        if any(len(f.result.results) < len(config.algorithms) for f in done):
            status = "cancelled"
    return SearchOutcome([f.result for f in done], status, out.spent_usd, list(out.notes))


def single(question: str, gold: str, model: str, **kw: Any) -> SearchConfig:
    """A one-question config (the page's and the CLI's)."""
    choices = kw.pop("choices", None)
    return SearchConfig(
        questions=(SearchQuestion(question, gold, kw.pop("question_id", None), tuple(choices) if choices else None),),
        model=model,
        **kw,
    )


__all__ = [
    "CURVE_POINTS",
    "QuestionSearch",
    "SearchConfig",
    "SearchError",
    "SearchOutcome",
    "SearchQuestion",
    "plan_search",
    "run_search",
    "search_question",
    "single",
]
