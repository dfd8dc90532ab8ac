"""Per-model prices the user sets in the sidebar: USD per million input / output tokens, stored in the
data folder (``prices.json``), dated and named as the user's. Loaded into the pricing module on every
run, so cost previews, spend caps, charts, tables and exports all use them.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date
from pathlib import Path

import streamlit as st

from tale_core.accounting.pricing import Price, PricingError, price_for, set_user_prices
from tale_core.providers import ModelStatus

FILE = "prices.json"
SOURCE = "your price"


def path() -> Path:
    from db.engine import data_dir

    return data_dir() / FILE


def load(p: Path | None = None) -> dict[str, Price]:
    """The saved prices (a broken file is ignored, never fatal: the table's prices apply)."""
    p = p or path()
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
        return {str(k): Price.from_dict(v) for k, v in dict(raw).items()}
    except (OSError, ValueError, TypeError, PricingError):
        return {}


def save(prices: dict[str, Price], p: Path | None = None) -> None:
    p = p or path()
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".prices.", dir=p.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({k: v.to_dict() for k, v in sorted(prices.items())}, f, indent=1)
    os.replace(tmp, p)


def apply() -> dict[str, Price]:
    """Load the saved prices and make the pricing module use them; returns them."""
    prices = load()
    set_user_prices(prices)
    return prices


def set_price(spec: str, input_per_mtok: float, output_per_mtok: float) -> Price:
    price = Price(
        float(input_per_mtok),
        float(output_per_mtok),
        f"{SOURCE} (set {date.today().isoformat()})",
        date.today().isoformat(),
    )
    prices = load()
    prices[spec] = price
    save(prices)
    set_user_prices(prices)
    return price


def remove(spec: str) -> None:
    prices = load()
    prices.pop(spec, None)
    save(prices)
    set_user_prices(prices)


def editor(statuses: list[ModelStatus]) -> None:
    """The sidebar's price editor: pick a model, type its prices, save; the saved ones listed."""
    prices = apply()
    with st.sidebar.expander("Prices per model (yours)"):
        st.caption(
            "USD per million tokens, saved on this server and dated. They replace the price table for that "
            "model everywhere (previews, caps, charts, exports). Local models can stay at $0."
        )
        specs = [s.spec for s in statuses]
        spec = st.selectbox("Model", specs, key="price_spec") if specs else None
        if spec:
            provider, _, model = spec.partition("/")
            current = price_for(provider, model)
            c1, c2 = st.columns(2)
            inp = c1.number_input(
                "Input $/M",
                min_value=0.0,
                max_value=10_000.0,
                value=float(current.input_per_mtok) if current else 0.0,
                step=0.05,
                format="%.4f",
                key=f"price_in_{spec}",
            )
            out = c2.number_input(
                "Output $/M",
                min_value=0.0,
                max_value=10_000.0,
                value=float(current.output_per_mtok) if current else 0.0,
                step=0.05,
                format="%.4f",
                key=f"price_out_{spec}",
            )
            st.caption(f"Now: {_describe(current)}")
            if st.button("Save this price", key="price_save"):
                set_price(spec, inp, out)
                st.rerun()
        for s, p in sorted(prices.items()):
            cols = st.columns([4, 1], vertical_alignment="center")
            cols[0].caption(f"{s}: ${p.input_per_mtok:g} in / ${p.output_per_mtok:g} out per M ({p.source})")
            if cols[1].button("✕", key=f"price_rm_{s}", help=f"Remove your price for {s}"):
                remove(s)
                st.rerun()


def _describe(price: Price | None) -> str:
    if price is None:
        return "price unknown (costs show 'price unknown'; tokens are still counted)"
    return f"${price.input_per_mtok:g} in / ${price.output_per_mtok:g} out per M tokens ({price.source}, {price.as_of})"
