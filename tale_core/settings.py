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

    def __post_init__(self) -> None:
        if not _ENDPOINT_NAME.match(self.name):
            raise TaleError(f"Endpoint name {self.name!r}: use 1-40 lowercase letters, digits, '-', '_' or '.'")
        if not re.match(r"^https?://[^\s]+$", self.base_url):
            raise TaleError(f"Endpoint {self.name}: base URL must start with http:// or https://")

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "base_url": self.base_url,
            "models": list(self.models),
            "api_key_env": self.api_key_env,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Endpoint:
        return cls(
            name=str(d["name"]),
            base_url=str(d["base_url"]).rstrip("/"),
            models=tuple(str(m) for m in d.get("models") or ()),
            api_key_env=d.get("api_key_env") or None,
        )


@dataclass
class ProviderSettings:
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    #: seconds before one HTTP call gives up
    timeout_s: float = 120.0
    #: the SDKs' own retry count for 429 / 5xx / connection errors
    max_retries: int = 2
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
        }


def parse_endpoints(text: str) -> dict[str, Endpoint]:
    """Endpoints from JSON: a list of ``{name, base_url, models, api_key_env}`` objects."""
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
