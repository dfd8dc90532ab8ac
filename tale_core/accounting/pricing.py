"""Dated model prices and call cost, offline.

Prices come from ``genai-prices`` (pydantic's maintained price data). Only its bundled snapshot is read:
it never touches the network unless someone starts its ``UpdatePrices`` background fetcher, which this
module never does (and :func:`price_table_version` says so by naming the bundled data). A price is
looked up for a request date, because the data carries dated price changes.

Rules:
- ``local/*`` and ``fake/*`` cost nothing: ``Price(0, 0, "local model", "-")``.
- ``openai/*`` and ``anthropic/*``: the price the table lists for that model, else None (unknown).
- ``compat:<endpoint>/*``: unknown (None) unless the user sets an override. A proxy may well serve a
  model named ``gpt-4o-mini`` at another price, so names are never guessed from.
- Overrides (``PriceOverrides``: ``{"provider/model": Price}``, or ``"provider/*"`` for a whole provider)
  win over everything.

Cost = input_tokens x input price + output_tokens x output price. Hidden reasoning tokens are already
inside ``output_tokens`` and billed at the output price. Long-context tiers (e.g. Claude above 200k input
tokens) are applied when the table has them.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tale_core.errors import TaleError

if TYPE_CHECKING:
    from tale_core.providers.base import ChatModel

FREE_PROVIDERS = ("local", "fake")
#: our provider names -> genai-prices provider ids
_TABLE_PROVIDERS = {"openai": "openai", "anthropic": "anthropic"}


@dataclass(frozen=True)
class Price:
    """USD per million tokens, where the number comes from, and the date it applies to."""

    input_per_mtok: float
    output_per_mtok: float
    source: str
    as_of: str

    def __post_init__(self) -> None:
        for what, v in (("input", self.input_per_mtok), ("output", self.output_per_mtok)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v < 0 or v == float("inf"):
                raise PricingError(f"The {what} price must be a number of dollars per million tokens >= 0, not {v!r}")

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1_000_000

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Price:
        try:
            return cls(
                float(d["input_per_mtok"]),
                float(d["output_per_mtok"]),
                str(d.get("source") or "user override"),
                str(d.get("as_of") or "-"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise PricingError(f"A price needs numeric input_per_mtok and output_per_mtok ({e})") from None


#: user-set prices by spec ("compat:ollama/llama3", "openai/gpt-4o-mini", or "compat:ollama/*")
PriceOverrides = dict[str, Price]

LOCAL_PRICE = Price(0.0, 0.0, "local model", "-")


class PricingError(TaleError):
    """A price the user entered is not usable."""


def user_price(input_per_mtok: float, output_per_mtok: float, *, note: str = "user override") -> Price:
    """A price the user typed in, dated today."""
    return Price(float(input_per_mtok), float(output_per_mtok), note, date.today().isoformat())


# --- the genai-prices table -----------------------------------------------------------------------

_snapshot_lock = threading.Lock()


def _snapshot():
    """The bundled genai-prices snapshot (never the auto-updated one)."""
    from genai_prices import data_snapshot

    bundled = getattr(data_snapshot, "_bundled_snapshot", None)  # bundled data only, on purpose
    with _snapshot_lock:
        return bundled() if bundled is not None else data_snapshot.get_snapshot()


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("genai-prices")
    except Exception:  # pragma: no cover - metadata missing
        return "?"


def _when(at: datetime | date | None) -> datetime:
    if at is None:
        return datetime.now(tz=UTC)
    if isinstance(at, datetime):
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


def _base(v: Any) -> float | None:
    """A price value as float: plain Decimal, or the base rate of tiered prices."""
    if v is None:
        return None
    if isinstance(v, Decimal):
        return float(v)
    base = getattr(v, "base", None)
    return float(base) if isinstance(base, Decimal) else None


def _table_lookup(provider: str, model: str):
    """``(table_provider, table_model)`` from genai-prices, or None when it lists no such model."""
    pid = _TABLE_PROVIDERS.get(provider)
    if pid is None:
        return None
    try:
        return _snapshot().find_provider_model(model, None, pid, None)
    except LookupError:
        return None


def price_table_version(at: datetime | date | None = None) -> str:
    """Identifies the price table: package version and the latest dated price change in effect at ``at``.

    Record it with each experiment, e.g. ``"genai-prices 0.2.3 data 2026-10-14"``.
    """
    when = _when(at)
    latest: date | None = None
    for prov in _snapshot().providers:
        for m in prov.models:
            prices = m.prices if isinstance(m.prices, list) else []
            for cp in prices:
                d = getattr(cp.constraint, "start_date", None)
                if isinstance(d, date) and d <= when.date() and (latest is None or d > latest):
                    latest = d
    return f"genai-prices {_package_version()} data {latest.isoformat() if latest else 'undated'}"


#: prices the app's users saved (per model, dated): consulted after a call's explicit ``overrides`` and
#: before the built-in table, so previews, caps, costs and exports all use them; see set_user_prices
_user_prices: PriceOverrides = {}


def set_user_prices(prices: PriceOverrides) -> None:
    """Replace the process-wide user prices (the app loads them from its data folder on every run)."""
    global _user_prices
    _user_prices = dict(prices)


def user_prices() -> PriceOverrides:
    return dict(_user_prices)


def _override_for(spec: str, provider: str, overrides: PriceOverrides | None) -> Price | None:
    found = _lookup_override(spec, provider, overrides) if overrides else None
    if found is None and _user_prices:
        found = _lookup_override(spec, provider, _user_prices)
    return found


def _lookup_override(spec: str, provider: str, overrides: PriceOverrides) -> Price | None:
    found = overrides.get(spec) or overrides.get(f"{provider}/*")
    if found is not None and not isinstance(found, Price):
        found = Price.from_dict(found) if isinstance(found, dict) else None
    return found


def price_for(
    provider: str, model: str, overrides: PriceOverrides | None = None, *, at: datetime | date | None = None
) -> Price | None:
    """The price of ``provider/model`` for a request made at ``at`` (default now), or None when unknown."""
    provider, model = (provider or "").strip(), (model or "").strip()
    spec = f"{provider}/{model}"
    found = _override_for(spec, provider, overrides)
    if found is not None:
        return found
    if provider in FREE_PROVIDERS:
        return LOCAL_PRICE
    hit = _table_lookup(provider, model)
    if hit is None:
        return None
    table_provider, table_model = hit
    when = _when(at)
    mp = table_model.get_prices(when)
    inp, out = _base(mp.input_mtok), _base(mp.output_mtok)
    if inp is None or out is None:
        return None
    return Price(
        inp, out, f"genai-prices {_package_version()} ({table_provider.id}/{table_model.id})", when.date().isoformat()
    )


def cost_usd(
    provider: str,
    model: str,
    input_tokens: int | None,
    output_tokens: int | None,
    overrides: PriceOverrides | None = None,
    *,
    at: datetime | date | None = None,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float | None:
    """Cost in USD of one call, or None when the price is unknown or the token counts are missing.

    ``output_tokens`` already includes hidden reasoning tokens (billed at the output price).
    ``input_tokens`` is every prompt token, cached ones included; ``cache_read_tokens`` and
    ``cache_write_tokens`` are the parts of it that genai-prices prices at the model's cache-read and
    cache-write rates (OpenAI cached input, Anthropic cache reads and writes). A user override has one
    input price: it prices every input token at it.
    """
    if input_tokens is None or output_tokens is None:
        return None
    if input_tokens < 0 or output_tokens < 0 or cache_read_tokens < 0 or cache_write_tokens < 0:
        raise PricingError(f"Token counts cannot be negative ({input_tokens}, {output_tokens})")
    if cache_read_tokens + cache_write_tokens > input_tokens:
        raise PricingError(
            f"Cached input tokens ({cache_read_tokens} read + {cache_write_tokens} written) exceed the input "
            f"tokens ({input_tokens})"
        )
    provider, model = (provider or "").strip(), (model or "").strip()
    override = _override_for(f"{provider}/{model}", provider, overrides)
    if override is not None:
        return override.cost(input_tokens, output_tokens)
    if provider in FREE_PROVIDERS:
        return 0.0
    hit = _table_lookup(provider, model)
    if hit is None:
        return None
    table_provider, table_model = hit
    from genai_prices import Usage

    usage = Usage(input_tokens=int(input_tokens), output_tokens=int(output_tokens))
    if cache_read_tokens:
        usage.cache_read_tokens = int(cache_read_tokens)
    if cache_write_tokens:
        usage.cache_write_tokens = int(cache_write_tokens)
    calc = table_model.calc_price(usage, table_provider, genai_request_timestamp=_when(at))
    return float(calc.input_price + calc.output_price)


def completion_cost(completion: Any, overrides: PriceOverrides | None = None) -> float | None:
    """:func:`cost_usd` of a :class:`~tale_core.types.Completion` from its full usage (cache fields too)."""
    return cost_usd(
        completion.provider,
        completion.model,
        completion.input_tokens,
        completion.output_tokens,
        overrides,
        cache_read_tokens=int(getattr(completion, "cache_read_tokens", 0) or 0),
        cache_write_tokens=int(getattr(completion, "cache_write_tokens", 0) or 0),
    )


def estimate_call_cost(
    model: ChatModel, prompt_text: str, expected_output_tokens: int, overrides: PriceOverrides | None = None
) -> tuple[float | None, int, bool]:
    """Cost preview before a call: ``(usd or None, input_tokens, exact)``.

    ``input_tokens`` comes from ``model.count_tokens`` (exact only with the model's own tokenizer; chat
    templates add a few tokens on top). ``expected_output_tokens`` is the caller's guess.
    """
    if expected_output_tokens is None or expected_output_tokens < 0:
        raise PricingError("The expected output length must be a whole number >= 0")
    n_in, exact = model.count_tokens(prompt_text or "")
    usd = cost_usd(model.provider, model.model, n_in, int(expected_output_tokens), overrides)
    return usd, n_in, bool(exact)


_SPEC_RE = re.compile(r"^[^/\s]+/[^\s]+$")


def parse_override(spec: str, input_per_mtok: float, output_per_mtok: float) -> tuple[str, Price]:
    """Validate one user override (``spec`` as ``provider/model`` or ``provider/*``) into a table entry."""
    spec = (spec or "").strip()
    if not _SPEC_RE.match(spec):
        raise PricingError(f"Price override {spec!r} must name a model as provider/model or provider/*")
    try:
        return spec, user_price(float(input_per_mtok), float(output_per_mtok))
    except (TypeError, ValueError):
        raise PricingError("Prices must be numbers (dollars per million tokens)") from None


__all__ = [
    "Price",
    "PriceOverrides",
    "PricingError",
    "LOCAL_PRICE",
    "price_for",
    "cost_usd",
    "completion_cost",
    "estimate_call_cost",
    "price_table_version",
    "user_price",
    "parse_override",
]
