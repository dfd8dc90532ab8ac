"""The model catalogue: known models per provider, their context size, whether they reason, and their
:class:`~tale_core.providers.capabilities.Capabilities` (budget controls and accepted parameters).

Capabilities come from the providers' public documentation as of the price-table date: OpenAI o-series
take ``reasoning_effort`` low/medium/high and reject ``max_tokens`` and any temperature but 1; gpt-5
adds ``minimal`` and ``verbosity``; gpt-5.1 adds ``none`` (its default), later gpt-5 releases ``xhigh``;
Claude takes ``thinking.budget_tokens`` from 1024 to below ``max_tokens`` (billed as output), and
``output_config.effort`` on the models that have it (Opus 4.5 on; ``max`` from the 4.6 generation,
``xhigh`` from Opus 4.7), with adaptive thinking on the 4.6 generation and later. Claude 2.x SDK calls
send no temperature or seed. The embedded models take every sampling parameter and hard budgets.

Prices are not here: :mod:`tale_core.accounting.pricing` owns them (dated, with their source). Any model name a
provider accepts can still be used; the catalogue only supplies what we know ahead of time.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from tale_core.providers.capabilities import Capabilities


@dataclass(frozen=True)
class ModelInfo:
    provider: str
    model: str
    label: str
    context_window: int
    max_output_tokens: int
    #: hidden reasoning tokens (OpenAI o-series / gpt-5: reasoning_effort)
    reasoning: bool = False
    #: Anthropic extended thinking with budget_tokens
    thinking: bool = False
    #: smoke-test models that do not follow budgets, shown with a warning
    note: str = ""
    #: budget controls and accepted parameters; None = derived from the name (:func:`capabilities_for`)
    caps: Capabilities | None = field(default=None, compare=False)

    @property
    def spec(self) -> str:
        return f"{self.provider}/{self.model}"


LOCAL_DEFAULT = "local/smollm2"

_LOCAL = Capabilities(hard_budget=True, default_max_tokens=1024)
_CHAT = Capabilities(default_max_tokens=1024)
_O_SERIES = Capabilities(
    effort_levels=("low", "medium", "high"),
    effort_default="medium",
    hidden_reasoning=True,
    temperature=False,
    top_p=False,
    max_tokens_param="max_completion_tokens",
    responses_api=True,
    default_max_tokens=16_384,
)
_GPT5 = dataclasses.replace(
    _O_SERIES, effort_levels=("minimal", "low", "medium", "high"), verbosity_levels=("low", "medium", "high")
)
_GPT51 = dataclasses.replace(_GPT5, effort_levels=("none", "low", "medium", "high"), effort_default="none")
_GPT52 = dataclasses.replace(_GPT5, effort_levels=("none", "low", "medium", "high", "xhigh"), effort_default="none")
_CLAUDE_NO_THINKING = Capabilities(temperature=False, top_p=False, seed=False, default_max_tokens=4096)


def _claude(max_out: int, efforts: tuple[str, ...] = (), adaptive: bool = False) -> Capabilities:
    return Capabilities(
        thinking_budget=(1024, max_out - 1),
        thinking_style="anthropic",
        thinking_below_max_tokens=True,
        adaptive_thinking=adaptive,
        effort_levels=efforts,
        effort_default="high" if efforts else None,
        hidden_reasoning=True,
        temperature=False,
        top_p=False,
        seed=False,
        default_max_tokens=16_000,
    )


CATALOG: tuple[ModelInfo, ...] = (
    ModelInfo(
        "local",
        "smollm2",
        "SmolLM2-135M-Instruct (embedded, Q4_1)",
        8192,
        2048,
        note="Smoke-test model: tiny, runs anywhere, ignores budgets and is almost always wrong.",
        caps=_LOCAL,
    ),
    ModelInfo(
        "local",
        "qwen2.5-coder-1.5b",
        "Qwen2.5-Coder-1.5B-Instruct (embedded, Q4_K_M, optional)",
        32768,
        4096,
        note="Optional demo model that shows token elasticity; install with `make install-qwen`.",
        caps=_LOCAL,
    ),
    ModelInfo("openai", "gpt-4o-mini", "GPT-4o mini", 128_000, 16_384, caps=_CHAT),
    ModelInfo("openai", "gpt-4o", "GPT-4o", 128_000, 16_384, caps=_CHAT),
    ModelInfo("openai", "gpt-4.1-mini", "GPT-4.1 mini", 1_047_576, 32_768, caps=_CHAT),
    ModelInfo("openai", "gpt-4.1", "GPT-4.1", 1_047_576, 32_768, caps=_CHAT),
    ModelInfo("openai", "o3-mini", "o3-mini", 200_000, 100_000, reasoning=True, caps=_O_SERIES),
    ModelInfo("openai", "o4-mini", "o4-mini", 200_000, 100_000, reasoning=True, caps=_O_SERIES),
    ModelInfo("openai", "gpt-5-mini", "GPT-5 mini", 400_000, 128_000, reasoning=True, caps=_GPT5),
    ModelInfo(
        "anthropic", "claude-haiku-4-5", "Claude Haiku 4.5", 200_000, 64_000, thinking=True, caps=_claude(64_000)
    ),
    ModelInfo(
        "anthropic",
        "claude-sonnet-4-6",
        "Claude Sonnet 4.6",
        200_000,
        64_000,
        thinking=True,
        caps=_claude(64_000, ("low", "medium", "high", "max"), adaptive=True),
    ),
    ModelInfo(
        "anthropic",
        "claude-opus-4-7",
        "Claude Opus 4.7",
        200_000,
        32_000,
        thinking=True,
        caps=_claude(32_000, ("low", "medium", "high", "xhigh", "max"), adaptive=True),
    ),
    ModelInfo(
        "anthropic",
        "claude-haiku-5-5",
        "Claude Haiku 5.5",
        200_000,
        64_000,
        thinking=True,
        caps=_claude(64_000, ("low", "medium", "high", "xhigh", "max"), adaptive=True),
    ),
    ModelInfo(
        "anthropic",
        "claude-sonnet-5-5",
        "Claude Sonnet 5.5",
        200_000,
        64_000,
        thinking=True,
        caps=_claude(64_000, ("low", "medium", "high", "xhigh", "max"), adaptive=True),
    ),
)

_BY_SPEC = {m.spec: m for m in CATALOG}


def lookup(provider: str, model: str) -> ModelInfo:
    """Known info, or conservative defaults for a model the catalogue does not list (its provider
    family's guess, :func:`tale_core.providers.registry.describe`)."""
    info = _BY_SPEC.get(f"{provider}/{model}")
    if info is not None:
        return info
    from tale_core.providers.registry import describe

    return describe(provider, model)


def _derived_caps(info: ModelInfo) -> Capabilities:
    """Capabilities of a model the catalogue does not list, from its provider and name."""
    provider, model = info.provider, info.model
    if provider == "local":
        return _LOCAL
    if provider == "fake":
        # the scripted models simulate every control (tests and offline demos)
        from tale_core.providers.capabilities import ALL_EFFORT_LEVELS

        return Capabilities(
            thinking_budget=(1, 1_000_000),
            thinking_style="anthropic",
            effort_levels=ALL_EFFORT_LEVELS,
            hidden_reasoning=True,
            default_max_tokens=1024,
        )
    if provider == "openai":
        m = re.match(r"gpt-5(?:\.(\d+))?", model)
        if m:
            minor = int(m.group(1) or 0)
            return _GPT52 if minor >= 2 else (_GPT51 if minor == 1 else _GPT5)
        if info.reasoning:
            return _O_SERIES
        return _CHAT
    if provider == "anthropic":
        if not info.thinking:
            return _CLAUDE_NO_THINKING
        return _claude(info.max_output_tokens)
    if provider.startswith("compat"):
        return _CHAT  # a compatible endpoint: a plain chat model unless it declares more
    # another registered family: what its flags say (a thinking budget below the output cap, effort levels)
    return Capabilities(
        thinking_budget=(1024, max(1024, info.max_output_tokens - 1)) if info.thinking else None,
        thinking_style="anthropic" if info.thinking else None,
        effort_levels=("low", "medium", "high") if info.reasoning else (),
        default_max_tokens=1024,
    )


def capabilities_for(provider: str, model: str) -> Capabilities:
    """The :class:`Capabilities` of ``provider/model`` (catalogued, or derived from the name).

    A compatible endpoint's declared capabilities live in its settings; its model instance exposes them
    as ``.capabilities``.
    """
    return info_caps(lookup(provider, model))


def info_caps(info: ModelInfo) -> Capabilities:
    """The :class:`Capabilities` of a listed or described model: its own, else derived from its name."""
    return info.caps if info.caps is not None else _derived_caps(info)
