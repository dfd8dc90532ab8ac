"""The methods one can run on a question, and :func:`run_method`, which runs one of them end to end.

The methods themselves live in the registry (:mod:`tale_core.engine.method_registry`, built-ins in
:mod:`tale_core.engine.method_defs`): ``direct``, ``vanilla`` (CoT), ``budget:N`` (TALE's "use less than
N tokens"), ``tale-ep`` (zero-shot estimator, then the budget prompt), ``concise`` and
``concise-fewshot`` (Concise CoT), ``constrained:N`` (N words), ``cod`` and ``cod-fewshot`` (Chain of
Draft), ``thinking:N`` (provider-native thinking budget, Anthropic ``budget_tokens``),
``effort:LEVEL`` (OpenAI ``reasoning_effort``, Claude effort) and ``forced:N`` (a hard budget: budget
forcing, s1 - reason up to N tokens, then the final answer is forced). A :class:`MethodSpec` is one of
them with its argument; its string form (``budget:50``, ``effort:low``, ``tale-ep``) is what experiments
store and the CLI takes.

Every method runs in a prompt style (:data:`tale_core.engine.prompts.PROMPT_STYLES`, ``paper`` by
default), recorded with each call as ``extra["prompt_style"]``.

TALE-EP policy for bad estimates: an estimate that cannot be parsed, or is absurd (0, negative, or
above the model's maximum output tokens from the catalogue) is recorded in ``MethodResult.estimate``
and the answer is produced with the spec's ``fallback`` method (vanilla CoT by default). The official
code would have sent "use less than -1 tokens" instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tale_core.accounting.pricing import PriceOverrides
from tale_core.engine import prompts
from tale_core.engine.calls import Grader, call_model, spent_usd
from tale_core.engine.method_registry import Method, MethodError, all_methods, find_method, get_method, method_keys
from tale_core.protocols import CallCache, CallRecord, CallSink
from tale_core.providers.base import ChatModel, OnText
from tale_core.providers.catalog import lookup
from tale_core.scoring.grading import grade
from tale_core.types import GenParams, Message

__all__ = [
    "METHOD_KEYS",
    "EFFORT_LEVELS",
    "FALLBACKS",
    "MethodError",
    "MethodSpec",
    "MethodResult",
    "build_messages",
    "classify_estimate",
    "params_for",
    "run_method",
]

#: the built-in method keys (the registry may hold more: :func:`method_keys`)
METHOD_KEYS = method_keys()
EFFORT_LEVELS: tuple[str, ...] = next((m.arg.choices for m in all_methods() if m.arg and m.arg.kind == "effort"), ())
FALLBACKS = ("vanilla", "direct")
_NEGATIVE_RE = re.compile(r"\[\[\s*-\s*(\d+)\s*\]\]")


@dataclass(frozen=True)
class MethodSpec:
    """Which registered method to run, with its argument: ``budget`` holds a number (token budget, word
    limit, thinking budget), ``effort`` an effort level; ``fallback`` is TALE-EP's answer method when its
    estimate is unusable. An alias (``chain-of-draft``) becomes the method's key."""

    key: str
    budget: int | None = None
    effort: str | None = None
    fallback: str = "vanilla"

    def __post_init__(self) -> None:
        m = find_method(self.key)
        if m is None:
            raise MethodError(f"Unknown method {self.key!r}; choose one of: {', '.join(method_keys())}")
        object.__setattr__(self, "key", m.key)
        arg = m.arg
        if arg is not None and arg.numeric:
            arg.check(self.key, self.budget)
        elif self.budget is not None:
            raise MethodError(f"Method {self.key!r} takes no budget")
        if arg is not None and not arg.numeric:
            arg.check(self.key, self.effort)
        elif self.effort is not None:
            raise MethodError(f"Method {self.key!r} takes no effort level")
        if self.fallback not in FALLBACKS:
            raise MethodError(f"TALE-EP fallback must be one of {', '.join(FALLBACKS)} (got {self.fallback!r})")

    @classmethod
    def of(cls, key: str, arg: int | str | None = None) -> MethodSpec:
        """The spec of method ``key`` with ``arg`` in the field its argument kind uses."""
        m = get_method(key)
        if m.arg is None or arg is None:
            return cls(key)
        return cls(key, budget=int(arg)) if m.arg.numeric else cls(key, effort=str(arg))

    @property
    def method(self) -> Method:
        """The registry entry."""
        return get_method(self.key)

    @property
    def arg(self) -> int | str | None:
        """The argument: the number for numeric kinds, the level for ``effort``, else None."""
        return self.budget if self.budget is not None else self.effort

    @property
    def label(self) -> str:
        """Human label, e.g. ``Budget 50`` or ``Constrained CoT (50 words)``."""
        return self.method.label_for(self.arg)

    def to_str(self) -> str:
        """Round-trips through :meth:`parse`: ``budget:50``, ``effort:low``, ``tale-ep``."""
        if self.arg is not None:
            return f"{self.key}:{self.arg}"
        if self.method.estimates_budget and self.fallback != "vanilla":
            return f"{self.key}:{self.fallback}"
        return self.key

    @classmethod
    def parse(cls, text: str) -> MethodSpec:
        """``"budget:50"`` -> ``MethodSpec("budget", 50)``; raises :class:`MethodError` with a readable message."""
        raw = (text or "").strip().lower()
        if not raw:
            raise MethodError("No method given; choose one of: " + ", ".join(method_keys()))
        name, sep, arg = raw.partition(":")
        m = get_method(name.strip())
        arg = arg.strip()
        if m.arg is not None and m.arg.numeric:
            if not arg:
                raise MethodError(f"Method {m.key!r} needs a number, e.g. {m.key}:50")
            if not arg.isdigit():
                raise MethodError(f"{m.key}:{arg} - the {m.arg.noun} must be a whole number above 0")
            return cls(m.key, budget=int(arg))
        if m.arg is not None:
            return cls(m.key, effort=arg or None)
        if m.estimates_budget and arg:
            return cls(m.key, fallback=arg)
        if sep:
            raise MethodError(f"Method {m.key!r} takes no ':' argument")
        return cls(m.key)


