"""One model call as the engine makes it: cache look-up, the call, cost, a :class:`CallRecord`, the sink.

:func:`call_model` is the only place the engine talks to a :class:`ChatModel`. It never raises a
:class:`~tale_core.errors.ProviderError`: a failed call comes back as a record whose ``error`` holds the
error's dict, and such records are never cached.

Cost semantics: ``CallRecord.cost_usd`` is the price of the call's tokens (usage x dated price table),
also on a cache hit, so a rerun from the cache still reports what the method costs. What a call really
spent now is :func:`spent_usd` (0 for cache hits); spend caps use that.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from tale_core.accounting import pricing
from tale_core.accounting.pricing import PriceOverrides
from tale_core.errors import ProviderError, TaleError
from tale_core.protocols import CallCache, CallRecord, CallSink
from tale_core.providers.base import ChatModel, OnText
from tale_core.types import Completion, GenParams, Message, cache_key

#: fills ``correct`` and ``extracted_answer`` of a successful record before it is cached and sunk
Grader = Callable[[CallRecord], None]

_RECORD_FIELDS = {f.name for f in dataclasses.fields(CallRecord)}
_RESERVED = {"spec", "messages", "params", "completion", "error", "cache_key", "cache_hit", "cost_usd"}


def cost_of(
    provider: str,
    model: str,
    input_tokens: int | None,
    output_tokens: int | None,
    overrides: PriceOverrides | None = None,
    *,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float | None:
    """USD for the tokens (:func:`tale_core.accounting.pricing.cost_usd`); None when a count or the price is unknown."""
    if input_tokens is None or output_tokens is None:
        return None
    return pricing.cost_usd(
        provider,
        model,
        int(input_tokens),
        int(output_tokens),
        overrides=overrides,
        cache_read_tokens=cache_read_tokens,
        cache_write_tokens=cache_write_tokens,
    )


def spent_usd(record: CallRecord) -> float:
    """What this call actually cost now: its price, or 0 for a cache hit, an error or an unknown price."""
    if record.cache_hit or record.cost_usd is None:
        return 0.0
    return float(record.cost_usd)


#: ``record.extra`` entry saying why a finished call was not cached (stored with the call)
CACHE_NOTE = "cache_note"
#: attempts and pauses (s) for a cache write (a write lock held by another process, ...)
CACHE_PUT_ATTEMPTS = 2
CACHE_PUT_PAUSE_S = 0.5


def _cache_put(cache: CallCache | None, key: str, record: CallRecord) -> None:
    """Cache a finished call, retrying once; when it still fails, the call goes on uncached and says so.

    A finished (and paid) call is never lost to the cache: the caller's sink always receives it.
    """
    if cache is None:
        return
    err: Exception | None = None
    for attempt in range(CACHE_PUT_ATTEMPTS):
        try:
            cache.put(key, record)
            return
        except Exception as e:
            err = e
            if attempt + 1 < CACHE_PUT_ATTEMPTS:
                time.sleep(CACHE_PUT_PAUSE_S)
    record.extra[CACHE_NOTE] = (
        f"not cached: the cache write failed {CACHE_PUT_ATTEMPTS} times ({type(err).__name__}); the call is kept"
    )


def _cache_allowed(use_cache: bool | None, params: GenParams, model: ChatModel | None = None) -> bool:
    """An explicit choice wins; else only deterministic calls: temperature 0 and a seed, both actually
    sent to this model (o-series, gpt-5 and Claude take neither, so their calls are not replayed)."""
    if use_cache is not None:
        return bool(use_cache)
    if model is None:
        return params.deterministic
    from tale_core.providers.capabilities import Capabilities, is_deterministic
    from tale_core.providers.catalog import capabilities_for

    caps = getattr(model, "capabilities", None)
    if not isinstance(caps, Capabilities):
        caps = capabilities_for(model.provider, model.model)
    return is_deterministic(caps, params)


def call_model(
    model: ChatModel,
    messages: Sequence[Message],
    params: GenParams,
    *,
    cache: CallCache | None = None,
    sink: CallSink | None = None,
    use_cache: bool | None = None,
    on_text: OnText | None = None,
    price_overrides: PriceOverrides | None = None,
    grader: Grader | None = None,
    **meta: Any,
) -> CallRecord:
    """Make (or replay from ``cache``) one call and return its :class:`CallRecord`.

    The cache is consulted and written only when ``use_cache`` is True, or when it is None and the call
    is deterministic on this model (``params.deterministic`` and the model takes temperature and seed). A cache hit replays the cached text through ``on_text`` in one piece.
    ``grader`` (optional) fills correctness on a successful record before it is cached and sunk.
    ``meta`` fills CallRecord fields (method, budget, role, question, question_id, repeat, gold_answer,
    ...); unknown keys go to ``record.extra``. ``sink.on_call`` receives every record: fresh, cached or
    failed. Provider failures never raise.
    """
    msgs = list(messages)
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = dict(meta.pop("extra", None) or {})
    for k, v in meta.items():
        if k in _RECORD_FIELDS and k not in _RESERVED:
            fields[k] = v
        else:
            extra[k] = v
    try:
        key = cache_key(model.provider, model.model, msgs, params, model.runtime())
    except Exception as e:  # e.g. a question with a lone surrogate: call anyway, uncached, and say so
        key = ""
        extra[CACHE_NOTE] = f"not cached: the cache key could not be computed ({type(e).__name__})"
    record = CallRecord(spec=model.spec, messages=msgs, params=params, cache_key=key, extra=extra, **fields)

    allowed = cache is not None and bool(key) and _cache_allowed(use_cache, params, model)
    started = time.perf_counter()
    hit: Completion | None = None
    if allowed and cache is not None:
        try:
            hit = cache.get(key)
        except Exception as e:  # an unreadable cache costs a call, never the run
            record.extra[CACHE_NOTE] = f"cache look-up failed ({type(e).__name__}); called the model"
    if hit is not None:
        record.completion = dataclasses.replace(hit, cached=True)
        record.cache_hit = True
        if on_text is not None and hit.text:
            on_text(hit.text)
    else:
        try:
            record.completion = model.complete(msgs, params, on_text=on_text)
        except ProviderError as e:
            record.error = e.to_dict()
        except Exception as e:  # a bug in a provider must not kill a sweep: record it like a provider error
            record.error = {
                "kind": "internal",
                "message": f"Unexpected error from {model.spec}: {type(e).__name__}: {e}",
                "provider": model.provider,
                "status": None,
                "retry_after": None,
            }
    record.extra["wall_s"] = time.perf_counter() - started

    comp = record.completion
    if comp is not None:
        try:
            record.cost_usd = cost_of(
                model.provider,
                model.model,
                comp.input_tokens,
                comp.output_tokens,
                price_overrides,
                cache_read_tokens=int(comp.cache_read_tokens or 0),
                cache_write_tokens=int(comp.cache_write_tokens or 0),
            )
        except TaleError as e:  # e.g. a provider that reported negative token counts
            record.extra["cost_error"] = str(e)
        factor = comp.raw_usage.get("price_factor") if isinstance(comp.raw_usage, dict) else None
        if isinstance(factor, (int, float)) and record.cost_usd is not None:  # a batch call: its discount
            record.cost_usd = record.cost_usd * float(factor)
            record.extra["price_basis"] = comp.raw_usage.get("price_basis", f"{factor:g} x list price")
        record.cost_is_estimate = comp.usage_source != "provider"
        if grader is not None:
            grader(record)
        if allowed and not record.cache_hit and record.error is None:
            _cache_put(cache, key, record)
    if sink is not None:
        sink.on_call(record)
    return record
