"""A loopback server that speaks OpenAI's Batch API (files + batches) and Anthropic's Message Batches.

Used through the real ``openai`` and ``anthropic`` SDKs::

    with FakeBatchServer() as srv:
        OpenAIModel("gpt-4o-mini", api_key="sk-test", base_url=srv.openai_url)
        AnthropicModel("claude-haiku-4-5", api_key="sk-ant-test", base_url=srv.anthropic_url)

A batch stays ``in_progress`` for ``polls_until_done`` status reads, then ends. What it ends as:

* normally: every request answered by ``answer(body) -> str``, except those for which
  ``fail(custom_id, body)`` returns an error message (a per-request error line / ``errored`` result);
* ``expire_after=N``: only the first N requests ran, the batch ends ``expired`` and the rest are expired;
* cancelled (``POST .../cancel``): ``cancelling``/``canceling`` for one more read, then ended with the first
  ``done_before_cancel`` requests answered and the rest cancelled.

State lives in the server object, so a new client (a "restarted" process) can read the same batch id.
Every request is logged in ``log`` as ``(method, path)``. Nothing here leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def default_answer(body: dict[str, Any]) -> str:
    """A deterministic answer: an estimate-looking reply to a budget-estimate prompt, else an answer."""
    last = str((body.get("messages") or [{}])[-1].get("content", ""))
    if "estimate" in last.lower() and "token" in last.lower():
        return "[[48]]"
    return "Let me compute. The answer is 42.\n\nThe answer is 42"


@dataclass
class FakeBatch:
    id: str
    api: str  # "openai" or "anthropic"
    requests: list[dict[str, Any]]  # {"custom_id", "body"}
    created_at: float = field(default_factory=time.time)
    reads: int = 0
    state: str = "in_progress"
    cancel_reads: int | None = None
    output: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    output_file_id: str | None = None
    error_file_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


class FakeBatchServer:
    def __init__(
        self,
        *,
        polls_until_done: int = 1,
        answer: Callable[[dict[str, Any]], str] = default_answer,
        fail: Callable[[str, dict[str, Any]], str | None] | None = None,
        expire_after: int | None = None,
        done_before_cancel: int = 0,
    ):
        self.polls_until_done = polls_until_done
        self.answer = answer
        self.fail = fail
        self.expire_after = expire_after
        self.done_before_cancel = done_before_cancel
        #: with ``expire_after``: only these batch ids expire (None: every batch)
        self.expire_only: set[str] | None = None
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, FakeBatch] = {}
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._n = 0
        self._srv: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FakeBatchServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                owner._route(self, "GET")

            def do_POST(self) -> None:
                owner._route(self, "POST")

        self._srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._srv.daemon_threads = True
        self._thread = threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def root(self) -> str:
        assert self._srv is not None
        return f"http://127.0.0.1:{self._srv.server_address[1]}"

    @property
    def openai_url(self) -> str:
        return self.root + "/v1"

    @property
    def anthropic_url(self) -> str:
        return self.root

    def _id(self, prefix: str) -> str:
        with self._lock:
            self._n += 1
            return f"{prefix}_{self._n:06d}"

    # ------------------------------------------------------------------ http

    def _send(self, h: BaseHTTPRequestHandler, status: int, payload: Any, ctype: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _route(self, h: BaseHTTPRequestHandler, method: str) -> None:
        path = h.path.split("?", 1)[0]
        n = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(n) if n > 0 else b""
        self.log.append((method, path))
        parts = [p for p in path.split("/") if p]
        try:
            if parts[:2] == ["v1", "files"] and method == "POST":
                return self._upload(h, raw)
            if parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[3] == "content":
                return self._send(h, 200, self.files[parts[2]], "application/octet-stream")
            if parts[:2] == ["v1", "batches"]:
                if method == "POST" and len(parts) == 2:
                    return self._openai_create(h, json.loads(raw))
                b = self.batches[parts[2]]
                if method == "POST" and parts[-1] == "cancel":
                    self._cancel(b)
                return self._send(h, 200, self._openai_view(b))
            if parts[:3] == ["v1", "messages", "batches"]:
                if method == "POST" and len(parts) == 3:
                    return self._anthropic_create(h, json.loads(raw))
                b = self.batches[parts[3]]
                if len(parts) == 5 and parts[4] == "results":
                    lines = "".join(json.dumps(r) + "\n" for r in b.output)
                    return self._send(h, 200, lines.encode("utf-8"), "application/binary")
                if method == "POST" and parts[-1] == "cancel":
                    self._cancel(b)
                return self._send(h, 200, self._anthropic_view(b))
        except (KeyError, IndexError, ValueError) as e:
            return self._send(h, 404, {"error": {"message": f"not found: {e}", "type": "not_found_error"}})
        return self._send(h, 404, {"error": {"message": "no such route", "type": "not_found_error"}})

    def _upload(self, h: BaseHTTPRequestHandler, raw: bytes) -> None:
        ctype = h.headers.get("Content-Type", "")
        msg = BytesParser(policy=email_policy).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
        content = b""
        purpose = ""
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if name == "file":
                content = payload
            elif name == "purpose":
                purpose = payload.decode()
        fid = self._id("file")
        self.files[fid] = content
        self._send(
            h,
            200,
            {
                "id": fid,
                "object": "file",
                "bytes": len(content),
                "created_at": int(time.time()),
                "filename": "batch.jsonl",
                "purpose": purpose or "batch",
                "status": "processed",
            },
        )

    # ------------------------------------------------------------------ batch life

    def _openai_create(self, h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        text = self.files[body["input_file_id"]].decode("utf-8")
        reqs = [json.loads(line) for line in text.splitlines() if line.strip()]
        b = FakeBatch(self._id("batch"), "openai", [{"custom_id": r["custom_id"], "body": r["body"]} for r in reqs])
        b.metadata = dict(body.get("metadata") or {})
        b.counts = {"total": len(reqs), "completed": 0, "failed": 0}
        self.batches[b.id] = b
        self._send(h, 200, self._openai_view(b, read=False))

    def _anthropic_create(self, h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        reqs = [{"custom_id": r["custom_id"], "body": r["params"]} for r in body["requests"]]
        b = FakeBatch(self._id("msgbatch"), "anthropic", reqs)
        self.batches[b.id] = b
        self._send(h, 200, self._anthropic_view(b, read=False))

    def _cancel(self, b: FakeBatch) -> None:
        if b.state == "in_progress":
            b.state = "cancelling"
            b.cancel_reads = 0

    def _advance(self, b: FakeBatch) -> None:
        """One status read: end the batch when its time has come."""
        b.reads += 1
        if b.state == "cancelling":
            assert b.cancel_reads is not None
            b.cancel_reads += 1
            if b.cancel_reads > 1:
                self._finish(b, ran=min(self.done_before_cancel, len(b.requests)), rest="cancelled")
        elif b.state == "in_progress" and b.reads > self.polls_until_done:
            if self.expire_after is not None and (self.expire_only is None or b.id in self.expire_only):
                self._finish(b, ran=min(self.expire_after, len(b.requests)), rest="expired")
            else:
                self._finish(b, ran=len(b.requests), rest="")

    def _finish(self, b: FakeBatch, ran: int, rest: str) -> None:
        ok_lines: list[dict[str, Any]] = []
        err_lines: list[dict[str, Any]] = []
        for k, r in enumerate(b.requests):
            cid, body = r["custom_id"], r["body"]
            if k >= ran:
                err_lines.append(self._skipped(b, cid, rest))
                continue
            why = self.fail(cid, body) if self.fail is not None else None
            if why:
                err_lines.append(self._failed(b, cid, why))
            else:
                ok_lines.append(self._answered(b, cid, body))
        if b.api == "openai":
            b.counts = {"total": len(b.requests), "completed": len(ok_lines), "failed": len(err_lines)}
            if ok_lines:
                b.output_file_id = self._id("file")
                self.files[b.output_file_id] = "".join(json.dumps(x) + "\n" for x in ok_lines).encode()
            if err_lines:
                b.error_file_id = self._id("file")
                self.files[b.error_file_id] = "".join(json.dumps(x) + "\n" for x in err_lines).encode()
            b.state = {"": "completed", "expired": "expired", "cancelled": "cancelled"}[rest]
        else:
            kinds = [x["result"]["type"] for x in ok_lines + err_lines]
            b.counts = {
                "processing": 0,
                "succeeded": kinds.count("succeeded"),
                "errored": kinds.count("errored"),
                "canceled": kinds.count("canceled"),
                "expired": kinds.count("expired"),
            }
            b.state = "ended"
        b.output = ok_lines + err_lines

    def _answered(self, b: FakeBatch, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        text = self.answer(body)
        prompt = sum(_tokens(str(m.get("content", ""))) for m in body.get("messages") or [])
        out = _tokens(text)
        if b.api == "openai":
            completion = {
                "id": "chatcmpl-" + cid[-12:],
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", ""),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out},
            }
            return {
                "id": self._id("batch_req"),
                "custom_id": cid,
                "response": {"status_code": 200, "request_id": self._id("req"), "body": completion},
                "error": None,
            }
        message = {
            "id": "msg_" + cid[-12:],
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": prompt, "output_tokens": out},
        }
        return {"custom_id": cid, "result": {"type": "succeeded", "message": message}}

    def _failed(self, b: FakeBatch, cid: str, why: str) -> dict[str, Any]:
        if b.api == "openai":
            err = {"error": {"message": why, "type": "invalid_request_error", "code": "invalid_value"}}
            return {
                "id": self._id("batch_req"),
                "custom_id": cid,
                "response": {"status_code": 400, "request_id": self._id("req"), "body": err},
                "error": None,
            }
        err = {"type": "error", "error": {"type": "invalid_request_error", "message": why}}
        return {"custom_id": cid, "result": {"type": "errored", "error": err}}

    def _skipped(self, b: FakeBatch, cid: str, rest: str) -> dict[str, Any]:
        if b.api == "openai":
            code = "batch_expired" if rest == "expired" else "batch_cancelled"
            msg = "This request could not be executed before the completion window expired."
            if rest != "expired":
                msg = "This request was not executed because the batch was cancelled."
            return {
                "id": self._id("batch_req"),
                "custom_id": cid,
                "response": None,
                "error": {"code": code, "message": msg},
            }
        return {"custom_id": cid, "result": {"type": "canceled" if rest == "cancelled" else "expired"}}

    # ------------------------------------------------------------------ views

    def _openai_view(self, b: FakeBatch, read: bool = True) -> dict[str, Any]:
        if read:
            self._advance(b)
        return {
            "id": b.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": None,
            "input_file_id": "file_in",
            "completion_window": "24h",
            "status": b.state,
            "output_file_id": b.output_file_id,
            "error_file_id": b.error_file_id,
            "created_at": int(b.created_at),
            "request_counts": b.counts,
            "metadata": b.metadata,
        }

    def _anthropic_view(self, b: FakeBatch, read: bool = True) -> dict[str, Any]:
        if read:
            self._advance(b)
        ended = b.state == "ended"
        counts = (
            dict(b.counts)
            if ended
            else {"processing": len(b.requests), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        )
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(b.created_at))
        return {
            "id": b.id,
            "type": "message_batch",
            "processing_status": "canceling" if b.state == "cancelling" else b.state,
            "request_counts": counts,
            "ended_at": iso if ended else None,
            "created_at": iso,
            "expires_at": iso,
            "archived_at": None,
            "cancel_initiated_at": iso if b.cancel_reads is not None else None,
            "results_url": f"{self.root}/v1/messages/batches/{b.id}/results" if ended else None,
        }
