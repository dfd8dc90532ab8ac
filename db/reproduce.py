"""Rerun a recorded experiment WITHOUT the cache and report, cell by cell, what changed.

Every stored call carries its exact messages and parameters (model, max_tokens, temperature, seed, ...),
so reproducing replays each successful call as it was sent, one at a time, straight to the provider: no
call cache, no sink. Each call is checked on its own (a TALE-EP answer call is replayed with the budget
it was given, even if the estimator now says something else; the estimator's own call shows that
change). For each call the report says whether the text, the output tokens and the correctness
changed; correctness is judged by today's grader on both the stored and the new text, so a grader
change never shows as a model change. The experiment's recorded provenance (model file hash, runtime
settings) is compared with today's, and calls whose stored runtime string differs are flagged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tale_core.errors import ProviderError, TaleError
from tale_core.types import GenParams, Message

from .rows import StoredCall
from .store import Store

_CHOICE_PROMPT = re.compile(r"\[\[choice\]\]", re.IGNORECASE)


@dataclass
class CallDiff:
    call_id: str
    cell_id: str | None
    spec: str
    role: str
    method: str
    budget: int | None
    question_id: str | None
    repeat: int
    before_tokens: int | None
    after_tokens: int | None
    before_correct: bool | None
    after_correct: bool | None
    text_changed: bool
    tokens_changed: bool
    correct_changed: bool
    runtime_changed: bool
    error: str | None = None

    @property
    def identical(self) -> bool:
        return self.error is None and not (self.text_changed or self.tokens_changed or self.correct_changed)


@dataclass
class ReproReport:
    experiment_id: str
    calls: list[CallDiff] = field(default_factory=list)
    skipped_failed: int = 0
    provenance_changes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return bool(self.calls) and all(c.identical for c in self.calls)

    def summary(self) -> dict[str, Any]:
        n = len(self.calls)
        return {
            "experiment_id": self.experiment_id,
            "calls_rerun": n,
            "identical": sum(1 for c in self.calls if c.identical),
            "text_changed": sum(1 for c in self.calls if c.text_changed),
            "tokens_changed": sum(1 for c in self.calls if c.tokens_changed),
            "correctness_changed": sum(1 for c in self.calls if c.correct_changed),
            "errors": sum(1 for c in self.calls if c.error),
            "runtime_changed": sum(1 for c in self.calls if c.runtime_changed),
            "skipped_failed_calls": self.skipped_failed,
            "provenance_changes": list(self.provenance_changes),
            "all_identical": self.identical,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(), "calls": [dict(asdict(c), identical=c.identical) for c in self.calls]}


def _grade(text: str, gold: str | None, multiple_choice: bool) -> bool | None:
    if gold in (None, ""):
        return None
    from tale_core.scoring.grading import grade

    return grade(text, gold, multiple_choice=multiple_choice).correct


def _messages(call: StoredCall) -> list[Message]:
    """The call's messages exactly as stored (the engine's own conversion)."""
    return list(call.to_record().messages)


def _provenance_changes(recorded: dict[str, Any] | None, models: dict[str, Any]) -> list[str]:
    from tale_core.experiments.provenance import model_provenance

    out: list[str] = []
    rec_models = (recorded or {}).get("models") or {}
    for spec, model in models.items():
        then = rec_models.get(spec)
        if not isinstance(then, dict):
            out.append(f"{spec}: no provenance was recorded with the experiment")
            continue
        now = model_provenance(model)
        for key in ("model_sha256", "runtime", "settings"):
            if key in then and then.get(key) != now.get(key):
                out.append(f"{spec}: {key} was {then.get(key)!r}, now {now.get(key)!r}")
    return out


def reproduce(
    store: Store,
    experiment_id: str,
    *,
    resolve: Callable[[str], Any] | None = None,
    limit: int | None = None,
    on_call: Callable[[CallDiff], None] | None = None,
) -> ReproReport:
    """Replay the experiment's successful calls without the cache; one :class:`CallDiff` per call."""
    if resolve is None:
        from tale_core.providers import resolve as resolve_spec

        resolve = resolve_spec
    d = store.get_experiment(experiment_id, with_calls=True)
    report = ReproReport(experiment_id=d.id)
    calls: Sequence[StoredCall] = [c for c in d.calls if c.ok]
    report.skipped_failed = len(d.calls) - len(calls)
    if limit is not None:
        calls = calls[:limit]
    if not calls:
        raise TaleError(f"Experiment {d.id} has no successful calls to reproduce.")
    models: dict[str, Any] = {}
    for spec in dict.fromkeys(c.spec for c in calls):
        models[spec] = resolve(spec)
    report.provenance_changes = _provenance_changes((d.config or {}).get("provenance"), models)
    for c in calls:
        model = models[c.spec]
        msgs = _messages(c)
        mc = any(_CHOICE_PROMPT.search(m.content) for m in msgs if m.role == "user")
        before_ok = _grade(c.response or "", c.gold, mc)
        runtime_now = model.runtime()
        try:
            comp = model.complete(msgs, GenParams.from_dict(c.params or {}))
        except ProviderError as e:
            diff = CallDiff(
                c.id, c.cell_id, c.spec, c.role, c.method, c.budget, c.question_id, c.repeat,
                c.output_tokens, None, before_ok, None, False, False, False,
                bool(c.runtime) and c.runtime != runtime_now, error=str(e)[:300],
            )  # fmt: skip
        else:
            after_ok = _grade(comp.text, c.gold, mc)
            diff = CallDiff(
                c.id, c.cell_id, c.spec, c.role, c.method, c.budget, c.question_id, c.repeat,
                c.output_tokens, comp.output_tokens, before_ok, after_ok,
                text_changed=comp.text != (c.response or ""),
                tokens_changed=comp.output_tokens != c.output_tokens,
                correct_changed=before_ok != after_ok,
                runtime_changed=bool(c.runtime) and c.runtime != comp.runtime,
            )  # fmt: skip
        report.calls.append(diff)
        if on_call is not None:
            on_call(diff)
    return report


