"""Where provider keys and custom endpoints come from: the environment, or values the caller passes in.

Keys are held in memory only. Nothing here writes them anywhere; ``redacted()`` is what may be logged.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tale_core.errors import TaleError
from tale_core.redact import public_url, url_secrets

_ENDPOINT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


@dataclass(frozen=True)
class Endpoint:
    """A user-added OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp, ...)."""

    name: str
    base_url: str
    models: tuple[str, ...] = ()
    #: name of the environment variable that holds this endpoint's key (never the key itself)
    api_key_env: str | None = None
    #: what its models can do (``Capabilities.from_dict`` keys: effort_levels, thinking_budget,
    #: thinking_style, max_tokens_param, temperature, hard_budget, ...); empty = a plain chat model
    capabilities: Mapping[str, Any] = field(default_factory=dict, compare=False)
    #: calls at once (None = the settings' concurrency), client timeout and SDK retries for this endpoint
    concurrency: int | None = None
    timeout_s: float | None = None
    max_retries: int | None = None

    def __post_init__(self) -> None:
        if not _ENDPOINT_NAME.match(self.name):
            raise TaleError(f"Endpoint name {self.name!r}: use 1-40 lowercase letters, digits, '-', '_' or '.'")
        if not re.match(r"^https?://[^\s]+$", self.base_url):
            raise TaleError(f"Endpoint {self.name}: base URL must start with http:// or https://")
        if self.concurrency is not None:
            check_concurrency(self.concurrency, f"Endpoint {self.name}: concurrency")
        if self.timeout_s is not None:
            check_timeout(self.timeout_s, f"Endpoint {self.name}: timeout_s")
        if self.max_retries is not None:
            check_retries(self.max_retries, f"Endpoint {self.name}: max_retries")
        if self.capabilities:
            self.caps()  # a bad declaration is a clear message now, not at the first call

    def caps(self) -> Any:
        """The endpoint's :class:`~tale_core.providers.capabilities.Capabilities`."""
        from tale_core.providers.capabilities import Capabilities

        try:
            return Capabilities.from_dict(dict(self.capabilities))
        except TaleError as e:
            raise TaleError(f"Endpoint {self.name}: {e}") from None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {
            "name": self.name,
            "base_url": self.base_url,
            "models": list(self.models),
            "api_key_env": self.api_key_env,
        }
        if self.capabilities:
            d["capabilities"] = dict(self.capabilities)
        for k in ("concurrency", "timeout_s", "max_retries"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> Endpoint:
        caps = d.get("capabilities") or {}
        if not isinstance(caps, Mapping):
            raise TaleError(f"Endpoint {d.get('name')}: 'capabilities' must be an object")
        return cls(
            name=str(d["name"]),
            base_url=str(d["base_url"]).rstrip("/"),
            models=tuple(str(m) for m in d.get("models") or ()),
            api_key_env=d.get("api_key_env") or None,
            capabilities=dict(caps),
            concurrency=d.get("concurrency"),
            timeout_s=d.get("timeout_s"),
            max_retries=d.get("max_retries"),
        )


def check_concurrency(v: Any, what: str = "Concurrency") -> int:
    from tale_core.providers.limiter import MAX_CONCURRENCY

    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_CONCURRENCY:
        raise TaleError(f"{what} must be a whole number from 1 to {MAX_CONCURRENCY}, not {v!r}")
    return v


def check_timeout(v: Any, what: str = "Timeout") -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 3600:
        raise TaleError(f"{what} must be a number of seconds above 0 and at most 3600, not {v!r}")
    return float(v)


def check_retries(v: Any, what: str = "Retries") -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 20:
        raise TaleError(f"{what} must be a whole number from 0 to 20, not {v!r}")
    return v


def _env_number(env: Mapping[str, str], name: str, kind: type) -> Any:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        return kind(raw.strip())
    except ValueError:
        raise TaleError(f"{name}={raw!r} is not a {'whole number' if kind is int else 'number'}") from None


@dataclass
class ProviderSettings:
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    #: seconds before one HTTP call gives up (``TALE_TIMEOUT_S``); a stream's clock restarts with each piece
    timeout_s: float = 120.0
    #: the SDKs' own retry count for 429 / 5xx / connection errors (``TALE_MAX_RETRIES``)
    max_retries: int = 2
    #: calls at once per API provider and key (``TALE_CONCURRENCY``), the adaptive limiter's maximum
    concurrency: int = 32
    #: extra rounds a call rate-limited (429/529) after the SDK's retries gets, waiting Retry-After each
    #: time: such a request was not processed, so resending it costs nothing (``TALE_RATE_LIMIT_RETRIES``)
    rate_limit_retries: int = 8
    #: "chat" (Chat Completions) or "responses" (the Responses API) for ``openai/*`` (``TALE_OPENAI_API``)
    openai_api: str = "chat"
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    #: keys typed for an endpoint in this session, by endpoint name (memory only; never in ``to_dict``)
    endpoint_keys: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> ProviderSettings:
        env = dict(os.environ if env is None else env)
        s = cls(
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            anthropic_api_key=env.get("ANTHROPIC_API_KEY") or None,
            anthropic_base_url=env.get("ANTHROPIC_BASE_URL") or None,
            env=env,
        )
        for attr, name, kind, check in (
            ("concurrency", "TALE_CONCURRENCY", int, check_concurrency),
            ("timeout_s", "TALE_TIMEOUT_S", float, check_timeout),
            ("max_retries", "TALE_MAX_RETRIES", int, check_retries),
            ("rate_limit_retries", "TALE_RATE_LIMIT_RETRIES", int, check_retries),
        ):
            v = _env_number(env, name, kind)
            if v is not None:
                setattr(s, attr, check(v, name))
        api = (env.get("TALE_OPENAI_API") or "").strip().lower()
        if api:
            if api not in ("chat", "responses"):
                raise TaleError(f"TALE_OPENAI_API={api!r}: use 'chat' or 'responses'")
            s.openai_api = api
        raw = env.get("TALE_ENDPOINTS")
        if raw:
            s.endpoints.update(parse_endpoints(raw))
        path = env.get("TALE_ENDPOINTS_FILE")
        if path and Path(path).is_file():
            s.endpoints.update(parse_endpoints(Path(path).read_text(encoding="utf-8")))
        for k, v in overrides.items():
            if v is not None:
                setattr(s, k, v)
        return s

    def endpoint_key(self, ep: Endpoint) -> str | None:
        """The key typed for ``ep`` in this session, else the variable its (host-configured) entry names."""
        typed = self.endpoint_keys.get(ep.name)
        if typed:
            return typed
        return self.env.get(ep.api_key_env) if ep.api_key_env else None

    def call_settings(self, ep: Endpoint | None = None) -> dict[str, Any]:
        """Concurrency, timeout and retries that apply (an endpoint's own values win); recorded with
        every experiment."""
        return {
            "concurrency": ep.concurrency if ep is not None and ep.concurrency is not None else self.concurrency,
            "timeout_s": ep.timeout_s if ep is not None and ep.timeout_s is not None else self.timeout_s,
            "max_retries": ep.max_retries if ep is not None and ep.max_retries is not None else self.max_retries,
            "rate_limit_retries": self.rate_limit_retries,
        }

    def secret_values(self) -> list[str]:
        """Every value used as a key: provider keys, endpoint keys, and credentials inside base URLs.

        The store scrubs these literally from anything it saves, whatever the variable holding them is called.
        """
        out = [v for v in (self.openai_api_key, self.anthropic_api_key) if v]
        for url in (self.openai_base_url, self.anthropic_base_url):
            out += url_secrets(url)
        for ep in self.endpoints.values():
            key = self.endpoint_key(ep)
            if key:
                out.append(key)
            out += url_secrets(ep.base_url)
        return out

    def redacted(self) -> dict:
        return {
            "openai_api_key": "set" if self.openai_api_key else "missing",
            "anthropic_api_key": "set" if self.anthropic_api_key else "missing",
            "openai_base_url": public_url(self.openai_base_url) if self.openai_base_url else None,
            "endpoints": [{**e.to_dict(), "base_url": public_url(e.base_url)} for e in self.endpoints.values()],
            **self.call_settings(),
        }


def parse_endpoints(text: str) -> dict[str, Endpoint]:
    """Endpoints from JSON: a list of ``{name, base_url, models, api_key_env}`` objects, each optionally
    with ``capabilities`` (an object), ``concurrency``, ``timeout_s`` and ``max_retries``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise TaleError(f"Endpoints are not valid JSON: {e.msg} (line {e.lineno})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise TaleError("Endpoints must be a JSON list of objects")
    out = {}
    for item in data:
        if not isinstance(item, dict) or "name" not in item or "base_url" not in item:
            raise TaleError("Each endpoint needs 'name' and 'base_url'")
        ep = Endpoint.from_dict(item)
        out[ep.name] = ep
    return out