@dataclass
class MethodResult:
    """The outcome of one method on one question (possibly several calls, e.g. TALE-EP's two)."""

    method: MethodSpec
    spec: str
    records: list[CallRecord]
    #: "correct" | "wrong" | "no_answer" | "hedged" | "truncated" | "ungraded" | "error"; "truncated" = graded
    #: not correct and the answer call was cut off by its output cap (finish reason length / max_tokens)
    status: str
    text: str
    extracted: str | None
    correct: bool | None
    budget_used: int | None
    input_tokens: int
    output_tokens: int
    answer_output_tokens: int
    estimate_output_tokens: int
    reasoning_tokens: int
    cost_usd: float | None
    latency_s: float
    estimate: dict | None
    error: dict | None
    cache_hit: bool
    spent_usd: float = 0.0
    gold: str | None = None
    question_id: str | None = None
    repeat: int = 0
    finish_reason: str | None = None
    grade_method: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: "provider" | "derived" (output minus visible) | None; "derived" wins when calls mix
    reasoning_tokens_source: str | None = None
    visible_output_tokens: int = 0
    cache_read_tokens: int = 0
    usage_warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "error"

    @property
    def error_message(self) -> str:
        return str((self.error or {}).get("message", "")) if self.error else ""

    def to_row(self) -> dict[str, Any]:
        """A flat dict for tables and JSON."""
        est = self.estimate or {}
        return {
            "spec": self.spec,
            "method": self.method.to_str(),
            "label": self.method.label,
            "question_id": self.question_id,
            "repeat": self.repeat,
            "status": self.status,
            "correct": self.correct,
            "extracted": self.extracted,
            "gold": self.gold,
            "budget_used": self.budget_used,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "answer_output_tokens": self.answer_output_tokens,
            "estimate_output_tokens": self.estimate_output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "reasoning_tokens_source": self.reasoning_tokens_source,
            "visible_output_tokens": self.visible_output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "truncated": self.status == "truncated",
            "usage_warnings": "; ".join(self.usage_warnings) or None,
            "cost_usd": self.cost_usd,
            "spent_usd": self.spent_usd,
            "latency_s": self.latency_s,
            "cache_hit": self.cache_hit,
            "finish_reason": self.finish_reason,
            "estimate_raw": est.get("raw"),
            "estimate_parsed": est.get("parsed"),
            "estimate_status": est.get("status"),
            "estimate_fallback": est.get("fallback"),
            "error": self.error_message or None,
            "error_kind": (self.error or {}).get("kind"),
            "calls": len(self.records),
            "text": self.text,
        }


def classify_estimate(text: str | None, max_output_tokens: int) -> tuple[int | None, str]:
    """``(parsed, status)`` for an estimator answer; status is ``ok``, ``unparseable`` or ``absurd``."""
    neg = _NEGATIVE_RE.findall(text or "")
    parsed = prompts.parse_budget_estimate(text)
    if parsed is None:
        if neg:
            return -int(neg[-1]), "absurd"
        return None, "unparseable"
    if parsed <= 0 or parsed > max_output_tokens:
        return parsed, "absurd"
    return parsed, "ok"


