"""The database call cache: hit/miss rules, errors never cached, keys cover every parameter."""

from __future__ import annotations

import pytest

from db.cache import DbCallCache
from db.recorder import Recorder
from tale_core.engine.calls import call_model
from tale_core.protocols import CallCache
from tale_core.providers.scripted import scripted_model
from tale_core.types import GenParams, Message
from tests.helpers_db import make_record

MSGS = [
    Message("system", "You are a helpful assistant."),
    Message("user", "Q: What is 6 x 7?\nLet's think step by step and use less than 50 tokens:\n"),
]


class CountingModel:
    """Wraps a ChatModel and counts real calls."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0
        self.provider, self.model, self.max_concurrency = inner.provider, inner.model, 1

    @property
    def spec(self):
        return self.inner.spec

    def runtime(self):
        return self.inner.runtime()

    def complete(self, messages, params, on_text=None):
        self.calls += 1
        return self.inner.complete(messages, params, on_text=on_text)


def test_protocol_is_implemented(store):
    assert isinstance(DbCallCache(store), CallCache)


def test_deterministic_call_is_cached_and_replayed(store):
    cache = DbCallCache(store)
    m = CountingModel(scripted_model("elastic"))
    first = call_model(m, MSGS, GenParams(), cache=cache)
    second = call_model(m, MSGS, GenParams(), cache=cache)
    assert m.calls == 1 and not first.cache_hit and second.cache_hit
    assert second.completion.text == first.completion.text
    assert second.completion.output_tokens == first.completion.output_tokens
    assert second.completion.cached is True
    # another Store on the same database (another process, a page) sees it too
    from db.store import Store

    third = call_model(m, MSGS, GenParams(), cache=DbCallCache(Store(store.url)))
    assert third.cache_hit and m.calls == 1


@pytest.mark.parametrize(
    "changed",
    [
        GenParams(max_tokens=512),
        GenParams(seed=1),
        GenParams(top_p=0.5),
        GenParams(stop=("####",)),
        GenParams(thinking_budget=1024),
        GenParams(reasoning_effort="low"),
    ],
)
def test_every_generation_parameter_is_part_of_the_key(store, changed):
    cache = DbCallCache(store)
    m = CountingModel(scripted_model("elastic"))
    call_model(m, MSGS, GenParams(), cache=cache)
    rec = call_model(m, MSGS, changed, cache=cache)
    assert not rec.cache_hit and m.calls == 2


def test_messages_model_and_runtime_are_part_of_the_key(store):
    cache = DbCallCache(store)
    m = CountingModel(scripted_model("elastic"))
    call_model(m, MSGS, GenParams(), cache=cache)
    other_msgs = [MSGS[0], Message("user", MSGS[1].content.replace("50", "10"))]
    assert not call_model(m, other_msgs, GenParams(), cache=cache).cache_hit
    other_model = CountingModel(scripted_model("flat"))
    assert not call_model(other_model, MSGS, GenParams(), cache=cache).cache_hit
    bumped = CountingModel(scripted_model("elastic"))
    bumped.runtime = lambda: "scripted-fake 2"
    assert not call_model(bumped, MSGS, GenParams(), cache=cache).cache_hit


def test_nondeterministic_requests_are_not_cached_unless_opted_in(store):
    cache = DbCallCache(store)
    m = CountingModel(scripted_model("elastic"))
    warm = GenParams(temperature=0.7)
    call_model(m, MSGS, warm, cache=cache)
    assert not call_model(m, MSGS, warm, cache=cache).cache_hit and m.calls == 2
    assert len(cache) == 0
    call_model(m, MSGS, warm, cache=cache, use_cache=True)
    assert call_model(m, MSGS, warm, cache=cache, use_cache=True).cache_hit and m.calls == 3
    # and a deterministic request is not cached when the caller opts out
    call_model(m, MSGS, GenParams(), cache=cache, use_cache=False)
    assert not call_model(m, MSGS, GenParams(), cache=cache, use_cache=False).cache_hit


def test_errors_are_never_cached(store):
    cache = DbCallCache(store)
    m = CountingModel(scripted_model("error"))
    r1 = call_model(m, MSGS, GenParams(), cache=cache)
    r2 = call_model(m, MSGS, GenParams(), cache=cache)
    assert r1.error and r2.error and m.calls == 2 and not r2.cache_hit
    assert len(cache) == 0
    # put refuses an error record handed to it directly, too
    cache.put("e" * 64, make_record(error={"kind": "server_error", "message": "500"}))
    assert cache.get("e" * 64) is None and len(cache) == 0


def test_flaky_model_caches_only_its_successes(store):
    cache = DbCallCache(store)
    m = scripted_model("flaky")
    outcomes = []
    for i in range(6):
        msgs = [MSGS[0], Message("user", f"Q: question {i}?\nLet's think step by step:\n")]
        outcomes.append(call_model(m, msgs, GenParams(), cache=cache).ok)
    assert len(cache) == outcomes.count(True) and False in outcomes


def test_cache_hits_and_empty_keys_are_not_stored_again(store):
    cache = DbCallCache(store)
    rec = make_record()
    cache.put("", rec)
    assert len(cache) == 0
    cache.put("h" * 64, make_record(cache_hit=True))
    assert len(cache) == 0
    cache.put("a" * 64, rec)
    cache.put("a" * 64, make_record(text="a different text"))  # the first one stored wins
    assert cache.get("a" * 64).text == rec.completion.text
    assert cache.get("missing") is None and cache.get("") is None


def test_recorder_records_cache_hits_as_free_calls(store):
    m = CountingModel(scripted_model("elastic"))
    rec1 = Recorder.start("playground", "first", {}, store=store)
    call_model(m, MSGS, GenParams(), cache=rec1.cache, sink=rec1.sink)
    rec1.finish("done")
    rec2 = Recorder.start("playground", "again", {}, store=store)
    call_model(m, MSGS, GenParams(), cache=rec2.cache, sink=rec2.sink)
    rec2.finish("done")
    assert m.calls == 1
    [c] = store.calls_for(rec2.id)
    assert c.cache_hit and c.ok
    assert store.spend(rec2.id) == 0.0
