"""Search the optimal budget of every question of a dataset (TALE-PT's first step), as one experiment.

A planner on :mod:`tale_core.experiments.search_plan` (which runs on the engine's one runner) that keeps, per
question, what budget estimators and TALE-PT need.

For each question: one vanilla CoT call; a question vanilla CoT answers wrongly is skipped, as in the
paper; otherwise the chosen search (the paper's halving or our bracketing search,
:mod:`tale_core.experiments.search`) finds the budget with the fewest spent tokens that still answers
correctly. Per question the result keeps the searched optimal budget, its tokens, the answer under it,
the vanilla answer, and every probe.

The *optimal budget* follows the paper's semantics: the last accepted budget, or the vanilla token count
when no smaller budget was accepted (``beats_vanilla`` says which). That is the target a learned
estimator is trained on (:mod:`tale_core.estimators.learned`).

Resumable: ``skip`` takes the ids of questions already searched (a stored experiment's), so a rerun
only searches what is missing. Calls are recorded through ``sink`` like any other, each with
``extra["cell"] = "<spec>|<question id>|search"`` and ``question_id`` set (the ids a resume skips); the
per-question results are stored as the experiment's summary (:meth:`DatasetSearch.to_dict`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tale_core.errors import TaleError
from tale_core.experiments.search import ALGORITHMS, BRACKET, PAPER, Probe, SearchResult
from tale_core.experiments.search_plan import SearchConfig, SearchQuestion, run_search
from tale_core.protocols import CallRecord, CallSink
from tale_core.providers.base import ChatModel
from tale_core.types import GenParams


@dataclass
class QuestionSearch:
    """The search of one question. ``status``: ``searched`` | ``vanilla_wrong`` | ``error``."""

    question_id: str
    question: str
    gold: str | None
    status: str
    reference_tokens: int | None = None
    reference_correct: bool | None = None
    reference_text: str = ""
    optimal_budget: int | None = None
    optimal_tokens: int | None = None
    optimal_text: str = ""
    beats_vanilla: bool = False
    calls: int = 0
    cost_usd: float | None = None
    reason: str = ""
    probes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> QuestionSearch:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class DatasetSearch:
    algorithm: str
    spec: str
    questions: list[QuestionSearch]
    status: str = "done"  # done | cancelled

    @property
    def searched(self) -> list[QuestionSearch]:
        """Questions with a searched optimal budget (vanilla CoT was correct)."""
        return [q for q in self.questions if q.status == "searched" and q.optimal_budget is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "spec": self.spec,
            "status": self.status,
            "questions": [q.to_dict() for q in self.questions],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DatasetSearch:
        return cls(
            algorithm=str(d.get("algorithm", "")),
            spec=str(d.get("spec", "")),
            questions=[QuestionSearch.from_dict(q) for q in d.get("questions") or []],
            status=str(d.get("status", "done")),
        )


@dataclass(frozen=True)
class DatasetSearchConfig:
    """The stored configuration of a dataset search (what the CLI and the kinds registry read)."""

    model: str
    algorithm: str = PAPER
    dataset: str = ""
    limit: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    question_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "algorithm": self.algorithm,
            "dataset": self.dataset,
            "limit": self.limit,
            "params": dict(self.params),
            "question_ids": list(self.question_ids),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DatasetSearchConfig:
        if not isinstance(d, Mapping):
            raise TaleError("A dataset search configuration must be an object.")
        limit = d.get("limit")
        return cls(
            model=str(d.get("model") or ""),
            algorithm=str(d.get("algorithm") or PAPER),
            dataset=str(d.get("dataset") or ""),
            limit=int(limit) if isinstance(limit, int) else None,
            params=dict(d.get("params") or {}),
            question_ids=tuple(str(q) for q in d.get("question_ids") or ()),
        )

    def plan_size(self) -> int:
        """Questions to search (each a chain of calls)."""
        return len(self.question_ids)


def records_by_question(records: Sequence[CallRecord]) -> dict[str, list[CallRecord]]:
    """Stored calls grouped by question id, in call order (what a dataset search's experiment holds)."""
    out: dict[str, list[CallRecord]] = {}
    for r in sorted(records, key=lambda r: r.created_at):
        out.setdefault(str(r.question_id), []).append(r)
    return out


def cell_id(spec: str, question_id: str) -> str:
    return f"{spec}|{question_id}|search"


class _Collect:
    """Tags every record with its question's cell id, passes it on to ``sink`` and keeps it by question
    (for the answer texts). Called from the runner's worker threads."""

    def __init__(self, sink: CallSink | None, spec: str) -> None:
        self.sink = sink
        self.spec = spec
        self.lock = threading.Lock()
        self.records: dict[str, list[CallRecord]] = {}

    def on_call(self, record: CallRecord) -> None:
        qid = str(record.question_id)
        record.extra.setdefault("cell", cell_id(self.spec, qid))
        with self.lock:
            self.records.setdefault(qid, []).append(record)
        if self.sink is not None:
            self.sink.on_call(record)

    def of(self, qid: str) -> list[CallRecord]:
        with self.lock:
            return list(self.records.get(qid, []))


def _text(records: Sequence[CallRecord], *, role: str, budget: int | None) -> str:
    for r in reversed(records):
        if r.role == role and r.completion is not None and (budget is None or r.budget == budget):
            return r.completion.text
    return ""


def summarise_question(
    question_id: str, question: str, gold: str | None, result: SearchResult, records: Sequence[CallRecord]
) -> QuestionSearch:
    """One :class:`QuestionSearch` from a search result and the calls it made."""
    ref = result.probes[0] if result.probes else None
    out = QuestionSearch(
        question_id=question_id,
        question=question,
        gold=gold,
        status="searched",
        calls=result.calls,
        cost_usd=result.total_cost_usd,
        reason=result.reason,
        probes=[p.to_dict() for p in result.probes],
    )
    if ref is None or ref.status == "error" or any(p.status == "error" for p in result.probes):
        out.status = "error"
    if ref is not None:
        out.reference_tokens = ref.output_tokens
        out.reference_correct = ref.correct
        out.reference_text = _text(records, role="reference", budget=None)
    if ref is None or ref.correct is not True:
        if out.status != "error":
            out.status = "vanilla_wrong"
        return out
    chosen = result.chosen_budget
    accepted = [p for p in result.probes if p.budget is not None and p.accepted and p.correct is True]
    best: Probe | None = next((p for p in accepted if p.budget == chosen), None)
    if chosen is not None and best is not None:
        out.optimal_budget, out.optimal_tokens, out.beats_vanilla = chosen, best.output_tokens, True
        out.optimal_text = _text(records, role="probe", budget=chosen)
    else:  # nothing beat vanilla: the paper's search returns the vanilla token count as the budget
        out.optimal_budget = max(1, ref.output_tokens)
        out.optimal_tokens = ref.output_tokens
        out.optimal_text = out.reference_text
    return out


def search_dataset(
    model: ChatModel,
    items: Iterable[Mapping[str, Any]],
    *,
    algorithm: str = BRACKET,
    params: GenParams | None = None,
    cache: Any = None,
    sink: CallSink | None = None,
    use_cache: bool | None = None,
    price_overrides: Any = None,
    skip: set[str] | None = None,
    cancel: threading.Event | None = None,
    on_question: Callable[[QuestionSearch], None] | None = None,
    spend_cap_usd: float | None = None,
    max_calls: int = 8,
) -> DatasetSearch:
    """Search every item (``id``, ``question``, ``answer``, optional ``choices``); see the module docstring.

    The questions run through the engine's search planner (:func:`tale_core.experiments.search_plan.run_search`,
    itself a planner on the one runner): side by side up to the model's concurrency, cancel and the spend
    cap stop new questions. ``on_question`` is called as each question's search finishes (any order).
    """
    if algorithm not in ALGORITHMS:
        raise TaleError(f"Unknown search {algorithm!r}; use {PAPER} or {BRACKET}.")
    todo: list[SearchQuestion] = []
    texts: dict[str, str] = {}
    for index, item in enumerate(items):
        qid = str(item.get("id") or index + 1)
        if skip and qid in skip:
            continue
        question = item.get("question")
        if not isinstance(question, str) or not question.strip():
            raise TaleError(f"Item {qid} has no question text.")
        gold = item.get("answer")
        if gold in (None, ""):
            raise TaleError(f"Item {qid} has no gold answer: a search needs one to tell correct answers.")
        choices = item.get("choices")
        todo.append(SearchQuestion(question, str(gold), qid, tuple(choices) if choices else None))
        texts[qid] = question
    if not todo:
        return DatasetSearch(algorithm=algorithm, spec=model.spec, questions=[])
    config = SearchConfig(
        questions=tuple(todo),
        model=model.spec,
        algorithms=(algorithm,),
        params=params or GenParams(),
        max_calls=max_calls,
        use_cache=use_cache,
        spend_cap_usd=spend_cap_usd,
    )
    collect = _Collect(sink, model.spec)
    summaries: dict[str, QuestionSearch] = {}

    def finished(index: int, algo: str, result: SearchResult) -> None:
        q = todo[index]
        qid = str(q.id)
        qs = summarise_question(qid, q.question, q.gold, result, collect.of(qid))
        summaries[qid] = qs
        if on_question is not None:
            on_question(qs)

    outcome = run_search(
        config, model, cache=cache, sink=collect, cancel=cancel, on_result=finished, price_overrides=price_overrides
    )
    ordered = [summaries[str(q.id)] for q in todo if str(q.id) in summaries]
    for qsearch in outcome.questions:  # a question whose chain failed outright (no search result)
        qid = str(qsearch.question.id)
        if qid not in summaries and qsearch.error:
            ordered.append(QuestionSearch(qid, texts[qid], qsearch.question.gold, "error", reason=qsearch.error))
    status = "done" if outcome.status == "done" and len(ordered) == len(todo) else outcome.status
    return DatasetSearch(algorithm=algorithm, spec=model.spec, questions=ordered, status=status)