def format_report(report: ReproReport, *, only_changes: bool = False) -> str:
    """A plain-text table, one line per call, then the summary."""
    lines = [f"{'':3}{'cell':<40}{'role':<10}{'tokens':>15}  {'correct':<14} changed"]
    for c in report.calls:
        if only_changes and c.identical:
            continue
        what = [w for w, flag in (("text", c.text_changed), ("tokens", c.tokens_changed),
                                  ("correctness", c.correct_changed)) if flag]  # fmt: skip
        if c.error:
            what = [f"error: {c.error}"]
        tok = f"{c.before_tokens}->{c.after_tokens}"
        cor = f"{c.before_correct}->{c.after_correct}"
        cell = (c.cell_id or f"{c.question_id or '-'}|{c.method}|{c.budget}")[:39]
        mark = "=  " if c.identical else "!  "
        lines.append(f"{mark}{cell:<40}{c.role:<10}{tok:>15}  {cor:<14} {', '.join(what) or '-'}"
                     + ("  (runtime string differs)" if c.runtime_changed else ""))  # fmt: skip
    s = report.summary()
    lines.append("")
    lines.append(
        f"{s['calls_rerun']} calls rerun without the cache: {s['identical']} identical, {s['text_changed']} "
        f"with a different text, {s['tokens_changed']} with different output tokens, "
        f"{s['correctness_changed']} with a different correctness, {s['errors']} failed"
        + (f"; {s['skipped_failed_calls']} originally failed calls skipped" if s["skipped_failed_calls"] else "")
        + "."
    )
    for p in s["provenance_changes"]:
        lines.append(f"provenance: {p}")
    lines.append("REPRODUCED: every call identical." if report.identical else "NOT REPRODUCED: see the ! lines.")
    return "\n".join(lines)
