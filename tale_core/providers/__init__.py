"""Providers: turn a ``provider/model`` spec into a ready :class:`ChatModel`, and list the models.

Specs:
  ``local/smollm2``, ``local/qwen2.5-coder-1.5b``   embedded llama.cpp (no key, no network)
  ``openai/<model>``                               OpenAI (or ``OPENAI_BASE_URL``)
  ``anthropic/<model>``                            Anthropic
  ``compat:<endpoint>/<model>``                    a user-added OpenAI-compatible endpoint
  ``fake/<curve>``                                 scripted models for tests and offline demos

Which prefixes exist, and how each resolves, is the provider registry's business
(:mod:`tale_core.providers.registry`): every provider module registers its family there.
"""

from __future__ import annotations

from tale_core.errors import UnknownModel
from tale_core.providers.base import ChatModel, OnText
from tale_core.providers.catalog import LOCAL_DEFAULT, lookup
from tale_core.providers.registry import LEARNED_ESTIMATOR, ModelStatus, family_for, model_capabilities, statuses
from tale_core.settings import ProviderSettings

__all__ = [
    "ChatModel",
    "OnText",
    "ModelStatus",
    "parse_spec",
    "resolve",
    "list_models",
    "capabilities",
    "LOCAL_DEFAULT",
]


def parse_spec(spec: str) -> tuple[str, str]:
    spec = (spec or "").strip()
    provider, _, model = spec.partition("/")
    if not provider or not model:
        raise UnknownModel(f"Model {spec!r} must look like provider/model, for example {LOCAL_DEFAULT}")
    return provider, model


def resolve(spec: str, settings: ProviderSettings | None = None) -> ChatModel:
    """Build the model for ``spec``. Raises :class:`UnknownModel` or :class:`AuthError` (missing key)."""
    settings = settings or ProviderSettings.from_env()
    provider, model = parse_spec(spec)
    return family_for(provider, spec).build(provider, model, settings)


def list_models(settings: ProviderSettings | None = None) -> list[ModelStatus]:
    """Every model we can offer, each with whether it is ready now and, if not, why."""
    return statuses(settings or ProviderSettings.from_env())


def capabilities(spec: str) -> frozenset[str]:
    """The budget controls model ``spec`` has (``prompt_budget``, ``thinking_budget``, ``effort``, ...),
    known without resolving it (no key needed), plus ``learned_estimator`` once a learned budget estimator
    was saved for it (what the "TALE (learned budget)" method needs)."""
    from tale_core.estimators.saved import trained_models

    caps = model_capabilities(lookup(*parse_spec(spec)))
    return caps | {LEARNED_ESTIMATOR} if spec in trained_models() else caps
