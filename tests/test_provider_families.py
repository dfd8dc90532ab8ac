"""Provider families register themselves: a new family resolves, lists its models and guesses unknown ones
with no change anywhere else; capabilities decide which methods a model is offered."""

from __future__ import annotations

import pytest

from tale_core.engine.methods import MethodSpec
from tale_core.errors import AuthError, UnknownModel
from tale_core.providers import capabilities, list_models, registry, resolve
from tale_core.providers.catalog import ModelInfo, lookup
from tale_core.providers.scripted import ScriptedModel, scripted_model
from tale_core.settings import ProviderSettings
from ui.method_picker import offered, unsupported


@pytest.fixture
def echo_family(monkeypatch):
    """A family 'echo' needing ECHO_KEY, listing one model, registered for one test."""
    registry.families()
    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))

    def build(provider: str, model: str, settings: ProviderSettings) -> ScriptedModel:
        fam.key(settings)  # raises AuthError naming ECHO_KEY
        return scripted_model("elastic")

    fam = registry.register_provider(
        registry.ProviderFamily(
            "echo",
            "Echo",
            build,
            key_env="ECHO_KEY",
            api_key=lambda s: s.env.get("ECHO_KEY"),
            extra_models=lambda s: [ModelInfo("echo", "one", "Echo one", 1000, 100)],
            describe=lambda provider, model: ModelInfo(provider, model, model, 1000, 100, thinking=True),
        )
    )
    return fam


def test_a_registered_family_resolves_lists_and_describes(echo_family):
    with pytest.raises(AuthError, match="ECHO_KEY") as ei:
        resolve("echo/one", ProviderSettings(env={}))
    assert ei.value.provider == "echo"
    assert resolve("echo/one", ProviderSettings(env={"ECHO_KEY": "k"})).provider == "fake"
    assert "echo/one" in [m.spec for m in list_models(ProviderSettings(env={}))]
    info = lookup("echo", "two")
    assert (info.context_window, info.thinking) == (1000, True)
    assert capabilities("echo/two") == {"prompt_budget", "thinking_budget"}


def test_unknown_provider_names_the_registered_ones():
    with pytest.raises(UnknownModel, match="compat:<endpoint>"):
        resolve("mistral/large", ProviderSettings(env={}))


def test_guesses_for_unlisted_models_come_from_the_families():
    assert lookup("openai", "o3-pro").reasoning and not lookup("openai", "gpt-4.5").reasoning
    assert lookup("anthropic", "claude-3-7-sonnet").thinking and not lookup("anthropic", "claude-3-5-haiku").thinking
    assert lookup("compat:lab", "x").context_window == 8192 and lookup("nowhere", "x").context_window == 128_000


def test_capabilities_decide_what_methods_are_offered():
    assert capabilities("openai/o4-mini") == {"prompt_budget", "effort"}
    assert capabilities("anthropic/claude-haiku-4-5") == {"prompt_budget", "thinking_budget"}
    assert capabilities("fake/elastic") == {"prompt_budget", "thinking_budget", "effort"}

    def keys(models: list[str], every: bool = False) -> set[str]:
        return {m.key for m in offered(models, every=every)}

    assert {"thinking", "effort"} <= keys(["fake/elastic"])
    assert "thinking" not in keys(["local/smollm2"]) and "effort" in keys(["openai/o4-mini", "local/smollm2"])
    assert "effort" not in keys(["openai/o4-mini", "local/smollm2"], every=True)
    assert "reasoning effort" in (unsupported(MethodSpec.parse("effort:low"), "local/smollm2") or "")
    assert unsupported(MethodSpec.parse("effort:low"), "openai/o4-mini") is None
