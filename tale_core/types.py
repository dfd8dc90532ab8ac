"""The value objects every provider and the engine share: messages, generation parameters, completions."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


def messages_to_dicts(messages: list[Message] | tuple[Message, ...]) -> list[dict[str, str]]:
    return [m.to_dict() for m in messages]


@dataclass(frozen=True)
class GenParams:
    """Everything that shapes one generation. Part of the cache key, so keep it explicit and hashable.

    ``max_tokens`` is the hard output cap sent to the provider (not the TALE budget, which lives in the
    prompt). ``reasoning_effort`` applies to OpenAI reasoning models, ``thinking_budget`` to Anthropic
    extended thinking (``budget_tokens``); both are ``None`` when unused.
    """

    max_tokens: int = 1024
    temperature: float = 0.0
    seed: int | None = 0
    top_p: float | None = None
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    stop: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["stop"] = list(self.stop)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GenParams:
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if "stop" in kw:
            kw["stop"] = tuple(kw["stop"] or ())
        return cls(**kw)

    @property
    def deterministic(self) -> bool:
        """Temperature 0 with a fixed seed: the only requests the call cache may reuse by default."""
        return self.temperature == 0 and self.seed is not None


@dataclass
class Completion:
    """One model call's result, with token counts exactly as the provider reported them.

    ``usage_source`` is ``"provider"`` when the counts come from the provider's usage block and
    ``"estimate"`` when a tokenizer filled them in because the provider sent none.
    ``reasoning_tokens`` are hidden thinking tokens, already included in ``output_tokens`` when the
    provider bills them as output (OpenAI ``completion_tokens`` includes them; we normalise Anthropic the
    same way), so cost = input x in-price + output x out-price.
    """

    text: str
    provider: str
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int = 0
    finish_reason: str | None = None
    latency_s: float = 0.0
    first_token_s: float | None = None
    runtime: str = ""
    request: dict[str, Any] = field(default_factory=dict)
    usage_source: Literal["provider", "estimate"] = "provider"
    raw_usage: dict[str, Any] = field(default_factory=dict)
    thinking: str = ""
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Completion:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @property
    def visible_output_tokens(self) -> int | None:
        if self.output_tokens is None:
            return None
        return max(0, self.output_tokens - (self.reasoning_tokens or 0))


def cache_key(
    provider: str, model: str, messages: list[Message] | tuple[Message, ...], params: GenParams, runtime: str
) -> str:
    """A stable hash over everything that can change a response (never over secrets)."""
    payload = {
        "provider": provider,
        "model": model,
        "messages": messages_to_dicts(list(messages)),
        "params": params.to_dict(),
        "runtime": runtime,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
