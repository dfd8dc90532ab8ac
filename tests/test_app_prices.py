"""Per-model prices set in the sidebar: stored in the data folder, dated, named as the user's, and used by
the cost of every call (previews, caps, tables) instead of the table or $0."""

from __future__ import annotations

import json

import pytest

from tale_core.accounting import pricing
from tests.helpers_app import button, new_app, no_exception
from ui import prices


@pytest.fixture
def clean_prices():
    pricing.set_user_prices({})
    yield
    pricing.set_user_prices({})


def test_user_prices_apply_after_explicit_overrides_and_before_the_table(clean_prices):
    assert pricing.cost_usd("compat:ollama", "llama3", 1000, 2000) is None  # no price anywhere
    assert pricing.cost_usd("local", "smollm2", 1000, 2000) == 0.0
    pricing.set_user_prices({"compat:ollama/llama3": pricing.user_price(1.0, 3.0, note="your price")})
    assert pricing.cost_usd("compat:ollama", "llama3", 1000, 2000) == pytest.approx(0.007)
    p = pricing.price_for("compat:ollama", "llama3")
    assert p.source == "your price" and p.as_of  # named and dated
    explicit = {"compat:ollama/llama3": pricing.user_price(0.0, 0.0)}
    assert pricing.cost_usd("compat:ollama", "llama3", 1000, 2000, explicit) == 0.0


def test_prices_saved_in_the_sidebar_are_stored_and_cost_the_calls(fake_env, clean_prices, tmp_path, monkeypatch):
    monkeypatch.setenv("TALE_DATA_DIR", str(tmp_path))
    at = new_app("pages/playground.py")
    no_exception(at)
    at.selectbox(key="price_spec").set_value("fake/elastic").run()
    at.number_input(key="price_in_fake/elastic").set_value(1000.0).run()
    at.number_input(key="price_out_fake/elastic").set_value(2000.0).run()
    button(at, "Save this price").click().run()
    no_exception(at)
    stored = json.loads((tmp_path / "prices.json").read_text())
    assert stored["fake/elastic"]["input_per_mtok"] == 1000.0 and stored["fake/elastic"]["source"].startswith(
        "your price"
    )
    assert any("fake/elastic: $1000 in / $2000 out per M (your price" in c.value for c in at.sidebar.caption)
    at.text_area(key="pg_question").input("What is 6 times 7?")
    at.text_input(key="pg_gold").input("42")
    at.session_state["pg_methods"] = ["vanilla"]
    button(at, "Run").click().run()
    no_exception(at)
    cost = at.dataframe[0].value["Cost"][0]
    assert cost not in ("$0", "price unknown"), cost  # 258 output tokens at $2000/M = $0.516 + input
    assert cost.startswith("$0.5")
    # a fresh server process reads them back; removing restores the table's $0
    pricing.set_user_prices({})
    assert prices.apply()["fake/elastic"].output_per_mtok == 2000.0
    prices.remove("fake/elastic")
    assert pricing.cost_usd("fake", "elastic", 10, 10) == 0.0
