"""OpenAI's Batch API (also OpenAI-compatible servers that implement it) for :mod:`tale_core.engine.batch`.

One JSONL request file per batch (``client.files.create(purpose="batch")``), one line per call:
``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`` with the body a live call would
send (:meth:`OpenAIModel.build_request`); ``client.batches.create(completion_window="24h")``; polled with
``client.batches.retrieve``; results from the output and error files (``client.files.content``). Statuses
``completed``, ``expired``, ``cancelled`` and ``failed`` end a batch; the requests an expired or cancelled
batch did not run come back in its error file (or not at all) and become error records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tale_core.accounting.batch_pricing import batch_price_factor, price_basis
from tale_core.engine.batch import BatchCancelled, BatchFailed, BatchRequest, BatchStatus
from tale_core.errors import ProviderError
from tale_core.providers.base import Stopwatch
from tale_core.providers.openai_compat import OpenAIModel, _reasoning_text
from tale_core.types import Completion, GenParams, Message

ENDPOINT = "/v1/chat/completions"
ENDED = ("completed", "expired", "cancelled", "failed")


class OpenAIBatch:
    def __init__(self, model: OpenAIModel, factor: float | None = None):
        self.m = model
        self.provider = model.provider
        self.factor = batch_price_factor(model.provider, factor)

    def _call(self, what: str, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except ProviderError:
            raise
        except Exception as e:  # the SDK's errors become the typed ones, with what we were doing
            err = self.m.map_error(e)
            err.message = f"Batch {what}: {err.message}"
            raise err from e

    def body(self, messages: Sequence[Message], params: GenParams) -> dict[str, Any]:
        return self.m.build_request(messages, params, stream=False)

    def submit(self, requests: Sequence[BatchRequest], metadata: Mapping[str, str]) -> str:
        lines = [
            json.dumps(
                {"custom_id": r.custom_id, "method": "POST", "url": ENDPOINT, "body": r.body}, ensure_ascii=False
            )
            for r in requests
        ]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        client = self.m._client
        f = self._call("upload", client.files.create, file=("tale_batch.jsonl", data), purpose="batch")
        b = self._call(
            "create",
            client.batches.create,
            input_file_id=f.id,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata=dict(metadata),
        )
        return str(b.id)

    def status(self, batch_id: str) -> BatchStatus:
        b = self._call("status", self.m._client.batches.retrieve, batch_id)
        rc = b.request_counts
        counts = {"total": rc.total, "completed": rc.completed, "failed": rc.failed} if rc is not None else {}
        msg = ""
        if b.errors is not None and b.errors.data:
            msg = "; ".join(str(e.message or e.code) for e in b.errors.data[:3])
        return BatchStatus(str(b.status), b.status in ENDED, counts, msg)

    def results(self, batch_id: str) -> Iterator[tuple[str, Any]]:
        client = self.m._client
        b = self._call("status", client.batches.retrieve, batch_id)
        state = str(b.status)
        for fid in (b.output_file_id, b.error_file_id):
            if not fid:
                continue
            text = self._call("results", client.files.content, fid).text
            for line in text.splitlines():
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict) and isinstance(row.get("custom_id"), str):
                    row["_batch_state"] = state
                    yield row["custom_id"], row

    def parse(self, raw: Any, request: BatchRequest) -> Completion:
        err = raw.get("error")
        resp = raw.get("response") or {}
        status = resp.get("status_code")
        if err or status != 200:
            e = err or (resp.get("body") or {}).get("error") or {}
            code = str(e.get("code") or "") if isinstance(e, dict) else ""
            msg = str(e.get("message") or e) if isinstance(e, dict) else str(e)
            if code == "batch_expired" or raw.get("_batch_state") == "expired" and code in ("", "batch_expired"):
                raise BatchFailed(
                    f"The batch expired before this request ran: {msg}", provider=self.provider, status=status
                )
            if code == "batch_cancelled":
                raise BatchCancelled(f"The batch was cancelled before this request ran: {msg}", provider=self.provider)
            raise ProviderError(
                f"The batch request failed ({code or status}): {msg}"[:500], provider=self.provider, status=status
            )
        from openai.types.chat import ChatCompletion

        comp = ChatCompletion.model_validate(resp.get("body") or {})
        if not comp.choices:
            raise BatchFailed("the batch answer has no choices", provider=self.provider)
        choice = comp.choices[0]
        text = choice.message.content or choice.message.refusal or ""
        out = self.m._completion(
            request.body,
            request.messages,
            text,
            _reasoning_text(choice.message),
            choice.finish_reason,
            comp.usage,
            Stopwatch(),
            None,
        )
        out.latency_s = 0.0  # the provider's queue time is not a latency
        out.raw_usage["price_factor"] = self.factor
        out.raw_usage["price_basis"] = price_basis(self.provider, self.factor)
        out.raw_usage["batch_request_id"] = str(resp.get("request_id") or "")
        return out

    def cancel(self, batch_id: str) -> None:
        self._call("cancel", self.m._client.batches.cancel, batch_id)
