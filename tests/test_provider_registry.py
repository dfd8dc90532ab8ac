"""The registry's side of the API providers: resolve() and list_models() with and without keys."""

from __future__ import annotations

import pytest

from tale_core.errors import AuthError, UnknownModel
from tale_core.providers import list_models, resolve
from tale_core.providers.anthropic_api import AnthropicModel
from tale_core.providers.openai_compat import OpenAIModel
from tale_core.settings import Endpoint, ProviderSettings
from tale_core.types import GenParams, Message
from tests.fakeservers import FakeAnthropic, FakeOpenAI, isolate_sdk_env

MSGS = [Message("user", "What is 2 + 2?")]


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    isolate_sdk_env(monkeypatch)


def no_keys() -> ProviderSettings:
    return ProviderSettings.from_env(env={})


def test_openai_without_a_key_says_which_variable_to_set():
    with pytest.raises(AuthError, match="OPENAI_API_KEY") as ei:
        resolve("openai/gpt-4o-mini", no_keys())
    assert ei.value.provider == "openai"


def test_anthropic_without_a_key_says_which_variable_to_set():
    with pytest.raises(AuthError, match="ANTHROPIC_API_KEY"):
        resolve("anthropic/claude-haiku-4-5", no_keys())


def test_keys_and_base_urls_from_settings_reach_the_models():
    s = ProviderSettings.from_env(
        env={"OPENAI_API_KEY": "sk-a", "ANTHROPIC_API_KEY": "sk-b", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
        timeout_s=7.0,
        max_retries=1,
    )
    o = resolve("openai/o4-mini", s)
    a = resolve("anthropic/claude-haiku-4-5", s)
    assert isinstance(o, OpenAIModel) and isinstance(a, AnthropicModel)
    assert o.spec == "openai/o4-mini" and o.base_url == "http://127.0.0.1:9/v1" and o.info.reasoning
    assert (o.timeout_s, o.max_retries, a.timeout_s, a.max_retries) == (7.0, 1, 7.0, 1)
    assert a.spec == "anthropic/claude-haiku-4-5" and a.base_url == "https://api.anthropic.com"


def test_resolved_models_call_the_configured_servers():
    with FakeOpenAI(api_key="sk-a") as so, FakeAnthropic(api_key="sk-b") as sa:
        s = ProviderSettings.from_env(
            env={
                "OPENAI_API_KEY": "sk-a",
                "OPENAI_BASE_URL": so.base_url,
                "ANTHROPIC_API_KEY": "sk-b",
                "ANTHROPIC_BASE_URL": sa.base_url,
            }
        )
        so.enqueue(so.chat("four", prompt_tokens=4, completion_tokens=1))
        sa.enqueue(sa.message("four", input_tokens=5, output_tokens=2))
        assert resolve("openai/gpt-4o-mini", s).complete(MSGS, GenParams()).output_tokens == 1
        assert resolve("anthropic/claude-haiku-4-5", s).complete(MSGS, GenParams()).output_tokens == 2
        assert so.count == 1 and sa.count == 1


def test_compat_endpoint_routes_to_its_base_url_with_its_own_key():
    with FakeOpenAI(api_key="local-secret") as srv:
        ep = Endpoint("myllm", srv.base_url, models=("qwen-7b",), api_key_env="MYLLM_KEY")
        s = ProviderSettings(endpoints={"myllm": ep}, env={"MYLLM_KEY": "local-secret"})
        m = resolve("compat:myllm/qwen-7b", s)
        assert isinstance(m, OpenAIModel) and m.base_url == srv.base_url and m.provider == "compat:myllm"
        srv.enqueue(srv.chat("[[4]]", prompt_tokens=9, completion_tokens=3))
        c = m.complete(MSGS, GenParams(max_tokens=32))
        assert c.provider == "compat:myllm" and c.model == "qwen-7b" and c.text == "[[4]]"
        assert srv.requests[0].header("authorization") == "Bearer local-secret"
        assert srv.requests[0].body["model"] == "qwen-7b"
        assert c.runtime.endswith(f"@ 127.0.0.1:{srv.port}")


def test_compat_endpoint_without_a_key_still_works():
    with FakeOpenAI() as srv:
        s = ProviderSettings(endpoints={"ollama": Endpoint("ollama", srv.base_url)}, env={})
        srv.enqueue(srv.chat("ok"))
        assert resolve("compat:ollama/llama3", s).complete(MSGS, GenParams()).text == "ok"
        assert srv.requests[0].header("authorization") == "Bearer not-needed"


def test_compat_endpoint_with_a_rejected_key_names_the_endpoint():
    with FakeOpenAI(api_key="right") as srv:
        s = ProviderSettings(
            endpoints={"vllm": Endpoint("vllm", srv.base_url, api_key_env="VLLM_KEY")}, env={"VLLM_KEY": "wrong"}
        )
        with pytest.raises(AuthError, match="endpoint 'vllm' API key was rejected"):
            resolve("compat:vllm/m", s).complete(MSGS, GenParams())


def test_unknown_endpoint_and_provider_are_clear_errors():
    with pytest.raises(UnknownModel, match="No endpoint named 'nope'"):
        resolve("compat:nope/m", no_keys())
    with pytest.raises(UnknownModel, match="Unknown provider"):
        resolve("mistral/large", no_keys())


def _by_spec(settings: ProviderSettings) -> dict:
    return {st.spec: st for st in list_models(settings)}


def test_list_models_flags_api_models_unavailable_without_keys():
    models = _by_spec(no_keys())
    assert not models["openai/gpt-4o-mini"].available
    assert models["openai/gpt-4o-mini"].reason == "needs OPENAI_API_KEY"
    assert not models["anthropic/claude-haiku-4-5"].available
    assert models["anthropic/claude-haiku-4-5"].reason == "needs ANTHROPIC_API_KEY"


def test_list_models_flags_api_models_available_with_keys_and_lists_endpoints():
    ep = Endpoint("lab", "http://127.0.0.1:9/v1", models=("m1", "m2"))
    s = ProviderSettings.from_env(env={"OPENAI_API_KEY": "sk-a", "ANTHROPIC_API_KEY": "sk-b"})
    s.endpoints["lab"] = ep
    models = _by_spec(s)
    assert all(st.available for spec, st in models.items() if spec.startswith(("openai/", "anthropic/")))
    assert models["compat:lab/m1"].available and models["compat:lab/m2"].available
    d = models["openai/o4-mini"].to_dict()
    assert d["reasoning"] is True and d["available"] is True
