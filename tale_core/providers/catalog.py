"""The model catalogue: known models per provider, their context size and whether they reason.

Prices are not here: :mod:`tale_core.accounting.pricing` owns them (dated, with their source). Any model name a
provider accepts can still be used; the catalogue only supplies what we know ahead of time.
"""

from __future__ import annotations

from dataclasses import dataclass


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

    @property
    def spec(self) -> str:
        return f"{self.provider}/{self.model}"


LOCAL_DEFAULT = "local/smollm2"

CATALOG: tuple[ModelInfo, ...] = (
    ModelInfo(
        "local",
        "smollm2",
        "SmolLM2-135M-Instruct (embedded, Q4_1)",
        8192,
        2048,
        note="Smoke-test model: tiny, runs anywhere, ignores budgets and is almost always wrong.",
    ),
    ModelInfo(
        "local",
        "qwen2.5-coder-1.5b",
        "Qwen2.5-Coder-1.5B-Instruct (embedded, Q4_K_M, optional)",
        32768,
        4096,
        note="Optional demo model that shows token elasticity; install with `make install-qwen`.",
    ),
    ModelInfo("openai", "gpt-4o-mini", "GPT-4o mini", 128_000, 16_384),
    ModelInfo("openai", "gpt-4o", "GPT-4o", 128_000, 16_384),
    ModelInfo("openai", "gpt-4.1-mini", "GPT-4.1 mini", 1_047_576, 32_768),
    ModelInfo("openai", "gpt-4.1", "GPT-4.1", 1_047_576, 32_768),
    ModelInfo("openai", "o3-mini", "o3-mini", 200_000, 100_000, reasoning=True),
    ModelInfo("openai", "o4-mini", "o4-mini", 200_000, 100_000, reasoning=True),
    ModelInfo("openai", "gpt-5-mini", "GPT-5 mini", 400_000, 128_000, reasoning=True),
    ModelInfo("anthropic", "claude-haiku-4-5", "Claude Haiku 4.5", 200_000, 64_000, thinking=True),
    ModelInfo("anthropic", "claude-sonnet-4-6", "Claude Sonnet 4.6", 200_000, 64_000, thinking=True),
    ModelInfo("anthropic", "claude-opus-4-7", "Claude Opus 4.7", 200_000, 32_000, thinking=True),
    ModelInfo("anthropic", "claude-haiku-5-5", "Claude Haiku 5.5", 200_000, 64_000, thinking=True),
    ModelInfo("anthropic", "claude-sonnet-5-5", "Claude Sonnet 5.5", 200_000, 64_000, thinking=True),
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
