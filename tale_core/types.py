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


#: GenParams fields added later, with the default that leaves them out of ``to_dict`` (cache keys)
_LATER_FIELDS: dict[str, Any] = {"hard_budget": None, "budget_waits": 0, "verbosity": None}


@dataclass(frozen=True)
class GenParams:
    """Everything that shapes one generation. Part of the cache key, so keep it explicit and hashable.

    ``max_tokens`` is the hard output cap sent to the provider (not the TALE budget, which lives in the
    prompt). ``reasoning_effort`` applies to OpenAI reasoning models and Claude's effort,
    ``thinking_budget`` to thinking budgets (Anthropic ``budget_tokens``, Gemini-style bodies of
    compatible endpoints); both are ``None`` when unused. ``hard_budget`` is budget forcing (s1): the
    model reasons for at most that many tokens, then the final answer is forced (``budget_waits`` times
    "Wait" extends a reasoning that stopped early). ``verbosity`` is gpt-5's verbosity.

    The fields added after the first release (``hard_budget``, ``budget_waits``, ``verbosity``) are left
    out of :meth:`to_dict` while unset, so that the cache keys of earlier calls do not change.
    """

    max_tokens: int = 1024
    temperature: float = 0.0
    seed: int | None = 0
    top_p: float | None = None
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    stop: tuple[str, ...] = ()
    hard_budget: int | None = None
    budget_waits: int = 0
    verbosity: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["stop"] = list(self.stop)
        for k, default in _LATER_FIELDS.items():
            if d.get(k) == default:
                d.pop(k, None)
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
    ``reasoning_tokens`` are hidden thinking tokens, already included in ``output_tokens`` (OpenAI's
    ``completion_tokens`` and Anthropic's ``output_tokens`` both include them: they are billed as output);
    ``reasoning_tokens_source`` says how they were obtained: ``"provider"`` (the usage block reports
    them), ``"derived"`` (output tokens minus the visible answer's tokens, counted with a tokenizer:
    Claude reports no thinking count and its thinking text is only a summary) or ``None`` (no hidden
    reasoning). ``visible_output_tokens`` is output minus reasoning.

    ``input_tokens`` is every prompt token the call processed, cached ones included;
    ``cache_read_tokens`` (OpenAI ``prompt_tokens_details.cached_tokens``, Anthropic
    ``cache_read_input_tokens``) and ``cache_write_tokens`` (Anthropic ``cache_creation_input_tokens``)
    are the parts of it priced differently. ``usage_warnings`` flags usage that cannot be right (more
    reasoning tokens than output tokens) instead of passing it silently.
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
    reasoning_tokens_source: str | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    usage_warnings: list[str] = field(default_factory=list)

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

    @property
    def truncated(self) -> bool:
        """The output cap cut the answer off (OpenAI/llama.cpp ``length``, Anthropic ``max_tokens``)."""
        return self.finish_reason in TRUNCATED_FINISH_REASONS


#: finish reasons that mean "cut off by the output cap"
TRUNCATED_FINISH_REASONS = ("length", "max_tokens", "max_output_tokens")


def usage_problems(output_tokens: int | None, reasoning_tokens: int | None) -> list[str]:
    """What is impossible in a usage block (reported as warnings, never silently passed)."""
    out: list[str] = []
    if output_tokens is not None and reasoning_tokens and reasoning_tokens > output_tokens:
        out.append(
            f"impossible usage: {reasoning_tokens} reasoning tokens reported but only {output_tokens} output "
            "tokens in all (reasoning is part of the output); the visible-token count is unreliable"
        )
    if output_tokens is not None and output_tokens < 0:
        out.append(f"impossible usage: negative output tokens ({output_tokens})")
    return out


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
