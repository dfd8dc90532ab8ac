"""Batch prices: the providers' published batch discount on top of the dated price table.

The price table (genai-prices, :mod:`tale_core.accounting.pricing`) has list prices only. Both OpenAI's Batch
API and Anthropic's Message Batches are billed at 50% of the list price for input and output tokens (the
providers' pricing pages; the value below is as published when this was written, ``AS_OF``, and was not
re-checked online). A batch call's cost is ``list price x factor``; every such record says so in
``extra["price_basis"]``.

Override per provider with ``TALE_BATCH_PRICE_FACTOR_<PROVIDER>`` (e.g. ``TALE_BATCH_PRICE_FACTOR_OPENAI=0.5``),
a number from 0 to 1, or pass ``factor=`` to :func:`batch_price_factor`.
"""

from __future__ import annotations

import os
import re

from tale_core.errors import TaleError

#: when the discount below was taken from the providers' pricing pages
AS_OF = "2025-10-01"
#: the published batch discount: the batch price is this fraction of the list price
BATCH_PRICE_FACTOR: dict[str, float] = {"openai": 0.5, "anthropic": 0.5}
_ENV = "TALE_BATCH_PRICE_FACTOR_"


def batch_price_factor(provider: str, factor: float | None = None) -> float:
    """The fraction of the list price a batch call of ``provider`` costs (``compat:*`` servers use OpenAI's).

    Raises TaleError for an override outside 0..1."""
    base = "openai" if provider.startswith("compat:") else provider
    if factor is None:
        env = os.environ.get(_ENV + re.sub(r"[^A-Z0-9]", "_", base.upper()))
        if env not in (None, ""):
            try:
                factor = float(env)
            except ValueError:
                raise TaleError(f"{_ENV}{base.upper()} must be a number from 0 to 1, not {env!r}.") from None
    if factor is None:
        factor = BATCH_PRICE_FACTOR.get(base, 1.0)
    if not 0.0 <= float(factor) <= 1.0:
        raise TaleError(f"A batch price factor must be from 0 to 1, not {factor!r}.")
    return float(factor)


def price_basis(provider: str, factor: float) -> str:
    """How a batch call's cost was computed, in words (stored with the record and shown with the cost)."""
    return f"batch price: {factor:g} x list price ({provider} batch discount as published, {AS_OF}; overridable)"
