"""The provider registry: each provider family registers itself, and nothing else lists providers.

A :class:`ProviderFamily` says its prefix (``openai``; ``compat`` also matches ``compat:<endpoint>``),
how a spec becomes a model (``build``), whether it needs an API key and in which variable, why a listed
model is not ready, which models it lists beyond the catalogue, what to assume about a model the
catalogue does not know, and which capabilities its models have. Each provider module registers its
family at its bottom (in the spirit of simonw/llm's ``register_models``); the built-in modules are
imported on first use, and any other module can call :func:`register_provider` too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tale_core.errors import AuthError, UnknownModel
from tale_core.providers.base import ChatModel
from tale_core.providers.catalog import CATALOG, ModelInfo, info_caps
from tale_core.settings import ProviderSettings

#: capability names (methods name the one they need in ``Method.requires``)
PROMPT_BUDGET = "prompt_budget"
THINKING_BUDGET = "thinking_budget"
EFFORT = "effort"
#: a hard cap on reasoning tokens by budget forcing (the runtime continues the model's own text)
HARD_BUDGET = "hard_budget"
#: not a model capability: a learned budget estimator was saved for this model (tale_core.estimators)
LEARNED_ESTIMATOR = "learned_estimator"
#: what a page says a model lacks when it cannot run a method that needs the capability
CAPABILITY_TEXT = {
    PROMPT_BUDGET: "a token budget in the prompt",
    THINKING_BUDGET: "a thinking budget (extended thinking: Claude 3.7 / 4.x)",
    EFFORT: "reasoning effort (OpenAI reasoning models: o-series, gpt-5)",
    HARD_BUDGET: "a hard budget by budget forcing (a runtime that continues the model's text: the embedded models)",
    LEARNED_ESTIMATOR: "a learned budget estimator (train one on the Budget estimators page)",
}

_BUILTIN_MODULES = (
    "tale_core.providers.local",
    "tale_core.providers.openai_compat",
    "tale_core.providers.anthropic_api",
    "tale_core.providers.scripted",
)


@dataclass(frozen=True)
class ModelStatus:
    """A listed model and whether it is ready to use now (if not, ``reason`` says why)."""

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


def info_capabilities(info: ModelInfo) -> frozenset[str]:
    """The capability names of a model, read from its :class:`~tale_core.providers.capabilities.Capabilities`
    (catalogue data, an endpoint's declaration, or derived from its name): the one source of truth."""
    c = info_caps(info)
    caps: set[str] = set()
    if c.prompt_budget:
        caps.add(PROMPT_BUDGET)
    if c.thinking:
        caps.add(THINKING_BUDGET)
    if c.effort:
        caps.add(EFFORT)
    if c.hard_budget:
        caps.add(HARD_BUDGET)
    return frozenset(caps)


@dataclass(frozen=True)
class ProviderFamily:
    """One provider family. Only ``prefix``, ``label`` and ``build`` are required."""

    prefix: str
    label: str
    #: (provider as written in the spec, model name, settings) -> a ready model; raises UnknownModel
    build: Callable[[str, str, ProviderSettings], ChatModel]
    #: how specs look, for messages ("compat:<endpoint>")
    pattern: str = ""
    #: the environment variable its API key comes from; with ``api_key`` the family needs a key
    key_env: str | None = None
    api_key: Callable[[ProviderSettings], str | None] | None = None
    #: why a catalogue model of this family is not ready ("" when it is), beyond a missing key
    readiness: Callable[[ModelInfo], str] | None = None
    #: models listed beyond the catalogue (user endpoints, scripted fakes)
    extra_models: Callable[[ProviderSettings], Iterable[ModelInfo]] | None = None
    #: what to assume about a model the catalogue does not list: (provider, model) -> info
    describe: Callable[[str, str], ModelInfo] | None = None
    #: capabilities of a model; default :func:`info_capabilities`
    capabilities: Callable[[ModelInfo], frozenset[str]] = info_capabilities

    def key(self, settings: ProviderSettings) -> str:
        """The API key from ``settings``; :class:`AuthError` naming the variable when it is missing."""
        key = self.api_key(settings) if self.api_key is not None else None
        if not key:
            raise AuthError(
                f"No {self.label} API key: set {self.key_env} or enter a key in the sidebar.", provider=self.prefix
            )
        return key

    def status(self, info: ModelInfo, settings: ProviderSettings) -> ModelStatus:
        if self.api_key is not None and not self.api_key(settings):
            return ModelStatus(info, False, f"needs {self.key_env}")
        why = self.readiness(info) if self.readiness is not None else ""
        return ModelStatus(info, not why, why)


_FAMILIES: dict[str, ProviderFamily] = {}


def register_provider(family: ProviderFamily) -> ProviderFamily:
    """Add a provider family (its prefix must be new); returns it."""
    if family.prefix in _FAMILIES:
        raise ValueError(f"Provider prefix {family.prefix!r} is already registered")
    _FAMILIES[family.prefix] = family
    return family


def families() -> tuple[ProviderFamily, ...]:
    """Every registered family, built-ins first, in registration order."""
    for name in _BUILTIN_MODULES:
        importlib.import_module(name)
    return tuple(_FAMILIES.values())


def find_family(provider: str) -> ProviderFamily | None:
    """The family of a spec's provider part (``compat:lab`` -> the ``compat`` family), or None."""
    families()
    return _FAMILIES.get(provider.split(":", 1)[0])


def family_for(provider: str, spec: str = "") -> ProviderFamily:
    fam = find_family(provider)
    if fam is None:
        known = ", ".join(f.pattern or f.prefix for f in families())
        raise UnknownModel(f"Unknown provider {provider!r} in {spec or provider!r}; use one of: {known}")
    return fam


def describe(provider: str, model: str) -> ModelInfo:
    """Conservative info for a model the catalogue does not list (the family's guess, if it has one)."""
    fam = find_family(provider)
    if fam is not None and fam.describe is not None:
        return fam.describe(provider, model)
    return ModelInfo(provider, model, model, 128_000, 4096)


def model_capabilities(info: ModelInfo) -> frozenset[str]:
    """Which budget controls a model has (``prompt_budget``, ``thinking_budget``, ``effort``, ...)."""
    fam = find_family(info.provider)
    return fam.capabilities(info) if fam is not None else info_capabilities(info)


def statuses(settings: ProviderSettings) -> list[ModelStatus]:
    """Every model of every family, catalogue models first within a family, each with its readiness."""
    out: list[ModelStatus] = []
    for fam in families():
        out.extend(fam.status(info, settings) for info in CATALOG if info.provider == fam.prefix)
        if fam.extra_models is not None:
            out.extend(ModelStatus(info, True) for info in fam.extra_models(settings))
    return out
