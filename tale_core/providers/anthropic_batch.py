"""Anthropic's Message Batches for :mod:`tale_core.engine.batch`.

``client.messages.batches.create(requests=[{"custom_id", "params"}])`` with the params a live call would
send (:meth:`AnthropicModel.build_request`); polled with ``retrieve`` (``processing_status`` ``ended`` ends
it); results streamed with ``client.messages.batches.results`` (``succeeded``, ``errored``, ``canceled``,
``expired`` per request; only ``succeeded`` carries a message). Cancel with ``cancel``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tale_core.accounting.batch_pricing import batch_price_factor, price_basis
from tale_core.engine.batch import BatchCancelled, BatchFailed, BatchRequest, BatchStatus
from tale_core.errors import ProviderError
from tale_core.providers.anthropic_api import AnthropicModel
from tale_core.providers.base import Stopwatch
from tale_core.types import Completion, GenParams, Message


class AnthropicBatch:
    def __init__(self, model: AnthropicModel, factor: float | None = None):
        self.m = model
        self.provider = model.provider
        self.factor = batch_price_factor(model.provider, factor)

    def _call(self, what: str, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except ProviderError:
            raise
        except Exception as e:
            err = self.m.map_error(e)
            err.message = f"Batch {what}: {err.message}"
            raise err from e

    def body(self, messages: Sequence[Message], params: GenParams) -> dict[str, Any]:
        return self.m.build_request(list(messages), params)

    def submit(self, requests: Sequence[BatchRequest], metadata: Mapping[str, str]) -> str:
        reqs = [{"custom_id": r.custom_id, "params": r.body} for r in requests]
        b = self._call("create", self.m._client.messages.batches.create, requests=reqs)
        return str(b.id)

    def status(self, batch_id: str) -> BatchStatus:
        b = self._call("status", self.m._client.messages.batches.retrieve, batch_id)
        rc = b.request_counts
        counts = {
            "processing": rc.processing,
            "succeeded": rc.succeeded,
            "errored": rc.errored,
            "canceled": rc.canceled,
            "expired": rc.expired,
        }
        return BatchStatus(str(b.processing_status), b.processing_status == "ended", counts)

    def results(self, batch_id: str) -> Iterator[tuple[str, Any]]:
        for item in self._call("results", self.m._client.messages.batches.results, batch_id):
            yield str(item.custom_id), item.result

    def parse(self, raw: Any, request: BatchRequest) -> Completion:
        kind = getattr(raw, "type", None)
        if kind == "succeeded":
            out = self.m._completion(request.body, raw.message, Stopwatch(), None)
            out.latency_s = 0.0
            out.raw_usage["price_factor"] = self.factor
            out.raw_usage["price_basis"] = price_basis(self.provider, self.factor)
            return out
        if kind == "errored":
            inner = getattr(getattr(raw, "error", None), "error", None)
            etype = str(getattr(inner, "type", "") or "error")
            msg = str(getattr(inner, "message", "") or "")
            raise ProviderError(f"The batch request failed ({etype}): {msg}"[:500], provider=self.provider)
        if kind == "canceled":
            raise BatchCancelled("The batch was cancelled before this request ran.", provider=self.provider)
        if kind == "expired":
            raise BatchFailed("The batch expired before this request ran.", provider=self.provider)
        raise BatchFailed(f"Unknown batch result type {kind!r}.", provider=self.provider)

    def cancel(self, batch_id: str) -> None:
        self._call("cancel", self.m._client.messages.batches.cancel, batch_id)
