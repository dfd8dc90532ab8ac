"""AnthropicModel through the real ``anthropic`` SDK against the loopback fake Anthropic server."""

from __future__ import annotations

import json

import anthropic
import pytest

from tale_core.errors import (
    AuthError,
    BadResponse,
    ContextTooLong,
    InvalidRequest,
    ModelNotFound,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimitError,
    ServerError,
)
from tale_core.providers.anthropic_api import DEFAULT_BASE_URL, AnthropicModel, effort_values
from tale_core.types import GenParams, Message
from tests.fakeservers import FakeAnthropic, closed_port_url, isolate_sdk_env

KEY = "sk-ant-test-loopback"
MODEL = "claude-haiku-4-5"  # thinks, and is not deprecated in the installed SDK
NO_THINK = "claude-test-plain"  # a name the catalogue does not know: no thinking
MSGS = [Message("system", "You are a helpful assistant."), Message("user", "What is 2 + 2?")]
P = GenParams(max_tokens=64)


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    isolate_sdk_env(monkeypatch)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", closed_port_url())  # must not matter


@pytest.fixture
def srv():
    with FakeAnthropic(api_key=KEY) as s:
        yield s


def make(srv, model=MODEL, **kw) -> AnthropicModel:
    kw.setdefault("timeout_s", 5.0)
    kw.setdefault("max_retries", 2)
    return AnthropicModel(model, api_key=kw.pop("api_key", KEY), base_url=srv.base_url, **kw)


# -- answers -----------------------------------------------------------------------------------------------


def test_plain_answer_with_system_prompt_and_the_servers_usage(srv):
    srv.enqueue(srv.message("Answer: [[4]]", input_tokens=21, output_tokens=8))
    c = make(srv).complete(MSGS, P)
    assert c.text == "Answer: [[4]]" and c.finish_reason == "end_turn"
    assert (c.input_tokens, c.output_tokens, c.reasoning_tokens) == (21, 8, 0)
    assert c.usage_source == "provider" and c.provider == "anthropic" and c.model == MODEL
    (req,) = srv.requests
    assert req.path == "/v1/messages" and req.body == c.request
    assert c.request["system"] == "You are a helpful assistant."
    assert c.request["messages"] == [{"role": "user", "content": "What is 2 + 2?"}]
    assert c.request["max_tokens"] == 64
    # the 2.x SDK speaks API 2026-10-21, which refuses sampling parameters
    assert req.header("anthropic-version") == "2026-10-21"
    assert not {"temperature", "top_p", "top_k", "seed"} & set(c.request)
    assert KEY not in json.dumps(c.to_dict())
    assert c.runtime == f"anthropic-sdk {anthropic.__version__} (API 2026-10-21) @ 127.0.0.1:{srv.port}"


def test_streamed_answer_uses_the_sdk_stream_helper(srv):
    pieces = ["The ", "answer ", "is ", "[[4]]."]
    srv.enqueue(srv.message("".join(pieces), pieces=pieces, input_tokens=30, output_tokens=11))
    got: list[str] = []
    c = make(srv).complete(MSGS, P, on_text=got.append)
    assert got == pieces and c.text == "The answer is [[4]]."
    assert (c.input_tokens, c.output_tokens) == (30, 11)  # input from message_start, output from message_delta
    assert c.first_token_s is not None and c.first_token_s <= c.latency_s
    body = srv.requests[0].body
    assert body["stream"] is True and body == c.request
    assert srv.requests[0].header("x-stainless-helper-method") == "stream"


def test_extended_thinking_request_shape_and_reported_thinking_tokens(srv):
    srv.enqueue(
        srv.message("[[4]]", thinking="Two plus two is four.", input_tokens=20, output_tokens=350, thinking_tokens=340)
    )
    c = make(srv).complete(MSGS, GenParams(max_tokens=4096, thinking_budget=2048, temperature=0.7))
    body = srv.requests[0].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048, "display": "summarized"}
    assert "temperature" not in body  # never with thinking (and never with API 2026-10-21)
    assert c.text == "[[4]]" and c.thinking == "Two plus two is four."
    assert (c.output_tokens, c.reasoning_tokens, c.visible_output_tokens) == (350, 340, 10)
    assert c.reasoning_tokens_source == "provider"


def test_thinking_tokens_are_output_minus_the_visible_answer_never_the_summary(srv):
    # defect: a budget-4096 call reported output 3287 but reasoning 21 (counted from the *summarized*
    # thinking text) and visible 1628 for an 11-token answer
    srv.enqueue(srv.message("Answer: [[4]]", thinking="Two plus two is four.", input_tokens=20, output_tokens=3287))
    got: list[str] = []
    c = make(srv).complete(MSGS, GenParams(max_tokens=8192, thinking_budget=4096), on_text=got.append)
    assert "".join(got) == "Answer: [[4]]"  # thinking never goes to on_text
    assert c.thinking == "Two plus two is four."
    assert c.reasoning_tokens_source == "derived"
    assert c.visible_output_tokens is not None and 1 <= c.visible_output_tokens <= 8
    assert c.reasoning_tokens == c.output_tokens - c.visible_output_tokens >= 3279


