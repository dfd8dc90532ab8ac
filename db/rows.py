"""Conversions between the engine's ``CallRecord`` and ``model_calls`` rows, and the row object we hand out.

A row is a plain dict keyed by column name. :class:`StoredCall` is what ``Store.calls_for`` returns; it
rebuilds the engine's ``CallRecord`` / ``Completion`` with :meth:`StoredCall.to_record` and
:meth:`StoredCall.to_completion`, and :meth:`StoredCall.to_dict` is its JSON form (used in bundles).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast, overload

from sqlalchemy import String, Table

from tale_core.protocols import CallRecord
from tale_core.types import Completion, GenParams, Message, Role, messages_to_dicts

from .scrub import known_secrets, scrub

ROLES = ("system", "user", "assistant")
SLOT_MAX = 240  # length of model_calls.cell_slot


@overload
def utc(ts: None) -> None: ...
@overload
def utc(ts: float | datetime) -> datetime: ...
def utc(ts: float | datetime | None) -> datetime | None:
    """An aware UTC datetime from an epoch or a (possibly naive, meaning UTC) datetime."""
    if ts is None:
        return None
    if isinstance(ts, datetime):
        return ts.astimezone(UTC) if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(ts), tz=UTC)


def now() -> datetime:
    return datetime.now(UTC)


def clip_to_columns(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """Cut strings to their VARCHAR lengths (PostgreSQL enforces them, SQLite does not)."""
    for col in table.columns:
        v = row.get(col.name)
        length = getattr(col.type, "length", None)
        if isinstance(v, str) and isinstance(col.type, String) and length and len(v) > length:
            row[col.name] = v[:length]
    return row


def _split_spec(spec: str) -> tuple[str, str]:
    if "/" in spec:
        p, m = spec.split("/", 1)
        return p, m
    return "", spec


def cell_slot(cell_id: str, role: str) -> str:
    """The unique per-experiment key of a cell's successful call: ``"<cell_id>#<role>"``, hashed if too long."""
    slot = f"{cell_id}#{role}"
    if len(slot) > SLOT_MAX:
        slot = "sha256:" + hashlib.sha256(slot.encode("utf-8", "replace")).hexdigest()
    return slot


def call_status(record: CallRecord) -> str:
    return "ok" if record.completion is not None and record.error is None else "error"


def record_to_row(experiment_id: str, record: CallRecord) -> dict[str, Any]:
    """The ``model_calls`` row for ``record`` (secrets scrubbed, strings storable)."""
    secrets = known_secrets()
    c = record.completion
    provider, model = _split_spec(record.spec)
    if c is not None:
        provider, model = provider or c.provider, model or c.model
    extra = dict(record.extra or {})
    # the engine's cell key: ``extra["cell_id"]``, or ``extra["cell"]`` as tale_core.experiments.sweep.run_cell sets it
    cell_id = extra.get("cell_id") or extra.get("cell")
    cell_id = str(cell_id) if cell_id not in (None, "") else None
    status = call_status(record)
    row: dict[str, Any] = {
        "id": str(record.call_id),
        "experiment_id": experiment_id,
        "cell_id": cell_id,
        "cell_slot": cell_slot(cell_id, record.role or "answer") if cell_id and status == "ok" else None,
        "provider": provider,
        "model": model,
        "spec": record.spec,
        "method": record.method or "",
        "budget": record.budget,
        "role": record.role or "answer",
        "question": record.question or "",
        "question_id": None if record.question_id is None else str(record.question_id),
        "repeat": int(record.repeat or 0),
        "messages": messages_to_dicts(list(record.messages)),
        "params": record.params.to_dict() if record.params is not None else {},
        "response": c.text if c else "",
        "thinking": (c.thinking or "") if c else "",
        "input_tokens": c.input_tokens if c else None,
        "output_tokens": c.output_tokens if c else None,
        "reasoning_tokens": (c.reasoning_tokens or 0) if c else 0,
        "usage_source": c.usage_source if c else None,
        "finish_reason": c.finish_reason if c else None,
        "latency_s": float(c.latency_s or 0.0) if c else float(extra.get("latency_s") or 0.0),
        "first_token_s": c.first_token_s if c else None,
        "cost_usd": record.cost_usd,
        "cost_is_estimate": bool(record.cost_is_estimate),
        "correct": record.correct,
        "status": status,
        "extracted_answer": record.extracted_answer,
        "gold": record.gold_answer,
        "error": record.error,
        "cache_key": record.cache_key or "",
        "cache_hit": bool(record.cache_hit),
        "runtime": (c.runtime or "") if c else "",
        "detail": {
            "completion": (
                {
                    "model": c.model,
                    "provider": c.provider,
                    "request": c.request,
                    "raw_usage": c.raw_usage,
                    "cached": c.cached,
                    # how the reasoning count was obtained, cached input, impossible usage (no columns yet)
                    "reasoning_tokens_source": c.reasoning_tokens_source,
                    "cache_read_tokens": c.cache_read_tokens,
                    "cache_write_tokens": c.cache_write_tokens,
                    "usage_warnings": list(c.usage_warnings),
                }
                if c
                else None
            ),
            "extra": extra,
        },
        "created_at": utc(record.created_at),
    }
    created = row.pop("created_at")
    row = scrub(row, secrets)
    row["created_at"] = created
    return row