def build_messages(
    method: MethodSpec,
    question: str,
    *,
    multiple_choice: bool = False,
    budget: int | None = None,
    style: str = prompts.PAPER,
    template: str | None = None,
) -> tuple[Message, ...]:
    """The prompt of a one-call method (``tale-ep`` passes its estimated ``budget`` as the argument).

    ``template`` (one of :data:`~tale_core.engine.prompts.OFFICIAL_TEMPLATES`, e.g. ``mathbench-cloze-en``)
    selects the official per-dataset prompt of the paper's Table 3 for direct, vanilla and budget prompts.
    """
    arg = budget if budget is not None else method.arg
    if template and method.key in _TEMPLATE_STYLES:
        n = arg if isinstance(arg, int) else None  # budgets are numbers; other arguments do not apply
        return prompts.official_messages(template, _TEMPLATE_STYLES[method.key], question, n)
    return method.method.build(question, arg, multiple_choice, style)


_TEMPLATE_STYLES = {"direct": "direct", "vanilla": "cot", "budget": "budget", "tale-ep": "budget"}


def params_for(method: MethodSpec, params: GenParams) -> GenParams:
    """``params`` with the method's changes (thinking budget, reasoning effort)."""
    return method.method.params(params, method.arg)


def _make_grader(
    gold: str | None, multiple_choice: bool, choices: tuple[str, ...] | None = None
) -> tuple[Grader, dict]:
    """A grader for call_model; the Grade of the last graded record is kept in the returned dict."""
    state: dict[str, Any] = {}

    def grader(rec: CallRecord) -> None:
        if rec.role == "estimate" or rec.completion is None:
            return
        text = rec.completion.text or ""
        try:
            g = grade(text, gold, multiple_choice=multiple_choice, choices=choices)
            status, extracted, how = g.status, g.extracted, g.method
        except Exception as e:  # a grader bug must not lose the call
            status, extracted, how = "ungraded", None, f"grading failed: {type(e).__name__}: {e}"
        rec.extracted_answer = extracted
        rec.correct = True if status == "correct" else (False if status in ("wrong", "no_answer", "hedged") else None)
        rec.extra["grade_status"] = status  # keeps "hedged" apart from "wrong" once stored
        state.update(status=status, extracted=extracted, method=how)

    return grader, state


def run_method(
    model: ChatModel,
    method: MethodSpec,
    question: str,
    *,
    gold: str | None = None,
    choices: tuple[str, ...] | None = None,
    params: GenParams | None = None,
    cache: CallCache | None = None,
    sink: CallSink | None = None,
    use_cache: bool | None = None,
    on_text: OnText | None = None,
    question_id: str | None = None,
    repeat: int = 0,
    price_overrides: PriceOverrides | None = None,
    role: str = "answer",
    extra: dict[str, Any] | None = None,
    prompt_style: str = prompts.PAPER,
    template: str | None = None,
) -> MethodResult:
    """Run ``method`` on ``question`` with ``model``; never raises for provider errors (status ``error``).

    ``choices`` makes it a multiple-choice question (options lettered A, B, ... and ``[[choice]]``
    format). ``on_text`` streams the answer call's text. ``role`` names the answer call's role
    (``reference`` for a sweep's vanilla reference). ``prompt_style`` picks the templates (``paper`` or
    ``plain``) and is recorded with every call; ``template`` selects an official per-dataset prompt instead
    (see :func:`build_messages`). Raises :class:`TaleError` only for bad input (empty question, too many
    choices, unknown prompt style).
    """
    if isinstance(method, str):
        method = MethodSpec.parse(method)
    params = params or GenParams()
    mc = bool(choices)
    if template and template.startswith("mathbench-choice"):
        q = prompts.mathbench_question(question, choices)  # the official loader's layout
    else:
        q = prompts.format_choices(question, choices) if mc else question
    prompts._check_question(q)
    prompts.check_style(prompt_style)
    gold_s = None if gold is None or str(gold).strip() == "" else str(gold)
    grader, gstate = _make_grader(gold_s, mc, tuple(str(c) for c in choices) if choices else None)
    call_extra = {**(extra or {}), "prompt_style": prompt_style}

    def call(messages: tuple[Message, ...], call_params: GenParams, **meta: Any) -> CallRecord:
        return call_model(
            model,
            messages,
            call_params,
            cache=cache,
            sink=sink,
            use_cache=use_cache,
            price_overrides=price_overrides,
            method=method.to_str(),
            question=question,
            question_id=question_id,
            repeat=repeat,
            gold_answer=gold_s,
            extra=call_extra,
            **meta,
        )

    records: list[CallRecord] = []
    estimate: dict | None = None
    answer_method, budget_used = method, method.budget
    if method.method.estimates_budget:
        rec = call(prompts.estimator(q), params, role="estimate")
        records.append(rec)
        if rec.completion is not None and rec.error is None:
            limit = lookup(model.provider, model.model).max_output_tokens
            raw = rec.completion.text
            parsed, status = classify_estimate(raw, limit)
            estimate = {"raw": raw, "parsed": parsed, "status": status, "fallback": None, "max_output_tokens": limit}
            if status == "ok":
                budget_used = parsed
            else:
                estimate["fallback"] = method.fallback
                answer_method = MethodSpec(method.fallback)
        else:
            estimate = {"raw": None, "parsed": None, "status": "error", "fallback": None}
    elif method.method.budget_from is not None:
        budget, estimate = method.method.budget_from(model, question)
        if budget is not None:
            budget_used = budget
        else:
            estimate = {**estimate, "fallback": "vanilla"}
            answer_method = MethodSpec("vanilla")
    if not records or records[-1].ok:
        msgs = build_messages(
            answer_method, q, multiple_choice=mc, budget=budget_used, style=prompt_style, template=template
        )
        rec = call(
            msgs,
            params_for(answer_method, params),
            on_text=on_text,
            grader=grader,
            role=role,
            budget=budget_used if answer_method is method else None,
        )
        records.append(rec)
    return _summarise(model, method, records, estimate, budget_used, gstate, gold_s, question_id, repeat)


