"""The small seams between the engine and whatever stores its results (``db`` implements them).

The engine never imports the database. It calls a :class:`CallCache` before a model call and a
:class:`CallSink` after every call, so persistence, caching and live progress all plug in from outside.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tale_core.types import Completion, GenParams, Message


@dataclass
class CallRecord:
    """One model call as the engine made it: the unit of caching, reproducibility and sharing.

    ``completion`` is None when the call failed; ``error`` then holds ``ProviderError.to_dict()``.
    ``role`` tells what the call was for: ``answer`` (the method's answer), ``estimate`` (TALE-EP's
    budget estimate), ``reference`` (vanilla CoT reference of a sweep or search).
    """

    spec: str
    messages: list[Message]
    params: GenParams
    completion: Completion | None = None
    error: dict[str, Any] | None = None
    method: str = ""
    budget: int | None = None
    role: str = "answer"
    cost_usd: float | None = None
    cost_is_estimate: bool = False
    correct: bool | None = None
    extracted_answer: str | None = None
    gold_answer: str | None = None
    question: str = ""
    question_id: str | None = None
    repeat: int = 0
    cache_key: str = ""
    cache_hit: bool = False
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.completion is not None and self.error is None


@runtime_checkable
class CallCache(Protocol):
    """get/put by cache key. Implementations must never store errors."""

    def get(self, key: str) -> Completion | None: ...

    def put(self, key: str, record: CallRecord) -> None: ...


@runtime_checkable
class CallSink(Protocol):
    """Receives every call record the moment the call completes (success, error or cache hit)."""

    def on_call(self, record: CallRecord) -> None: ...


class MemoryCache:
    """An in-process cache: what the CLI uses when no database is configured, and tests use."""

    def __init__(self) -> None:
        self._d: dict[str, Completion] = {}

    def get(self, key: str) -> Completion | None:
        return self._d.get(key)

    def put(self, key: str, record: CallRecord) -> None:
        if record.completion is not None and record.error is None:
            self._d[key] = record.completion

    def __len__(self) -> int:
        return len(self._d)
