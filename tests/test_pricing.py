"""Dated prices from genai-prices' bundled data, offline; overrides; cost previews."""

from __future__ import annotations

import socket
from datetime import date

import pytest

from tale_core.accounting import pricing
from tale_core.accounting.pricing import Price, cost_usd, estimate_call_cost, price_for, price_table_version


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_gpt4o_mini_list_price(no_network):
    p = price_for("openai", "gpt-4o-mini")
    assert p is not None
    assert (p.input_per_mtok, p.output_per_mtok) == (0.15, 0.60)
    assert p.source.startswith("genai-prices ")
    assert p.as_of == date.today().isoformat()


def test_dated_snapshot_version(no_network):
    v = price_table_version()
    assert v.startswith("genai-prices 0.2.3 data 20")
    # a request date before every dated change in the data still names a version
    assert price_table_version(date(2020, 1, 1)).startswith("genai-prices 0.2.3 data")


def test_cost_of_gpt4o_mini(no_network):
    assert cost_usd("openai", "gpt-4o-mini", 1_000_000, 0) == pytest.approx(0.15)
    assert cost_usd("openai", "gpt-4o-mini", 0, 1_000_000) == pytest.approx(0.60)
    # paper scale: 318 output tokens of vanilla CoT on a ~100 token prompt
    assert cost_usd("openai", "gpt-4o-mini", 100, 318) == pytest.approx((100 * 0.15 + 318 * 0.60) / 1e6)


def test_reasoning_tokens_billed_as_output(no_network):
    # reasoning tokens are inside output_tokens; cost only depends on the two totals
    p = price_for("openai", "o3-mini")
    assert p is not None
    assert cost_usd("openai", "o3-mini", 10, 1000) == pytest.approx(p.cost(10, 1000))


def test_anthropic_prices_and_long_context_tier(no_network):
    p = price_for("anthropic", "claude-haiku-4-5")
    assert p is not None and p.input_per_mtok > 0 and p.output_per_mtok > p.input_per_mtok
    short = cost_usd("anthropic", "claude-sonnet-4-5", 1000, 1000)
    base = price_for("anthropic", "claude-sonnet-4-5")
    assert short == pytest.approx(base.cost(1000, 1000))
    # above the 200k input tier the table's higher rate applies to all tokens
    assert cost_usd("anthropic", "claude-sonnet-4-5", 300_000, 0) > base.cost(300_000, 0)


def test_local_and_fake_are_free():
    assert price_for("local", "smollm2") == Price(0, 0, "local model", "-")
    assert price_for("fake", "elastic") == pricing.LOCAL_PRICE
    assert cost_usd("local", "qwen2.5-coder-1.5b", 500, 500) == 0.0


def test_unknown_models_have_no_price():
    assert price_for("openai", "no-such-model-xyz") is None
    assert cost_usd("openai", "no-such-model-xyz", 10, 10) is None
    assert price_for("mystery", "gpt-4o-mini") is None


def test_compat_endpoints_are_never_guessed():
    # a proxy may serve "gpt-4o-mini" at any price: unknown unless the user says otherwise
    assert price_for("compat:proxy", "gpt-4o-mini") is None
    assert cost_usd("compat:proxy", "gpt-4o-mini", 100, 100) is None


def test_overrides_win():
    mine = pricing.user_price(1.0, 2.0)
    assert price_for("compat:proxy", "gpt-4o-mini", {"compat:proxy/gpt-4o-mini": mine}) == mine
    assert price_for("compat:proxy", "llama3", {"compat:proxy/*": mine}) == mine
    assert cost_usd("compat:proxy", "llama3", 1_000_000, 1_000_000, {"compat:proxy/*": mine}) == pytest.approx(3.0)
    assert price_for("openai", "gpt-4o-mini", {"openai/gpt-4o-mini": mine}) == mine
    # a dict form (e.g. read back from JSON) works too
    d = {"input_per_mtok": 0.5, "output_per_mtok": 1.5}
    assert cost_usd("compat:x", "m", 1_000_000, 0, {"compat:x/m": d}) == pytest.approx(0.5)


def test_missing_usage_gives_no_cost():
    assert cost_usd("openai", "gpt-4o-mini", None, 10) is None


def test_bad_prices_are_clear_errors():
    with pytest.raises(pricing.PricingError):
        Price(-1, 1, "x", "-")
    with pytest.raises(pricing.PricingError):
        pricing.parse_override("no-slash", 1, 1)
    with pytest.raises(pricing.PricingError):
        pricing.parse_override("a/b", "cheap", 1)
    with pytest.raises(pricing.PricingError):
        cost_usd("openai", "gpt-4o-mini", -1, 0)
    assert Price.from_dict(Price(1, 2, "s", "d").to_dict()) == Price(1, 2, "s", "d")


def test_genai_prices_never_updates_from_network(monkeypatch):
    """The updater is never started: the snapshot in use is the bundled one."""
    from genai_prices import data_snapshot, update_prices

    started = []
    monkeypatch.setattr(update_prices.UpdatePrices, "start", lambda self, **k: started.append(1))
    assert price_for("openai", "gpt-4o-mini") is not None
    assert started == []
    assert pricing._snapshot() is data_snapshot._bundled_snapshot()
    assert pricing._snapshot().from_auto_update is False


class _StubModel:
    provider = "openai"
    model = "gpt-4o-mini"

    def count_tokens(self, text):
        return len(text.split()), False


def test_estimate_call_cost():
    usd, n_in, exact = estimate_call_cost(_StubModel(), "one two three four", 1000)
    assert (n_in, exact) == (4, False)
    assert usd == pytest.approx((4 * 0.15 + 1000 * 0.60) / 1e6)
    m = _StubModel()
    m.provider = "compat:proxy"
    assert estimate_call_cost(m, "x", 10)[0] is None
    with pytest.raises(pricing.PricingError):
        estimate_call_cost(_StubModel(), "x", -5)


def test_estimate_call_cost_default_tokenizer():
    """The ChatModel default count_tokens goes through the offline tiktoken estimate."""
    from tale_core.providers.base import ChatModel

    class M(ChatModel):
        provider, model = "openai", "gpt-4o-mini"

        def complete(self, messages, params, on_text=None):  # pragma: no cover - not called
            raise NotImplementedError

    usd, n_in, exact = estimate_call_cost(M(), "hello world", 0)
    assert (n_in, exact) == (2, False)
    assert usd == pytest.approx(2 * 0.15 / 1e6)