def _reasoning_source(comps: list[Any]) -> str | None:
    sources = {c.reasoning_tokens_source for c in comps if c.reasoning_tokens}
    if not sources:
        return None
    return "derived" if "derived" in sources else ("estimate" if "estimate" in sources else "provider")


def _summarise(
    model: ChatModel,
    method: MethodSpec,
    records: list[CallRecord],
    estimate: dict | None,
    budget_used: int | None,
    gstate: dict,
    gold: str | None,
    question_id: str | None,
    repeat: int,
) -> MethodResult:
    answer = next((r for r in reversed(records) if r.role != "estimate"), None)
    error = next((r.error for r in records if r.error), None)
    comps = [r.completion for r in records if r.completion is not None]
    costs = [r.cost_usd for r in records if r.completion is not None]
    known_costs = [c for c in costs if c is not None]
    if error is not None:
        status, correct, extracted = "error", None, None
    else:
        status = gstate.get("status", "ungraded")
        extracted = gstate.get("extracted")
        correct = True if status == "correct" else (False if status in ("wrong", "no_answer", "hedged") else None)
        if gold is None:
            correct = None
    ans_comp = answer.completion if answer is not None else None
    if status in ("wrong", "no_answer") and ans_comp is not None and ans_comp.truncated:
        # not a wrong answer but a cut-off one: the output cap (max_tokens) ended it
        status, correct = "truncated", (False if gold is not None else None)
    est_comp = next((r.completion for r in records if r.role == "estimate" and r.completion), None)
    return MethodResult(
        method=method,
        spec=model.spec,
        records=records,
        status=status,
        text=ans_comp.text if ans_comp else "",
        extracted=extracted,
        correct=correct,
        budget_used=budget_used if (estimate is None or estimate.get("status") == "ok") else None,
        input_tokens=sum(c.input_tokens or 0 for c in comps),
        output_tokens=sum(c.output_tokens or 0 for c in comps),
        answer_output_tokens=(ans_comp.output_tokens or 0) if ans_comp else 0,
        estimate_output_tokens=(est_comp.output_tokens or 0) if est_comp else 0,
        reasoning_tokens=sum(c.reasoning_tokens or 0 for c in comps),
        reasoning_tokens_source=_reasoning_source(comps),
        visible_output_tokens=sum(c.visible_output_tokens or 0 for c in comps),
        cache_read_tokens=sum(c.cache_read_tokens or 0 for c in comps),
        usage_warnings=[w for c in comps for w in (c.usage_warnings or [])],
        cost_usd=sum(known_costs) if costs and len(known_costs) == len(costs) else None,
        latency_s=sum(c.latency_s or 0.0 for c in comps),
        estimate=estimate,
        error=error,
        cache_hit=bool(records) and all(r.cache_hit for r in records),
        spent_usd=sum(spent_usd(r) for r in records),
        gold=gold,
        question_id=question_id,
        repeat=repeat,
        finish_reason=ans_comp.finish_reason if ans_comp else None,
        grade_method=gstate.get("method", ""),
    )