@dataclass
class StoredCall:
    """One stored model call: the columns of ``model_calls``."""

    id: str
    experiment_id: str
    spec: str
    provider: str = ""
    model: str = ""
    method: str = ""
    budget: int | None = None
    role: str = "answer"
    question: str = ""
    question_id: str | None = None
    repeat: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    response: str = ""
    thinking: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int = 0
    usage_source: str | None = None
    finish_reason: str | None = None
    latency_s: float = 0.0
    first_token_s: float | None = None
    cost_usd: float | None = None
    cost_is_estimate: bool = False
    correct: bool | None = None
    status: str = "ok"
    extracted_answer: str | None = None
    gold: str | None = None
    error: dict[str, Any] | None = None
    cache_key: str = ""
    cache_hit: bool = False
    runtime: str = ""
    cell_id: str | None = None
    cell_slot: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> StoredCall:
        m = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
        known = {f.name for f in dataclasses.fields(cls)}
        obj = cls(**{k: v for k, v in m.items() if k in known})
        obj.created_at = utc(obj.created_at)
        obj.detail = obj.detail or {}
        return obj

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_completion(self) -> Completion | None:
        """The engine's Completion for this call (None for a failed call)."""
        if not self.ok:
            return None
        comp = (self.detail or {}).get("completion") or {}
        return Completion(
            text=self.response,
            provider=comp.get("provider") or self.provider,
            model=comp.get("model") or self.model,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            reasoning_tokens=self.reasoning_tokens or 0,
            finish_reason=self.finish_reason,
            latency_s=self.latency_s or 0.0,
            first_token_s=self.first_token_s,
            runtime=self.runtime or "",
            request=dict(comp.get("request") or {}),
            usage_source=cast(Literal["provider", "estimate"], self.usage_source or "provider"),
            raw_usage=dict(comp.get("raw_usage") or {}),
            thinking=self.thinking or "",
            cached=bool(comp.get("cached", False)),
            reasoning_tokens_source=comp.get("reasoning_tokens_source"),
            cache_read_tokens=int(comp.get("cache_read_tokens") or 0),
            cache_write_tokens=int(comp.get("cache_write_tokens") or 0),
            usage_warnings=list(comp.get("usage_warnings") or []),
        )

    def to_record(self) -> CallRecord:
        """Rebuild the engine's CallRecord (same call id, same timestamps)."""
        msgs = [
            Message(cast(Role, m["role"]) if m.get("role") in ROLES else "user", str(m.get("content", "")))
            for m in (self.messages or [])
            if isinstance(m, dict)
        ]
        return CallRecord(
            spec=self.spec,
            messages=msgs,
            params=GenParams.from_dict(self.params or {}),
            completion=self.to_completion(),
            error=self.error,
            method=self.method,
            budget=self.budget,
            role=self.role,
            cost_usd=self.cost_usd,
            cost_is_estimate=self.cost_is_estimate,
            correct=self.correct,
            extracted_answer=self.extracted_answer,
            gold_answer=self.gold,
            question=self.question,
            question_id=self.question_id,
            repeat=self.repeat,
            cache_key=self.cache_key,
            cache_hit=self.cache_hit,
            call_id=self.id,
            created_at=self.created_at.timestamp() if self.created_at else 0.0,
            extra=dict((self.detail or {}).get("extra") or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["created_at"] = self.created_at.isoformat() if self.created_at else None
        return d
