"""OpenAIModel through the real ``openai`` SDK against the loopback fake OpenAI server."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import openai
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
from tale_core.providers.capabilities import Capabilities
from tale_core.providers.openai_compat import DEFAULT_BASE_URL, OpenAIModel
from tale_core.types import GenParams, Message
from tests.fakeservers import FakeOpenAI, closed_port_url, isolate_sdk_env, wait_until

KEY = "sk-test-loopback-123"
MSGS = [Message("system", "You are a helpful assistant."), Message("user", "What is 2 + 2?")]
P = GenParams(max_tokens=64)


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    isolate_sdk_env(monkeypatch)
    # a base URL in the environment must not matter: every model below names its own
    monkeypatch.setenv("OPENAI_BASE_URL", closed_port_url("/v1"))


@pytest.fixture
def srv():
    with FakeOpenAI(api_key=KEY) as s:
        yield s


def make(srv, model="gpt-4o-mini", **kw) -> OpenAIModel:
    kw.setdefault("timeout_s", 5.0)
    kw.setdefault("max_retries", 2)
    return OpenAIModel(model, api_key=kw.pop("api_key", KEY), base_url=srv.base_url, **kw)


# -- answers -----------------------------------------------------------------------------------------------


def test_plain_answer_carries_the_servers_usage_and_the_exact_request(srv):
    srv.enqueue(srv.chat("Answer: [[4]]", prompt_tokens=23, completion_tokens=7))
    c = make(srv).complete(MSGS, P)
    assert c.text == "Answer: [[4]]"
    assert (c.input_tokens, c.output_tokens, c.reasoning_tokens) == (23, 7, 0)
    assert c.usage_source == "provider" and c.raw_usage["total_tokens"] == 30
    assert c.finish_reason == "stop" and c.provider == "openai" and c.model == "gpt-4o-mini"
    assert c.first_token_s is None and c.latency_s > 0
    (req,) = srv.requests
    assert req.path == "/v1/chat/completions"
    assert req.header("authorization") == f"Bearer {KEY}"
    assert req.body == c.request  # Completion.request is exactly what went over the wire
    assert c.request["max_tokens"] == 64 and c.request["temperature"] == 0.0 and c.request["seed"] == 0
    assert c.request["messages"] == [m.to_dict() for m in MSGS]
    assert "max_completion_tokens" not in c.request and "stream" not in c.request
    assert KEY not in json.dumps(c.to_dict())
    assert c.runtime == f"openai-sdk {openai.__version__} @ 127.0.0.1:{srv.port}"


def test_streamed_answer_is_assembled_from_deltas_and_keeps_the_usage(srv):
    pieces = ["The ", "answer ", "is ", "[[4]]."]
    srv.enqueue(srv.chat("".join(pieces), pieces=pieces, prompt_tokens=31, completion_tokens=9))
    got: list[str] = []
    c = make(srv).complete(MSGS, P, on_text=got.append)
    assert got == pieces
    assert c.text == "The answer is [[4]]."
    assert (c.input_tokens, c.output_tokens) == (31, 9) and c.usage_source == "provider"
    assert c.finish_reason == "stop"
    assert c.first_token_s is not None and c.first_token_s <= c.latency_s
    body = srv.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body == c.request


def test_generator_streaming_yields_pieces_then_the_completion(srv):
    srv.enqueue(srv.chat("one two three", prompt_tokens=5, completion_tokens=3))
    items = list(make(srv).stream(MSGS, P))
    assert items[:-1] == ["one ", "two ", "three"]
    assert items[-1].text == "one two three" and items[-1].output_tokens == 3


def test_reasoning_model_request_shape_and_hidden_reasoning_tokens(srv):
    srv.enqueue(srv.chat("[[4]]", prompt_tokens=40, completion_tokens=260, reasoning_tokens=200))
    c = make(srv, model="o4-mini").complete(MSGS, GenParams(max_tokens=500, reasoning_effort="high", seed=7))
    body = srv.requests[0].body
    assert body["max_completion_tokens"] == 500 and "max_tokens" not in body
    assert body["reasoning_effort"] == "high" and body["seed"] == 7
    assert "temperature" not in body and "top_p" not in body  # o-series reject them
    assert (c.output_tokens, c.reasoning_tokens, c.visible_output_tokens) == (260, 200, 60)


def test_reasoning_effort_on_a_model_without_effort_is_refused_before_any_call(srv):
    # defect: gpt-4o-mini with any effort used to be sent and came back a 400
    with pytest.raises(InvalidRequest, match="gpt-4o-mini on OpenAI has no reasoning effort"):
        make(srv, model="gpt-4o-mini").complete(MSGS, GenParams(max_tokens=80, reasoning_effort="low"))
    assert srv.count == 0


def test_reasoning_effort_on_a_model_that_declares_it_switches_the_request_shape():
    caps = Capabilities(effort_levels=("low", "high"))
    with FakeOpenAI(api_key=KEY, reasoning_rules=False) as srv:  # a compatible server
        srv.enqueue(srv.chat("ok", completion_tokens=2))
        make(srv, model="my-reasoner", capabilities=caps).complete(
            MSGS, GenParams(max_tokens=80, reasoning_effort="low")
        )
        body = srv.requests[0].body
    assert body["max_completion_tokens"] == 80 and body["reasoning_effort"] == "low"
    assert "max_tokens" not in body


def test_a_rejected_temperature_is_dropped_once_and_remembered():
    with FakeOpenAI(api_key=KEY, reject_params=["temperature"]) as s:
        m = make(s, model="my-reasoner")
        s.enqueue(s.chat("first"), s.chat("second"))
        assert m.complete(MSGS, P).text == "first"
        assert [("temperature" in r.body) for r in s.requests] == [True, False]
        assert m.complete(MSGS, P).text == "second"
        assert s.count == 3 and "temperature" not in s.requests[-1].body


def test_unknown_reasoning_effort_is_refused_before_any_call(srv):
    with pytest.raises(InvalidRequest, match="o4-mini on OpenAI takes effort low, medium, high; not 'extreme'"):
        make(srv, model="o4-mini").complete(MSGS, GenParams(reasoning_effort="extreme"))
    with pytest.raises(InvalidRequest, match="takes effort low, medium, high; not 'minimal'"):
        make(srv, model="o4-mini").complete(MSGS, GenParams(reasoning_effort="minimal"))
    with pytest.raises(InvalidRequest, match="max_tokens"):
        make(srv).complete(MSGS, GenParams(max_tokens=0))
    with pytest.raises(InvalidRequest):
        make(srv).complete([], P)
    assert srv.count == 0


def test_compatible_server_without_usage_gets_estimated_counts(srv):
    srv.enqueue(srv.chat("Answer: [[4]]", usage=False), srv.chat("Answer: [[4]]", usage=False))
    m = make(srv)
    for c in (m.complete(MSGS, P), m.complete(MSGS, P, on_text=lambda _: None)):
        assert c.text == "Answer: [[4]]"
        assert c.usage_source == "estimate" and c.raw_usage["estimated"] is True
        assert c.input_tokens > 0 and c.output_tokens > 0


def test_visible_reasoning_of_compatible_servers_lands_in_thinking(srv):
    srv.enqueue(srv.chat("[[4]]", reasoning_content="2+2=4"), srv.chat("[[4]]", reasoning_content="2+2=4"))
    m = make(srv)
    got: list[str] = []
    assert m.complete(MSGS, P).thinking == "2+2=4"
    c = m.complete(MSGS, P, on_text=got.append)
    assert c.thinking == "2+2=4" and "".join(got) == "[[4]]"


def test_one_client_serves_many_threads(srv):
    srv.default = srv.chat("ok", completion_tokens=1)
    m = make(srv)
    client = m._client
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: m.complete(MSGS, P).text, range(16)))
    assert results == ["ok"] * 16 and srv.count == 16 and m._client is client
    assert m.max_concurrency == 32  # the default for API providers (issue 11)


def test_an_exception_in_on_text_reaches_the_caller_untouched(srv):
    class Stop(Exception):
        pass

    def on_text(_):
        raise Stop("enough")

    srv.enqueue(srv.chat("a b c"))
    with pytest.raises(Stop):
        make(srv).complete(MSGS, P, on_text=on_text)


def test_base_url_comes_from_the_caller_not_the_environment():
    m = OpenAIModel("gpt-4o-mini", api_key=KEY)
    assert m.base_url == DEFAULT_BASE_URL and m.runtime() == f"openai-sdk {openai.__version__}"
    with pytest.raises(AuthError, match="OPENAI_API_KEY"):
        OpenAIModel("gpt-4o-mini", api_key="")


# -- retries -------------------------------------------------------------------------------------------------


def test_429_with_retry_after_is_retried_by_the_sdk(srv):
    srv.enqueue(srv.rate_limited("0.01"), srv.chat("ok"))
    assert make(srv).complete(MSGS, P).text == "ok"
    assert srv.count == 2
    assert [r.header("x-stainless-retry-count") for r in srv.requests] == ["0", "1"]


def test_429_forever_raises_rate_limit_with_retry_after(srv):
    srv.default = srv.rate_limited("0.01")
    with pytest.raises(RateLimitError) as ei:
        make(srv, max_retries=2, rate_limit_retries=0).complete(MSGS, P)
    assert srv.count == 3
    assert ei.value.retry_after == pytest.approx(0.01) and ei.value.retryable and ei.value.status == 429
    assert "after 3 attempts" in str(ei.value)


def test_a_call_still_rate_limited_after_the_sdk_retries_gets_more_rounds(srv):
    # 429 = the request was not processed: resending it costs nothing, losing the cell costs a rerun
    srv.enqueue(*[srv.rate_limited("0.01")] * 5, srv.chat("ok"))
    assert make(srv, max_retries=1, rate_limit_retries=3).complete(MSGS, P).text == "ok"
    assert srv.count == 6


def test_a_long_retry_after_is_not_slept_through(srv):
    srv.default = srv.rate_limited("3600")
    with pytest.raises(RateLimitError) as ei:
        make(srv).complete(MSGS, P)
    assert srv.count == 1 and ei.value.retry_after == 3600


def test_500_becomes_server_error_after_the_sdk_retries(srv):
    srv.default = srv.server_error(500)
    with pytest.raises(ServerError, match=r"\(500\) after 3 attempts"):
        make(srv, max_retries=2).complete(MSGS, P)
    assert srv.count == 3


# -- failures ------------------------------------------------------------------------------------------------


def test_a_server_that_hangs_gives_a_timeout(srv):
    # if the timeout did not fire, the server would answer after 8 s and the call would succeed
    srv.enqueue(srv.hang(8, then=srv.chat("too late")))
    with pytest.raises(ProviderTimeout, match="did not answer within 0.3 s"):
        make(srv, timeout_s=0.3, max_retries=0).complete(MSGS, P)


def test_a_stalled_stream_gives_a_timeout(srv):
    srv.enqueue(srv.chat("a b c", delay_s=8))
    with pytest.raises(ProviderTimeout, match="stopped sending the stream"):
        make(srv, timeout_s=0.3, max_retries=0).complete(MSGS, P, on_text=lambda _: None)


@pytest.mark.parametrize("reply", ["malformed", "html", "shape"])
def test_unreadable_answers_give_bad_response(srv, reply):
    srv.enqueue(
        {
            "malformed": srv.malformed(),
            "html": srv.html(),
            "shape": srv.json_reply({"id": "x", "object": "chat.completion"}),
        }[reply]
    )
    with pytest.raises(BadResponse, match="cannot read"):
        make(srv).complete(MSGS, P)


def test_wrong_key_gives_auth_error_with_a_hint(srv):
    with pytest.raises(AuthError) as ei:
        make(srv, api_key="sk-wrong").complete(MSGS, P)
    assert str(ei.value) == "The OpenAI API key was rejected (401). Check OPENAI_API_KEY."
    assert srv.count == 1  # a 401 is not retried


def test_closed_port_gives_unreachable_naming_the_url():
    url = closed_port_url("/v1")
    with pytest.raises(ProviderUnreachable) as ei:
        OpenAIModel("gpt-4o-mini", api_key=KEY, base_url=url, max_retries=0).complete(MSGS, P)
    assert url in str(ei.value)


def test_context_too_long(srv):
    srv.enqueue(srv.context_too_long())
    with pytest.raises(ContextTooLong, match="maximum context length"):
        make(srv).complete(MSGS, P)


def test_unknown_model_and_other_bad_requests(srv):
    srv.enqueue(srv.model_not_found("gpt-nope"), srv.bad_request("Invalid value for 'stop'.", "stop"))
    with pytest.raises(ModelNotFound, match="gpt-nope"):
        make(srv, model="gpt-nope").complete(MSGS, P)
    with pytest.raises(InvalidRequest, match="Invalid value for 'stop'") as ei:
        make(srv).complete(MSGS, P)
    assert ei.value.status == 400


def test_a_stream_that_breaks_midway_raises_a_typed_error(srv):
    srv.enqueue(srv.chat("one two three four", break_after=3))
    got: list[str] = []
    with pytest.raises(ServerError, match="broke off"):
        make(srv).complete(MSGS, P, on_text=got.append)
    assert got == ["one ", "two "]  # the pieces that did arrive were passed on


def test_a_stream_that_ends_early_raises_a_typed_error(srv):
    srv.enqueue(srv.chat("one two three four", break_after=3, clean_end=True))
    with pytest.raises(ServerError, match="ended before the answer was complete"):
        make(srv).complete(MSGS, P, on_text=lambda _: None)


def test_an_error_event_inside_the_stream(srv):
    srv.enqueue(srv.stream_error("The server had an error while processing your request."))
    with pytest.raises(ServerError, match="during the stream"):
        make(srv).complete(MSGS, P, on_text=lambda _: None)


def test_errors_serialise_for_the_call_log(srv):
    srv.enqueue(srv.rate_limited("0.5"))
    with pytest.raises(RateLimitError) as ei:
        make(srv, max_retries=0, rate_limit_retries=0).complete(MSGS, P)
    d = ei.value.to_dict()
    assert d["kind"] == "rate_limit" and d["status"] == 429 and d["retry_after"] == 0.5
    assert d["provider"] == "openai"


def test_nothing_is_left_running_after_the_server_stops():
    before = threading.active_count()
    with FakeOpenAI() as s:
        s.enqueue(s.chat("ok"))
        OpenAIModel("gpt-4o-mini", api_key=KEY, base_url=s.base_url).complete(MSGS, P)
    assert wait_until(lambda: threading.active_count() <= before)  # handler and server threads ended
