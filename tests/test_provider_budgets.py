"""Issue 14's defects, one test each, against the loopback fakes that know the providers' rules; plus
capabilities, budget forcing and the adaptive limiter (issue 11)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tale_core.accounting.pricing import completion_cost, cost_usd
from tale_core.engine.calls import call_model
from tale_core.engine.methods import run_method
from tale_core.errors import InvalidRequest, TaleError
from tale_core.providers import resolve
from tale_core.providers.capabilities import (
    Capabilities,
    UnsupportedMethod,
    check_method_supported,
    is_deterministic,
)
from tale_core.providers.catalog import capabilities_for
from tale_core.providers.forcing import FORCE_ANSWER, WAIT, StepResult, force_budget
from tale_core.providers.limiter import AdaptiveLimiter, get_limiter, reset_limiters
from tale_core.providers.openai_compat import OpenAIModel
from tale_core.settings import ProviderSettings, parse_endpoints
from tale_core.types import Completion, GenParams, Message
from tests.fakeservers import FakeOpenAI, closed_port_url, isolate_sdk_env

KEY = "sk-test-loopback-123"
MSGS = [Message("system", "You are a helpful assistant."), Message("user", "What is 2 + 2?")]


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    isolate_sdk_env(monkeypatch)
    monkeypatch.setenv("OPENAI_BASE_URL", closed_port_url("/v1"))
    reset_limiters()


def make(srv, model="gpt-4o-mini", **kw) -> OpenAIModel:
    kw.setdefault("timeout_s", 5.0)
    kw.setdefault("max_retries", 0)
    return OpenAIModel(model, api_key=KEY, base_url=srv.base_url, **kw)


class DictCache:
    def __init__(self) -> None:
        self.store: dict[str, Completion] = {}
        self.puts = 0

    def get(self, key):
        return self.store.get(key)

    def put(self, key, record):
        self.puts += 1
        self.store[key] = record.completion


# -- the fakes know the rules ------------------------------------------------------------------------------


def test_the_fake_refuses_what_openai_refuses_for_o_series():
    import openai

    with FakeOpenAI(api_key=KEY) as srv:
        client = openai.OpenAI(api_key=KEY, base_url=srv.base_url, max_retries=0)
        with pytest.raises(openai.BadRequestError, match="max_completion_tokens"):
            client.chat.completions.create(model="o4-mini", messages=[{"role": "user", "content": "x"}], max_tokens=5)
        with pytest.raises(openai.BadRequestError, match="temperature"):
            client.chat.completions.create(model="o4-mini", messages=[{"role": "user", "content": "x"}], temperature=0)
        with pytest.raises(openai.BadRequestError, match="minimal"):
            client.chat.completions.create(
                model="o4-mini", messages=[{"role": "user", "content": "x"}], reasoning_effort="minimal"
            )
        with pytest.raises(openai.BadRequestError, match="reasoning_effort"):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], reasoning_effort="low"
            )


# -- one test per defect of issue 14 -----------------------------------------------------------------------


def test_o4_mini_gets_max_completion_tokens_and_no_temperature_and_the_strict_fake_accepts_it():
    with FakeOpenAI(api_key=KEY) as srv:
        srv.enqueue(srv.chat("[[4]]", completion_tokens=300, reasoning_tokens=290))
        c = make(srv, model="o4-mini").complete(MSGS, GenParams(max_tokens=2000, reasoning_effort="low"))
        body = srv.requests[0].body
    assert body["max_completion_tokens"] == 2000 and body["reasoning_effort"] == "low"
    assert "max_tokens" not in body and "temperature" not in body and "seed" in body
    assert (c.reasoning_tokens, c.visible_output_tokens, c.reasoning_tokens_source) == (290, 10, "provider")


def test_effort_names_follow_the_model():
    with FakeOpenAI(api_key=KEY) as srv:
        srv.enqueue(srv.chat("ok"), srv.chat("ok"))
        make(srv, model="gpt-5.1").complete(MSGS, GenParams(max_tokens=500, reasoning_effort="none"))
        make(srv, model="gpt-5-mini").complete(MSGS, GenParams(max_tokens=500, reasoning_effort="minimal"))
        assert [r.body["reasoning_effort"] for r in srv.requests] == ["none", "minimal"]
        with pytest.raises(InvalidRequest, match="takes effort minimal, low, medium, high; not 'none'"):
            make(srv, model="gpt-5-mini").complete(MSGS, GenParams(reasoning_effort="none"))
        assert srv.count == 2
    assert capabilities_for("anthropic", "claude-opus-4-7").effort_levels[-2:] == ("xhigh", "max")


def test_a_thinking_sweep_on_a_model_without_thinking_budgets_is_refused(capsys, monkeypatch):
    from tale_core.cli import main

    with pytest.raises(UnsupportedMethod, match="no thinking budget, so a thinking sweep would send the same"):
        check_method_supported(capabilities_for("openai", "o4-mini"), "thinking:2048")
    check_method_supported(capabilities_for("anthropic", "claude-sonnet-4-6"), "thinking:2048", max_tokens=4096)
    with pytest.raises(UnsupportedMethod, match="below max tokens"):
        check_method_supported(capabilities_for("anthropic", "claude-sonnet-4-6"), "thinking:4096", max_tokens=4096)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    argv = ["sweep", "q?", "--model", "openai/o4-mini", "--budgets", "1024,2048,4096", "--method", "thinking"]
    rc = main([*argv, "--max-tokens", "8192"])
    assert rc == 2 and "openai/o4-mini has no thinking budget" in capsys.readouterr().err


def test_a_compatible_endpoint_serving_a_reasoning_model_gets_max_completion_tokens_when_declared():
    with FakeOpenAI(api_key=KEY) as srv:  # the fake applies o-series rules by model name
        declared = parse_endpoints(
            json.dumps(
                {
                    "name": "vllm",
                    "base_url": srv.base_url,
                    "models": ["o4-mini"],
                    "api_key_env": "EP_KEY",
                    "capabilities": {
                        "max_tokens_param": "max_completion_tokens",
                        "temperature": False,
                        "effort_levels": ["low", "medium", "high"],
                    },
                }
            )
        )
        settings = ProviderSettings(endpoints=declared, env={"EP_KEY": KEY}, max_retries=0)
        srv.enqueue(srv.chat("ok"))
        m = resolve("compat:vllm/o4-mini", settings)
        assert m.complete(MSGS, GenParams(max_tokens=300, reasoning_effort="high")).text == "ok"
        body = srv.requests[-1].body
        assert body["max_completion_tokens"] == 300 and "temperature" not in body
        # undeclared: the server's 400 becomes a message that names the parameter and what to do
        plain = parse_endpoints(json.dumps({"name": "raw", "base_url": srv.base_url, "api_key_env": "EP_KEY"}))
        m2 = resolve("compat:raw/o4-mini", ProviderSettings(endpoints=plain, env={"EP_KEY": KEY}, max_retries=0))
        with pytest.raises(InvalidRequest, match="does not accept the parameter 'max_tokens'.*max_completion_tokens"):
            m2.complete(MSGS, GenParams(max_tokens=300, temperature=1.0))


def test_temperature_is_not_claimed_and_such_calls_are_not_cached_by_default():
    p = GenParams(max_tokens=300, temperature=0.0, seed=0)
    assert is_deterministic(capabilities_for("openai", "gpt-4o-mini"), p)
    assert not is_deterministic(capabilities_for("openai", "o4-mini"), p)
    assert not is_deterministic(capabilities_for("anthropic", "claude-sonnet-4-6"), p)
    with FakeOpenAI(api_key=KEY) as srv:
        srv.default = srv.chat("ok")
        cache = DictCache()
        reasoner = make(srv, model="o4-mini")
        call_model(reasoner, MSGS, p, cache=cache)
        call_model(reasoner, MSGS, p, cache=cache)
        assert cache.puts == 0 and srv.count == 2  # not deterministic: called twice, never replayed
        plain = make(srv)
        call_model(plain, MSGS, p, cache=cache)
        assert call_model(plain, MSGS, p, cache=cache).cache_hit and srv.count == 3


def test_an_answer_cut_off_by_the_output_cap_is_truncated_not_wrong():
    with FakeOpenAI(api_key=KEY) as srv:
        srv.enqueue(srv.chat("Let me think step by step about", finish_reason="length", completion_tokens=64))
        r = run_method(make(srv), "vanilla", "What is 2 + 2?", gold="4", params=GenParams(max_tokens=64))
    assert r.status == "truncated" and r.correct is False and r.to_row()["truncated"] is True


def test_cached_input_tokens_are_read_and_priced_cheaper():
    with FakeOpenAI(api_key=KEY) as srv:
        srv.enqueue(srv.chat("ok", prompt_tokens=54, completion_tokens=10, cached_tokens=48))
        c = make(srv).complete(MSGS, GenParams(max_tokens=50))
    assert (c.input_tokens, c.cache_read_tokens) == (54, 48)
    full = cost_usd("openai", "gpt-4o-mini", 54, 10)
    cached = completion_cost(c)
    assert full is not None and cached is not None and cached < full
    # the figure: counting every prompt token at the full price overstated this call by ~39%
    assert 1.3 < full / cached < 1.5
    # Anthropic cache writes cost more than plain input: ignoring them understated the cost
    plain = cost_usd("anthropic", "claude-sonnet-4-5", 1000, 10)
    writes = cost_usd("anthropic", "claude-sonnet-4-5", 1000, 10, cache_write_tokens=800)
    assert plain is not None and writes is not None and writes > plain


def test_long_calls_are_streamed_and_a_timed_out_stream_is_not_resent():
    with FakeOpenAI(api_key=KEY) as srv:
        srv.enqueue(srv.chat("a b c", completion_tokens=3))
        c = make(srv).complete(MSGS, GenParams(max_tokens=8192))  # nobody watches, but it is long
        assert srv.requests[0].body["stream"] is True and c.text == "a b c"
        srv.enqueue(srv.chat("one two three four", delay_s=1.0))
        with pytest.raises(TaleError, match="stopped sending"):
            make(srv, timeout_s=0.4, max_retries=2).complete(MSGS, GenParams(max_tokens=8192))
        assert srv.count == 2  # the SDK did not resend (and re-bill) the long call


def test_impossible_usage_is_flagged():
    with FakeOpenAI(api_key=KEY, reasoning_rules=False) as srv:
        srv.enqueue(srv.chat("ok", completion_tokens=20, reasoning_tokens=50))
        c = make(srv, model="my-reasoner").complete(MSGS, GenParams(max_tokens=50))
    assert c.usage_warnings and "impossible usage" in c.usage_warnings[0]
    assert c.visible_output_tokens == 0


def test_a_compatible_server_that_shows_reasoning_but_does_not_count_it_gets_derived_tokens():
    with FakeOpenAI(api_key=KEY, reasoning_rules=False) as srv:
        srv.enqueue(srv.chat("[[4]]", completion_tokens=120, reasoning_content="2 plus 2 is 4"))
        c = make(srv, model="qwq").complete(MSGS, GenParams(max_tokens=500))
    assert c.reasoning_tokens_source == "derived" and c.reasoning_tokens == 120 - c.visible_output_tokens
    assert 0 < c.visible_output_tokens <= 5


# -- capabilities from settings -----------------------------------------------------------------------------


def test_endpoint_capabilities_are_validated_with_clear_messages():
    with pytest.raises(TaleError, match="Unknown capability 'thinking_budgets'"):
        parse_endpoints('{"name": "x", "base_url": "http://127.0.0.1:1", "capabilities": {"thinking_budgets": 1}}')
    with pytest.raises(TaleError, match=r"thinking_budget must be \[min, max\]"):
        parse_endpoints('{"name": "x", "base_url": "http://127.0.0.1:1", "capabilities": {"thinking_budget": 5}}')
    with pytest.raises(TaleError, match="Endpoint g: capabilities.thinking_budget"):  # 0 is no positive minimum
        parse_endpoints('{"name": "g", "base_url": "http://127.0.0.1:1", "capabilities": {"thinking_budget": [0, 9]}}')
    eps = parse_endpoints(
        '{"name": "g", "base_url": "http://127.0.0.1:1", "capabilities": {"thinking_budget": [128, 24576]}}'
    )
    caps = eps["g"].caps()
    assert caps.thinking_budget == (128, 24576) and caps.thinking_style == "gemini"
    assert "thinking" in caps.sweep_methods()


def test_a_gemini_style_thinking_budget_travels_in_the_body():
    caps = Capabilities(thinking_budget=(128, 24576), thinking_style="gemini")
    with FakeOpenAI(api_key=KEY, reasoning_rules=False) as srv:
        srv.enqueue(srv.chat("ok"))
        make(srv, model="gemini-2.5-flash", capabilities=caps).complete(
            MSGS, GenParams(max_tokens=4000, thinking_budget=1024)
        )
        body = srv.requests[0].body
    # the body Gemini's OpenAI-compatible API documents (its Python example nests extra_body twice)
    assert body["extra_body"]["google"]["thinking_config"]["thinking_budget"] == 1024


# -- budget forcing ------------------------------------------------------------------------------------------


def _scripted_step(replies):
    """A ``step`` that plays replies in order and records what it was asked."""
    calls = []

    def step(msgs, cap, cb):
        text, finish = replies[len(calls)]
        calls.append((list(msgs), cap))
        n = min(cap, len(text.split()))
        return StepResult(text=text, finish_reason=finish, prompt_tokens=10, completion_tokens=n)

    return step, calls


def test_budget_forcing_cuts_at_n_and_forces_the_answer():
    step, calls = _scripted_step([("w " * 50, "length"), ("4]]", "stop")])
    f = force_budget(step, MSGS, 50)
    assert f.forced and f.reasoning_output_tokens == 50 and f.output_tokens == 50 + 1
    assert calls[0][1] == 50 and calls[1][0][-1].role == "assistant"
    assert calls[1][0][-1].content.endswith(FORCE_ANSWER) and f.text.endswith(FORCE_ANSWER + "4]]")


def test_budget_forcing_leaves_an_answer_within_budget_alone_and_wait_extends_it():
    step, calls = _scripted_step([("short answer [[4]]", "stop")])
    f = force_budget(step, MSGS, 50)
    assert not f.forced and len(calls) == 1 and f.text == "short answer [[4]]"
    step, calls = _scripted_step([("a b", "stop"), (" c d", "stop")])
    f = force_budget(step, MSGS, 50, waits=1)
    assert f.waits_used == 1 and calls[1][0][-1].content == "a b" + WAIT and calls[1][1] == 48


def test_budget_forcing_through_an_endpoint_that_continues_an_assistant_prefix():
    caps = Capabilities(hard_budget=True)
    with FakeOpenAI(api_key=KEY, reasoning_rules=False) as srv:
        srv.enqueue(
            srv.chat("step one step two", finish_reason="length", completion_tokens=4),
            srv.chat("4]]", completion_tokens=2),
        )
        c = make(srv, model="qwen", capabilities=caps).complete(MSGS, GenParams(max_tokens=512, hard_budget=4))
        first, second = (r.body for r in srv.requests)
    assert first["max_tokens"] == 4 and second["messages"][-1]["role"] == "assistant"
    assert second["messages"][-1]["content"] == "step one step two" + FORCE_ANSWER
    assert c.text == "step one step two" + FORCE_ANSWER + "4]]" and c.output_tokens == 6
    assert c.raw_usage["budget_forcing"]["forced"] is True and c.request["budget_forcing"]["budget"] == 4


def test_a_hard_budget_on_a_model_that_cannot_continue_a_prefix_is_refused():
    with FakeOpenAI(api_key=KEY) as srv:
        with pytest.raises(InvalidRequest, match="cannot take a hard budget"):
            make(srv).complete(MSGS, GenParams(hard_budget=50))
        assert srv.count == 0
    with pytest.raises(UnsupportedMethod, match="hard budget"):
        check_method_supported(capabilities_for("openai", "gpt-4o-mini"), "forced:50")
    check_method_supported(capabilities_for("local", "qwen2.5-coder-1.5b"), "forced:50")


def test_new_params_do_not_change_old_cache_keys():
    assert set(GenParams().to_dict()) == {
        "max_tokens",
        "temperature",
        "seed",
        "top_p",
        "reasoning_effort",
        "thinking_budget",
        "stop",
    }
    assert GenParams(hard_budget=5).to_dict()["hard_budget"] == 5


# -- the adaptive limiter (issue 11) ---------------------------------------------------------------------


def test_the_limiter_backs_off_on_429_and_grows_back():
    lim = AdaptiveLimiter("t", 16, cooldown_s=0.0)
    lim.on_overload(429, None)
    lim.on_overload(429, None)
    assert lim.limit == 4
    for _ in range(4):  # slow start: one more per success below half the maximum
        lim.on_success()
    assert lim.limit == 8
    for _ in range(200):
        lim.on_success()
    assert lim.limit == 16
    reasons = [h.reason for h in lim.history]
    assert any("backing off" in r for r in reasons) and any("growing back" in r for r in reasons)


def test_a_retry_after_holds_new_calls_back():
    lim = AdaptiveLimiter("t", 4)
    lim.on_overload(429, 0.3)
    t0 = time.monotonic()
    with lim.slot():
        pass
    assert time.monotonic() - t0 >= 0.25


def test_one_limiter_per_provider_endpoint_and_key_is_shared_by_every_model():
    a = get_limiter("openai", "http://h/v1", "k1", 16)
    assert get_limiter("openai", "http://h/v1/", "k1", 16) is a
    assert get_limiter("openai", "http://h/v1", "k2", 16) is not a
    with FakeOpenAI(api_key=KEY) as srv:
        m1, m2 = make(srv), make(srv, model="gpt-4o")
        assert m1.limiter is m2.limiter


def test_eight_sessions_share_the_limit():
    with FakeOpenAI(api_key=KEY) as srv:
        srv.default = srv.chat("ok", delay_s=0.05)
        models = [make(srv, concurrency=3) for _ in range(8)]
        threads = [
            threading.Thread(target=lambda m=m: [m.complete(MSGS, GenParams(max_tokens=5), on_text=lambda _: None)])
            for m in models
            for _ in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert srv.count == 24 and models[0].limiter.peak_in_flight <= 3


def test_every_429_the_sdk_retries_is_seen_by_the_limiter():
    with FakeOpenAI(api_key=KEY) as srv:
        srv.enqueue(srv.rate_limited("0.01"), srv.chat("ok"))
        m = make(srv, max_retries=2)
        assert m.complete(MSGS, GenParams(max_tokens=5)).text == "ok"
        assert any("429" in h.reason for h in m.limiter.history) and m.limiter.limit == 16  # halved from 32


def test_a_thinking_sweep_names_its_reference_and_never_prints_negative_savings():
    from tale_core.cli.engine import REFERENCE_NAMES, _savings_text

    ref = REFERENCE_NAMES["thinking"]
    assert "default" in ref and "no thinking budget" in ref
    assert _savings_text(-23.15, ref) == f", 24.1x the tokens of {ref}"  # was "-2415% fewer tokens"
    assert _savings_text(0.42, "vanilla CoT") == ", 42% fewer tokens than vanilla CoT"


def test_the_responses_api_for_reasoning_models():
    with FakeOpenAI(api_key=KEY) as srv:
        srv.enqueue(
            srv.response(
                "Answer: [[4]]",
                input_tokens=54,
                cached_tokens=48,
                output_tokens=300,
                reasoning_tokens=290,
                summary="Adding two and two.",
            ),
            srv.response("The answer is", output_tokens=64, reasoning_tokens=60, incomplete=True),
        )
        m = make(srv, model="gpt-5-mini", api="responses")
        c = m.complete(MSGS, GenParams(max_tokens=2000, reasoning_effort="minimal", verbosity="low"))
        body = srv.requests[0].body
        cut = m.complete(MSGS, GenParams(max_tokens=64))
    assert srv.requests[0].path == "/v1/responses" and body["max_output_tokens"] == 2000
    assert body["reasoning"] == {"summary": "auto", "effort": "minimal"} and body["text"] == {"verbosity": "low"}
    assert "temperature" not in body and "seed" not in body
    assert c.text == "Answer: [[4]]" and c.thinking == "Adding two and two."  # the summary is shown
    assert (c.reasoning_tokens, c.visible_output_tokens, c.reasoning_tokens_source) == (290, 10, "provider")
    assert (c.input_tokens, c.cache_read_tokens) == (54, 48)
    assert cut.finish_reason == "length" and cut.truncated


def test_output_caps_default_per_model():
    from tale_core.cli.engine import _default_max_tokens

    assert _default_max_tokens(["local/smollm2"]) == 1024
    assert _default_max_tokens(["openai/o4-mini", "local/smollm2"]) == 16_384  # reasoning needs room
    assert _default_max_tokens(["fake/elastic"], floor=4096 + 1024) == 5120  # thinking budget 4096 fits


def test_the_new_usage_fields_survive_the_store_round_trip():
    from db.rows import StoredCall, record_to_row
    from tale_core.protocols import CallRecord

    c = Completion(
        text="ok",
        provider="anthropic",
        model="claude-sonnet-4-6",
        input_tokens=1010,
        output_tokens=300,
        reasoning_tokens=290,
        reasoning_tokens_source="derived",
        cache_read_tokens=900,
        cache_write_tokens=100,
        usage_warnings=["impossible usage: x"],
    )
    rec = CallRecord(spec="anthropic/claude-sonnet-4-6", messages=MSGS, params=GenParams(), completion=c)
    back = StoredCall.from_row(record_to_row("exp1", rec)).to_completion()
    assert back is not None
    assert (back.reasoning_tokens_source, back.cache_read_tokens, back.cache_write_tokens) == ("derived", 900, 100)
    assert back.usage_warnings == ["impossible usage: x"] and back.visible_output_tokens == 10