def test_cache_tokens_are_read_and_counted_in_the_input(srv):
    srv.enqueue(srv.message("ok", input_tokens=10, output_tokens=3, cache_read=900, cache_write=100))
    c = make(srv).complete(MSGS, P)
    assert (c.input_tokens, c.cache_read_tokens, c.cache_write_tokens) == (1010, 900, 100)


def test_a_max_tokens_stop_is_a_truncated_completion(srv):
    srv.enqueue(srv.message("The answer is", output_tokens=64, stop_reason="max_tokens"))
    c = make(srv).complete(MSGS, P)
    assert c.finish_reason == "max_tokens" and c.truncated


@pytest.mark.parametrize(
    "budget,max_tokens,match",
    [
        (1000, 4096, "at least 1024"),
        (4096, 4096, "less than max_tokens"),
        (8000, 2048, "less than max_tokens"),
    ],
)
def test_thinking_budget_is_checked_before_any_call(srv, budget, max_tokens, match):
    with pytest.raises(InvalidRequest, match=match):
        make(srv).complete(MSGS, GenParams(max_tokens=max_tokens, thinking_budget=budget))
    assert srv.count == 0


def test_effort_turns_on_adaptive_thinking_on_models_that_have_it(srv):
    assert "low" in effort_values() and "minimal" not in effort_values() and "max" in effort_values()
    srv.enqueue(srv.message("ok"), srv.message("ok"))
    make(srv, model="claude-sonnet-4-6").complete(MSGS, GenParams(max_tokens=2000, reasoning_effort="max"))
    make(srv, model="claude-sonnet-4-6").complete(
        MSGS, GenParams(max_tokens=4000, thinking_budget=1500, reasoning_effort="medium")
    )
    b1, b2 = (r.body for r in srv.requests)
    assert b1["output_config"] == {"effort": "max"} and b1["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert b2["output_config"] == {"effort": "medium"} and b2["thinking"]["budget_tokens"] == 1500


def test_effort_on_a_model_without_it_is_refused_before_any_call(srv):
    with pytest.raises(InvalidRequest, match="no reasoning effort"):
        make(srv).complete(MSGS, GenParams(max_tokens=2000, reasoning_effort="low"))  # Haiku 4.5: no effort
    with pytest.raises(InvalidRequest, match="takes effort low, medium, high, max; not 'xhigh'"):
        make(srv, model="claude-sonnet-4-6").complete(MSGS, GenParams(max_tokens=2000, reasoning_effort="xhigh"))
    with pytest.raises(InvalidRequest, match="no thinking budget"):
        make(srv, model=NO_THINK).complete(MSGS, GenParams(max_tokens=4000, thinking_budget=2000))
    assert srv.count == 0


def test_bad_effort_and_missing_user_turn_are_refused_before_any_call(srv):
    with pytest.raises(InvalidRequest, match="effort 'minimal'"):
        make(srv).complete(MSGS, GenParams(reasoning_effort="minimal"))
    with pytest.raises(InvalidRequest, match="at least one user message"):
        make(srv).complete([Message("system", "only a system prompt")], P)
    assert srv.count == 0


def test_stop_sequences_are_sent(srv):
    srv.enqueue(srv.message("ok", stop_reason="stop_sequence"))
    c = make(srv).complete(MSGS, GenParams(max_tokens=64, stop=("####",)))
    assert srv.requests[0].body["stop_sequences"] == ["####"] and c.finish_reason == "stop_sequence"


def test_base_url_comes_from_the_caller_not_the_environment():
    m = AnthropicModel(MODEL, api_key=KEY)
    assert m.base_url == DEFAULT_BASE_URL and "@" not in m.runtime()
    with pytest.raises(AuthError, match="ANTHROPIC_API_KEY"):
        AnthropicModel(MODEL, api_key="")
    assert m.max_concurrency == 32  # the default for API providers (issue 11)


# -- retries -------------------------------------------------------------------------------------------------


def test_429_with_retry_after_is_retried_by_the_sdk(srv):
    srv.enqueue(srv.rate_limited("0.01"), srv.message("ok"))
    assert make(srv).complete(MSGS, P).text == "ok"
    assert srv.count == 2


def test_429_forever_raises_rate_limit_with_retry_after(srv):
    srv.default = srv.rate_limited("0.01")
    with pytest.raises(RateLimitError) as ei:
        make(srv, max_retries=2, rate_limit_retries=0).complete(MSGS, P)
    assert srv.count == 3 and ei.value.retry_after == pytest.approx(0.01) and ei.value.status == 429


def test_a_long_retry_after_fails_fast_instead_of_sleeping(srv):
    srv.default = srv.rate_limited("3600")
    with pytest.raises(RateLimitError, match="after 1 attempt") as ei:
        make(srv).complete(MSGS, P)
    assert srv.count == 1 and ei.value.retry_after == 3600


@pytest.mark.parametrize(
    "status,match", [(500, r"server error \(500\) after 3 attempts"), (529, "overloaded after 3 attempts")]
)
def test_5xx_becomes_server_error_after_the_sdk_retries(srv, status, match):
    srv.default = srv.server_error(status)
    with pytest.raises(ServerError, match=match):
        make(srv, max_retries=2, rate_limit_retries=0).complete(MSGS, P)
    assert srv.count == 3


def test_an_overloaded_call_gets_more_rounds_after_the_sdk_retries(srv):
    srv.enqueue(*[srv.server_error(529)] * 4, srv.message("ok"))
    assert make(srv, max_retries=1, rate_limit_retries=2).complete(MSGS, P).text == "ok"
    assert srv.count == 5


# -- failures ------------------------------------------------------------------------------------------------


def test_a_server_that_hangs_gives_a_timeout(srv):
    srv.enqueue(srv.hang(8, then=srv.message("too late")))
    with pytest.raises(ProviderTimeout, match="did not answer within 0.3 s"):
        make(srv, timeout_s=0.3, max_retries=0).complete(MSGS, P)


def test_a_stalled_stream_gives_a_timeout(srv):
    srv.enqueue(srv.message("a b c", delay_s=8))
    with pytest.raises(ProviderTimeout, match="stopped sending the stream"):
        make(srv, timeout_s=0.3, max_retries=0).complete(MSGS, P, on_text=lambda _: None)


@pytest.mark.parametrize("reply", ["malformed", "html", "shape"])
def test_unreadable_answers_give_bad_response(srv, reply):
    srv.enqueue(
        {"malformed": srv.malformed(), "html": srv.html(), "shape": srv.json_reply({"id": "msg_x", "type": "message"})}[
            reply
        ]
    )
    with pytest.raises(BadResponse, match="cannot read"):
        make(srv).complete(MSGS, P)


def test_a_stream_of_garbage_gives_bad_response(srv):
    srv.enqueue(srv.html())
    with pytest.raises(BadResponse, match="no events"):
        make(srv).complete(MSGS, P, on_text=lambda _: None)


def test_wrong_key_gives_auth_error_with_a_hint(srv):
    with pytest.raises(AuthError) as ei:
        make(srv, api_key="sk-ant-wrong").complete(MSGS, P)
    assert str(ei.value) == "The Anthropic API key was rejected (401). Check ANTHROPIC_API_KEY."
    assert srv.count == 1


def test_closed_port_gives_unreachable_naming_the_url():
    url = closed_port_url()
    with pytest.raises(ProviderUnreachable) as ei:
        AnthropicModel(MODEL, api_key=KEY, base_url=url, max_retries=0).complete(MSGS, P)
    assert url in str(ei.value)


def test_prompt_too_long(srv):
    srv.enqueue(srv.prompt_too_long())
    with pytest.raises(ContextTooLong, match="prompt is too long"):
        make(srv).complete(MSGS, P)


def test_unknown_model_and_other_bad_requests(srv):
    srv.enqueue(srv.model_not_found("claude-nope"), srv.bad_request("messages: roles must alternate"))
    with pytest.raises(ModelNotFound, match="claude-nope"):
        make(srv, model="claude-nope").complete(MSGS, P)
    with pytest.raises(InvalidRequest, match="roles must alternate"):
        make(srv).complete(MSGS, P)


def test_a_stream_that_breaks_midway_raises_a_typed_error(srv):
    srv.enqueue(srv.message("one two three", break_after=5))
    got: list[str] = []
    with pytest.raises(ServerError, match="broke off midway"):
        make(srv).complete(MSGS, P, on_text=got.append)
    assert got == ["one ", "two "]


def test_a_stream_that_ends_before_message_stop_raises_a_typed_error(srv):
    srv.enqueue(srv.message("one two three", break_after=6, clean_end=True))
    with pytest.raises(ServerError, match="before message_stop"):
        make(srv).complete(MSGS, P, on_text=lambda _: None)


@pytest.mark.parametrize(
    "etype,exc",
    [
        ("overloaded_error", ServerError),
        ("rate_limit_error", RateLimitError),
        ("invalid_request_error", InvalidRequest),
    ],
)
def test_error_events_inside_the_stream_map_by_their_type(srv, etype, exc):
    srv.enqueue(srv.stream_error(etype, "something happened"))
    with pytest.raises(exc, match="something happened|during the stream"):
        make(srv).complete(MSGS, P, on_text=lambda _: None)


def test_an_exception_in_on_text_reaches_the_caller_untouched(srv):
    class Stop(Exception):
        pass

    def on_text(_):
        raise Stop("enough")

    srv.enqueue(srv.message("a b c"))
    with pytest.raises(Stop):
        make(srv).complete(MSGS, P, on_text=on_text)
