"""call_model: cache policy, errors never raised nor cached, sink sees everything, cost."""

from tale_core.accounting.pricing import Price
from tale_core.engine import prompts
from tale_core.engine.calls import call_model, spent_usd
from tale_core.protocols import MemoryCache
from tale_core.providers.scripted import scripted_model
from tale_core.types import GenParams

Q = "What is 6 times 7?"


class ListSink:
    def __init__(self):
        self.records = []

    def on_call(self, record):
        self.records.append(record)


def test_deterministic_call_is_cached_and_replayed():
    m, cache, sink = scripted_model("elastic"), MemoryCache(), ListSink()
    first = call_model(m, prompts.budget(Q, 50), GenParams(), cache=cache, sink=sink, method="budget:50", budget=50)
    streamed = []
    second = call_model(m, prompts.budget(Q, 50), GenParams(), cache=cache, sink=sink, on_text=streamed.append)
    assert m.calls == 1 and len(cache) == 1
    assert not first.cache_hit and second.cache_hit and second.completion.cached
    assert second.completion.text == first.completion.text == "".join(streamed)
    assert first.cache_key == second.cache_key and first.method == "budget:50" and first.budget == 50
    assert [r.call_id for r in sink.records] == [first.call_id, second.call_id]


def test_cache_policy():
    m, cache = scripted_model("elastic"), MemoryCache()
    hot = GenParams(temperature=0.7)
    call_model(m, prompts.vanilla_cot(Q), hot, cache=cache)
    call_model(m, prompts.vanilla_cot(Q), hot, cache=cache)
    assert m.calls == 2 and len(cache) == 0
    call_model(m, prompts.vanilla_cot(Q), hot, cache=cache, use_cache=True)
    assert call_model(m, prompts.vanilla_cot(Q), hot, cache=cache, use_cache=True).cache_hit
    assert not call_model(m, prompts.direct(Q), GenParams(), cache=cache, use_cache=False).cache_hit
    assert not call_model(m, prompts.direct(Q), GenParams(), cache=cache, use_cache=False).cache_hit


def test_errors_are_records_never_cached_and_sunk():
    m, cache, sink = scripted_model("error"), MemoryCache(), ListSink()
    rec = call_model(m, prompts.vanilla_cot(Q), GenParams(), cache=cache, sink=sink)
    assert not rec.ok and rec.error["kind"] == "rate_limit" and rec.completion is None
    assert rec.cost_usd is None and spent_usd(rec) == 0.0
    assert len(cache) == 0 and sink.records == [rec]


def test_unexpected_exception_becomes_error_record():
    class Broken(type(scripted_model("elastic"))):
        def complete(self, messages, params, on_text=None):
            raise ValueError("boom")

    rec = call_model(Broken(scripted_model("elastic").curve), prompts.vanilla_cot(Q), GenParams())
    assert rec.error["kind"] == "internal" and "boom" in rec.error["message"]


def test_cost_with_override_and_cache_hit_spends_nothing():
    m, cache = scripted_model("elastic"), MemoryCache()
    prices = {"fake/elastic": Price(1_000_000.0, 2_000_000.0, "test", "-")}
    rec = call_model(m, prompts.direct(Q), GenParams(), cache=cache, price_overrides=prices)
    c = rec.completion
    assert rec.cost_usd == c.input_tokens * 1.0 + c.output_tokens * 2.0
    assert spent_usd(rec) == rec.cost_usd
    hit = call_model(m, prompts.direct(Q), GenParams(), cache=cache, price_overrides=prices)
    assert hit.cache_hit and hit.cost_usd == rec.cost_usd and spent_usd(hit) == 0.0
    assert call_model(m, prompts.direct(Q), GenParams(seed=1)).cost_usd == 0.0  # fake models are free


def test_meta_fields_and_extra():
    rec = call_model(
        scripted_model("flat"),
        prompts.vanilla_cot(Q),
        GenParams(),
        role="reference",
        question="q",
        question_id="q1",
        repeat=2,
        cell="abc",
    )
    assert (rec.role, rec.question, rec.question_id, rec.repeat) == ("reference", "q", "q1", 2)
    assert rec.extra["cell"] == "abc" and rec.spec == "fake/flat"
