"""Loopback fake OpenAI and Anthropic HTTP servers that speak each wire protocol, for tests.

Each server is a stdlib ``ThreadingHTTPServer`` on ``127.0.0.1`` port 0, run in a background thread and
used as a context manager::

    with FakeOpenAI(api_key="sk-test") as srv:
        srv.enqueue(srv.chat("Answer: [[4]]", prompt_tokens=12, completion_tokens=5))
        model = OpenAIModel("gpt-4o-mini", api_key="sk-test", base_url=srv.base_url)
        ...
        assert srv.requests[0].body["max_tokens"] == 64

Replies are queued with :meth:`FakeServer.enqueue` and used one per request, in order; when the queue is
empty the ``default`` reply answers (set it to make a reply repeat forever, e.g. a 429). A reply is a
callable ``(RecordedRequest) -> None`` that writes the answer through the handler it is given, so chat
replies can answer in JSON or as a server-sent-event stream depending on the request's ``stream`` flag.

Ready-made replies cover what a provider must cope with: normal JSON, SSE streaming with usage, 429
with Retry-After, 500, hang/slow (for timeouts), malformed bodies, 401, 404, 400 context length errors,
and streams that break off midway (connection dropped, or ended early without the final events).

Every request is recorded (method, path, headers, parsed JSON body). Nothing here touches the network
beyond the loopback interface, and every wait is bounded and ends at once when the server stops.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# ----------------------------------------------------------------------------------------------------
# the generic server


@dataclass
class RecordedRequest:
    """One request as the fake server received it."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any = None
    handler: _Handler | None = field(default=None, repr=False)

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


Reply = Callable[[RecordedRequest], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like the real APIs
    timeout = 30  # an idle keep-alive connection is dropped after this many seconds
    server: _Server

    def setup(self) -> None:
        super().setup()
        # answers are written as headers then body: without this, Nagle + delayed ACK add ~40 ms each
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # silence request logs
        return None

    def _read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _handle(self) -> None:
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        req = RecordedRequest(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, raw, body, handler=self
        )
        owner = self.server.owner
        reply = owner._next_reply(req)
        try:
            reply(req)
        except (TimeoutError, BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            self.close_connection = True  # the client gave up (timeout): nothing left to say

    do_POST = _handle
    do_GET = _handle

    # -- helpers replies use --------------------------------------------------------------------------

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(payload).encode("utf-8"), "application/json", headers)

    def send_bytes(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def start_stream(self, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def write_chunk(self, text: str) -> None:
        data = text.encode("utf-8")
        self.wfile.write(f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n")
        self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop_connection(self) -> None:
        """Close the socket abruptly, in the middle of whatever was being sent."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client closing its keep-alive connection is normal; anything else is reported."""
        import sys

        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class FakeServer:
    """A scripted HTTP server on 127.0.0.1. Subclasses add the protocol's ready-made replies."""

    #: path prefix the SDK's base URL should carry (``/v1`` for OpenAI)
    base_path = ""

    def __init__(self, default: Reply | None = None) -> None:
        self.requests: list[RecordedRequest] = []
        self.default: Reply = default or self.not_found()
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------------

    def __enter__(self) -> FakeServer:
        self._stop.clear()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"{type(self).__name__}-{self.port}",
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving; hanging replies wake up at once; open connections are closed."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            handlers = [r.handler for r in self.requests if r.handler is not None]
        for h in handlers:
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd = None
        self._thread = None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "use the server as a context manager first"
        return self._httpd.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL to give the SDK as ``base_url``."""
        return self.origin + self.base_path

    # -- scripting --------------------------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> FakeServer:
        """Queue replies, used one per request in order; afterwards ``default`` answers."""
        with self._lock:
            self._script.extend(replies)
        return self

    def _next_reply(self, req: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(req)
        refusal = self.check(req)
        if refusal is not None:  # protocol rules answer first and leave the script untouched
            return refusal
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def check(self, req: RecordedRequest) -> Reply | None:
        """Protocol checks a real server makes before the scripted reply (auth, path, parameters)."""
        return None

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; returns True (early) when the server is stopping."""
        return self._stop.wait(seconds)

    # -- protocol-neutral replies -----------------------------------------------------------------------

    @staticmethod
    def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        def reply(req: RecordedRequest) -> None:
            req.handler.send_json(status, payload, headers)

        return reply

    @staticmethod
    def raw_reply(
        data: bytes, status: int = 200, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> Reply:
        """Any bytes with any content type: use it for malformed bodies."""

        def reply(req: RecordedRequest) -> None:
            req.handler.send_bytes(status, data, content_type, headers)

        return reply

    def malformed(self) -> Reply:
        """A 200 that claims JSON but is not."""
        return self.raw_reply(b'{"id": "broken", "choices": [ {"message": ', 200, "application/json")

    def html(self, status: int = 200) -> Reply:
        """What a misconfigured proxy or wrong base URL returns: an HTML page."""
        return self.raw_reply(b"<html><body>Welcome to nginx!</body></html>", status, "text/html")

    def hang(self, seconds: float, then: Reply | None = None) -> Reply:
        """Say nothing for ``seconds`` (bounded, ends early when the server stops), then ``then`` or close."""

        def reply(req: RecordedRequest) -> None:
            if self.wait(seconds):
                req.handler.drop_connection()
                return
            if then is not None:
                then(req)
            else:
                req.handler.drop_connection()

        return reply

    def not_found(self) -> Reply:
        def reply(req: RecordedRequest) -> None:
            req.handler.send_json(404, {"error": {"message": f"Unknown path {req.path}", "type": "not_found"}})

        return reply

    def sse(
        self,
        events: Iterable[tuple[str | None, Any]],
        *,
        delay_s: float = 0.0,
        break_after: int | None = None,
        clean_end: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Stream ``(event_name, data)`` pairs as server-sent events, ``delay_s`` apart.

        ``data`` that is not a string is JSON-encoded. ``break_after=N`` stops after N events: by
        dropping the connection mid-body (a broken chunked stream), or with ``clean_end=True`` by ending
        the body properly but early (no final events).
        """
        events = list(events)

        def reply(req: RecordedRequest) -> None:
            h = req.handler
            h.start_stream(headers)
            for i, (name, data) in enumerate(events):
                if break_after is not None and i >= break_after:
                    break
                if delay_s and self.wait(delay_s):
                    h.drop_connection()
                    return
                payload = data if isinstance(data, str) else json.dumps(data)
                text = (f"event: {name}\n" if name else "") + f"data: {payload}\n\n"
                h.write_chunk(text)
            if break_after is not None and break_after < len(events) and not clean_end:
                h.drop_connection()
                return
            h.end_stream()

        return reply


# ----------------------------------------------------------------------------------------------------
# OpenAI Chat Completions


def _openai_error(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class FakeOpenAI(FakeServer):
    """``POST /v1/chat/completions`` as OpenAI (and OpenAI-compatible servers) answer it.

    With ``api_key`` set, requests whose ``Authorization: Bearer`` differs get OpenAI's 401.
    ``reject_params`` names request fields the "model" refuses with OpenAI's 400
    ``unsupported_parameter`` error.

    The rules of OpenAI's reasoning models, by model name as OpenAI documents them (``o1``/``o3``/``o4``/
    ``gpt-5`` prefixes): ``max_tokens`` is refused (use ``max_completion_tokens``), a ``temperature``
    other than 1 is refused, and ``reasoning_effort`` must be one of the model's levels (o-series:
    low/medium/high; gpt-5: minimal/low/medium/high; gpt-5.1: none/low/medium/high). Other models
    refuse ``reasoning_effort``. ``reasoning_rules=False`` plays a compatible server that checks nothing.
    """

    base_path = "/v1"

    def __init__(
        self,
        api_key: str | None = None,
        reject_params: Iterable[str] = (),
        default: Reply | None = None,
        reasoning_rules: bool = True,
    ) -> None:
        super().__init__(default)
        self.api_key = api_key
        self.reject_params = set(reject_params)
        self.reasoning_rules = reasoning_rules

    @staticmethod
    def effort_levels(model: str) -> tuple[str, ...] | None:
        """The reasoning_effort levels OpenAI documents for ``model``; None for a non-reasoning model."""
        if model.startswith("gpt-5.1"):
            return ("none", "low", "medium", "high")
        if model.startswith("gpt-5"):
            return ("minimal", "low", "medium", "high")
        if model.startswith(("o1", "o3", "o4")):
            return ("low", "medium", "high")
        return None

    def _reasoning_rule(self, body: dict) -> Reply | None:
        model = str(body.get("model", ""))
        levels = self.effort_levels(model)

        def bad(message: str, code: str, param: str) -> Reply:
            return self.json_reply(_openai_error(message, "invalid_request_error", code, param), 400)

        if levels is None:
            if "reasoning_effort" in body:
                return bad(
                    "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                    "unsupported_parameter",
                    "reasoning_effort",
                )
            return None
        if "max_tokens" in body:
            return bad(
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                "'max_completion_tokens' instead.",
                "unsupported_parameter",
                "max_tokens",
            )
        if "temperature" in body and body["temperature"] != 1:
            return bad(
                f"Unsupported value: 'temperature' does not support {body['temperature']} with this model. Only "
                "the default (1) value is supported.",
                "unsupported_value",
                "temperature",
            )
        effort = body.get("reasoning_effort")
        if effort is not None and effort not in levels:
            return bad(
                f"Unsupported value: 'reasoning_effort' does not support '{effort}' with this model. Supported "
                f"values are: {', '.join(repr(v) for v in levels)}.",
                "unsupported_value",
                "reasoning_effort",
            )
        return None

    def check(self, req: RecordedRequest) -> Reply | None:
        if self.api_key is not None and req.header("authorization") != f"Bearer {self.api_key}":
            return self.unauthorized()
        if req.method == "POST" and req.path.rstrip("/") not in ("/v1/chat/completions", "/v1/responses"):
            return self.not_found()
        bad = sorted(self.reject_params & set(req.body or {})) if isinstance(req.body, dict) else []
        if bad:
            return self.json_reply(
                _openai_error(
                    f"Unsupported parameter: '{bad[0]}' is not supported with this model.",
                    "invalid_request_error",
                    "unsupported_parameter",
                    bad[0],
                ),
                400,
            )
        if self.reasoning_rules and isinstance(req.body, dict) and req.method == "POST":
            return self._reasoning_rule(req.body)
        return None

    # -- success ----------------------------------------------------------------------------------------

    def chat(
        self,
        text: str,
        *,
        prompt_tokens: int = 10,
        completion_tokens: int = 5,
        reasoning_tokens: int | None = None,
        cached_tokens: int | None = None,
        finish_reason: str = "stop",
        usage: bool = True,
        pieces: list[str] | None = None,
        reasoning_content: str | None = None,
        break_after: int | None = None,
        clean_end: bool = False,
        delay_s: float = 0.0,
    ) -> Reply:
        """A chat answer: JSON, or SSE chunks when the request says ``stream: true``.

        When streaming, ``pieces`` (default: ``text`` split in words) are the deltas; a final chunk with
        empty ``choices`` carries the usage when the request asked ``stream_options.include_usage``.
        ``usage=False`` plays a compatible server that reports no usage at all. ``cached_tokens`` fills
        ``prompt_tokens_details.cached_tokens`` (part of ``prompt_tokens``, as OpenAI counts them);
        ``finish_reason="length"`` is an answer cut off by the output cap.
        """
        pieces = pieces if pieces is not None else _split_words(text)
        assert "".join(pieces) == text, "pieces must join to the text"
        assert cached_tokens is None or cached_tokens <= prompt_tokens, "cached tokens are part of prompt_tokens"

        def usage_block() -> dict:
            u: dict[str, Any] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            if cached_tokens is not None:
                u["prompt_tokens_details"] = {"cached_tokens": cached_tokens, "audio_tokens": 0}
            if reasoning_tokens is not None:
                u["completion_tokens_details"] = {
                    "reasoning_tokens": reasoning_tokens,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                }
            return u

        def reply(req: RecordedRequest) -> None:
            model = (req.body or {}).get("model", "fake-model")
            base = {"id": "chatcmpl-fake", "created": 1_700_000_000, "model": model, "system_fingerprint": "fp_fake"}
            if not req.stream:
                message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
                if reasoning_content is not None:
                    message["reasoning_content"] = reasoning_content
                payload = {
                    **base,
                    "object": "chat.completion",
                    "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
                }
                if usage:
                    payload["usage"] = usage_block()
                req.handler.send_json(200, payload)
                return
            include_usage = bool(((req.body or {}).get("stream_options") or {}).get("include_usage"))
            chunk = {**base, "object": "chat.completion.chunk"}
            events: list[tuple[str | None, Any]] = [
                (
                    None,
                    {
                        **chunk,
                        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
                    },
                )
            ]
            if reasoning_content is not None:
                events.append(
                    (
                        None,
                        {
                            **chunk,
                            "choices": [
                                {"index": 0, "delta": {"reasoning_content": reasoning_content}, "finish_reason": None}
                            ],
                        },
                    )
                )
            for p in pieces:
                events.append(
                    (None, {**chunk, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]})
                )
            events.append((None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]}))
            if usage and include_usage:
                events.append((None, {**chunk, "choices": [], "usage": usage_block()}))
            events.append((None, "[DONE]"))
            self.sse(events, break_after=break_after, clean_end=clean_end, delay_s=delay_s)(req)

        return reply

    def response(
        self,
        text: str,
        *,
        input_tokens: int = 10,
        output_tokens: int = 5,
        reasoning_tokens: int = 0,
        cached_tokens: int = 0,
        summary: str | None = None,
        incomplete: bool = False,
    ) -> Reply:
        """A Responses API answer (``POST /v1/responses``): a reasoning item with its summary, then the
        message; ``incomplete=True`` is an answer cut off by ``max_output_tokens``. Reasoning tokens are
        part of ``output_tokens``, as OpenAI counts them."""
        assert reasoning_tokens <= output_tokens and cached_tokens <= input_tokens

        def reply(req: RecordedRequest) -> None:
            body = req.body or {}
            if req.path.rstrip("/") != "/v1/responses" or "max_tokens" in body or "max_completion_tokens" in body:
                req.handler.send_json(
                    400, _openai_error("Unknown parameter for /v1/responses", "invalid_request_error")
                )
                return
            output: list[dict[str, Any]] = []
            if summary is not None:
                output.append(
                    {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": summary}]}
                )
            output.append(
                {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "status": "incomplete" if incomplete else "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            )
            payload = {
                "id": "resp_fake",
                "object": "response",
                "created_at": 1_700_000_000,
                "model": body.get("model", "fake"),
                "status": "incomplete" if incomplete else "completed",
                "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
                "output": output,
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "usage": {
                    "input_tokens": input_tokens,
                    "input_tokens_details": {"cached_tokens": cached_tokens},
                    "output_tokens": output_tokens,
                    "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
                    "total_tokens": input_tokens + output_tokens,
                },
            }
            req.handler.send_json(200, payload)

        return reply

    def stream_error(
        self, message: str = "The server had an error while processing your request.", after: int = 2
    ) -> Reply:
        """A stream that starts, then sends an ``{"error": ...}`` event (as OpenAI does mid-stream)."""

        def reply(req: RecordedRequest) -> None:
            chunk = {"id": "chatcmpl-fake", "created": 1, "model": "m", "object": "chat.completion.chunk"}
            events: list[tuple[str | None, Any]] = [
                (None, {**chunk, "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}]})
                for i in range(after)
            ]
            events.append((None, _openai_error(message, "server_error")))
            self.sse(events)(req)

        return reply

    # -- failures ---------------------------------------------------------------------------------------

    def rate_limited(self, retry_after: str | None = "0.01", code: str = "rate_limit_exceeded") -> Reply:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return self.json_reply(
            _openai_error("Rate limit reached for requests per min (RPM).", "requests", code), 429, headers
        )

    def server_error(self, status: int = 500, retry_after: str | None = "0.01") -> Reply:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return self.json_reply(
            _openai_error("The server had an error while processing your request.", "server_error"), status, headers
        )

    def unauthorized(self) -> Reply:
        return self.json_reply(
            _openai_error("Incorrect API key provided: sk-wr***ng.", "invalid_request_error", "invalid_api_key"), 401
        )

    def model_not_found(self, model: str = "gpt-nope") -> Reply:
        return self.json_reply(
            _openai_error(
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            ),
            404,
        )

    def context_too_long(self) -> Reply:
        return self.json_reply(
            _openai_error(
                "This model's maximum context length is 128000 tokens. However, your messages resulted in "
                "130512 tokens. Please reduce the length of the messages.",
                "invalid_request_error",
                "context_length_exceeded",
                "messages",
            ),
            400,
        )

    def bad_request(
        self, message: str = "Invalid value for 'max_tokens': must be positive.", param: str | None = "max_tokens"
    ) -> Reply:
        return self.json_reply(_openai_error(message, "invalid_request_error", "invalid_value", param), 400)


# ----------------------------------------------------------------------------------------------------
# Anthropic Messages


def _anthropic_error(type_: str, message: str) -> dict:
    return {"type": "error", "error": {"type": type_, "message": message}, "request_id": "req_fake"}


class FakeAnthropic(FakeServer):
    """``POST /v1/messages`` as the Anthropic API answers it (API version 2026-10-21 rules).

    With ``api_key`` set, a request must carry it as ``x-api-key`` or ``Authorization: Bearer`` or it
    gets Anthropic's 401. Like the real API it refuses sampling parameters (``temperature``, ``top_p``,
    ``top_k``) with a 400 under API version 2026-10-21, and checks the extended thinking rule
    (``budget_tokens`` >= 1024 and < ``max_tokens``).
    """

    base_path = ""
    SAMPLING = ("temperature", "top_p", "top_k")

    def __init__(self, api_key: str | None = None, default: Reply | None = None) -> None:
        super().__init__(default)
        self.api_key = api_key

    def check(self, req: RecordedRequest) -> Reply | None:
        if self.api_key is not None:
            given = req.header("x-api-key") or (req.header("authorization") or "").removeprefix("Bearer ")
            if given != self.api_key:
                return self.unauthorized()
        if req.method == "POST" and req.path.rstrip("/") != "/v1/messages":
            return self.not_found()
        body = req.body if isinstance(req.body, dict) else {}
        if req.header("anthropic-version") == "2026-10-21":
            for p in self.SAMPLING:
                if p in body:
                    return self.json_reply(
                        _anthropic_error("invalid_request_error", f"{p}: Extra inputs are not permitted"), 400
                    )
        thinking = body.get("thinking") or {}
        if thinking.get("type") == "enabled":
            b = thinking.get("budget_tokens")
            if not isinstance(b, int) or b < 1024 or b >= int(body.get("max_tokens") or 0):
                return self.json_reply(
                    _anthropic_error(
                        "invalid_request_error", "thinking.budget_tokens: must be >= 1024 and less than max_tokens"
                    ),
                    400,
                )
        return None

    # -- success ----------------------------------------------------------------------------------------

    def message(
        self,
        text: str,
        *,
        input_tokens: int = 10,
        output_tokens: int = 5,
        thinking: str | None = None,
        thinking_tokens: int | None = None,
        cache_read: int = 0,
        cache_write: int = 0,
        stop_reason: str = "end_turn",
        pieces: list[str] | None = None,
        thinking_pieces: list[str] | None = None,
        break_after: int | None = None,
        clean_end: bool = False,
        delay_s: float = 0.0,
    ) -> Reply:
        """A Messages answer: JSON, or the Messages SSE event sequence when ``stream: true``.

        ``thinking`` adds a thinking block before the text; ``thinking_tokens`` reports
        ``usage.output_tokens_details.thinking_tokens`` (left out when None, as older API versions do).
        Thinking is billed as output: ``output_tokens`` includes it, so it can never be smaller.
        ``cache_read`` / ``cache_write`` fill ``cache_read_input_tokens`` / ``cache_creation_input_tokens``
        (counted apart from ``input_tokens``, as Anthropic does). ``stop_reason="max_tokens"`` is an answer
        cut off by the output cap.
        """
        assert thinking_tokens is None or thinking_tokens <= output_tokens, "thinking is part of output_tokens"
        pieces = pieces if pieces is not None else _split_words(text)
        assert "".join(pieces) == text
        tpieces = thinking_pieces if thinking_pieces is not None else (_split_words(thinking) if thinking else [])

        def usage_block(final_output: int) -> dict:
            u: dict[str, Any] = {
                "input_tokens": input_tokens,
                "output_tokens": final_output,
                "cache_creation_input_tokens": cache_write,
                "cache_read_input_tokens": cache_read,
            }
            if thinking_tokens is not None:
                u["output_tokens_details"] = {"thinking_tokens": thinking_tokens}
            return u

        def reply(req: RecordedRequest) -> None:
            model = (req.body or {}).get("model", "claude-fake")
            msg = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "stop_sequence": None}
            content: list[dict] = []
            if thinking is not None:
                content.append({"type": "thinking", "thinking": thinking, "signature": "sig-fake"})
            content.append({"type": "text", "text": text})
            if not req.stream:
                req.handler.send_json(
                    200, {**msg, "content": content, "stop_reason": stop_reason, "usage": usage_block(output_tokens)}
                )
                return
            events: list[tuple[str | None, Any]] = [
                (
                    "message_start",
                    {
                        "type": "message_start",
                        "message": {
                            **msg,
                            "content": [],
                            "stop_reason": None,
                            "usage": {
                                "input_tokens": input_tokens,
                                "output_tokens": 1,
                                "cache_creation_input_tokens": 0,
                                "cache_read_input_tokens": 0,
                            },
                        },
                    },
                ),
                ("ping", {"type": "ping"}),
            ]
            idx = 0
            if thinking is not None:
                events.append(
                    (
                        "content_block_start",
                        {
                            "type": "content_block_start",
                            "index": idx,
                            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                        },
                    )
                )
                for p in tpieces:
                    events.append(
                        (
                            "content_block_delta",
                            {
                                "type": "content_block_delta",
                                "index": idx,
                                "delta": {"type": "thinking_delta", "thinking": p},
                            },
                        )
                    )
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": idx,
                            "delta": {"type": "signature_delta", "signature": "sig-fake"},
                        },
                    )
                )
                events.append(("content_block_stop", {"type": "content_block_stop", "index": idx}))
                idx += 1
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": idx, "content_block": {"type": "text", "text": ""}},
                )
            )
            for p in pieces:
                events.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": idx, "delta": {"type": "text_delta", "text": p}},
                    )
                )
            events.append(("content_block_stop", {"type": "content_block_stop", "index": idx}))
            delta_usage: dict[str, Any] = {"output_tokens": output_tokens}
            if thinking_tokens is not None:
                delta_usage["output_tokens_details"] = {"thinking_tokens": thinking_tokens}
            events.append(
                (
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                        "usage": delta_usage,
                    },
                )
            )
            events.append(("message_stop", {"type": "message_stop"}))
            self.sse(events, break_after=break_after, clean_end=clean_end, delay_s=delay_s)(req)

        return reply

    def stream_error(self, type_: str = "overloaded_error", message: str = "Overloaded", after: int = 3) -> Reply:
        """A stream that starts normally, then sends an ``event: error`` (as the API does mid-stream)."""

        def reply(req: RecordedRequest) -> None:
            events: list[tuple[str | None, Any]] = [
                (
                    "message_start",
                    {
                        "type": "message_start",
                        "message": {
                            "id": "msg_fake",
                            "type": "message",
                            "role": "assistant",
                            "model": "m",
                            "content": [],
                            "stop_reason": None,
                            "stop_sequence": None,
                            "usage": {"input_tokens": 3, "output_tokens": 1},
                        },
                    },
                ),
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                ),
            ]
            for i in range(max(0, after - 2)):
                events.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"w{i} "}},
                    )
                )
            events.append(("error", _anthropic_error(type_, message)))
            self.sse(events)(req)

        return reply

    # -- failures ---------------------------------------------------------------------------------------

    def rate_limited(self, retry_after: str | None = "0.01") -> Reply:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        return self.json_reply(
            _anthropic_error("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
            429,
            headers,
        )

    def server_error(self, status: int = 500, retry_after: str | None = "0.01") -> Reply:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        type_ = "overloaded_error" if status == 529 else "api_error"
        return self.json_reply(_anthropic_error(type_, "Internal server error"), status, headers)

    def unauthorized(self) -> Reply:
        return self.json_reply(_anthropic_error("authentication_error", "invalid x-api-key"), 401)

    def model_not_found(self, model: str = "claude-nope") -> Reply:
        return self.json_reply(_anthropic_error("not_found_error", f"model: {model}"), 404)

    def prompt_too_long(self) -> Reply:
        return self.json_reply(
            _anthropic_error("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"), 400
        )

    def bad_request(self, message: str = "max_tokens: Field required") -> Reply:
        return self.json_reply(_anthropic_error("invalid_request_error", message), 400)


# ----------------------------------------------------------------------------------------------------
# helpers


def _split_words(text: str) -> list[str]:
    """Split keeping every character, so the pieces join back to ``text``."""
    if not text:
        return []
    out: list[str] = []
    cur = ""
    for ch in text:
        cur += ch
        if ch == " ":
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


def closed_port_url(path: str = "") -> str:
    """A loopback URL where nothing listens (connection refused)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}{path}"


def wait_until(pred: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Poll ``pred`` until it holds or ``timeout_s`` passes (bounded)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


SDK_ENV_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "OPENAI_ADMIN_KEY",
    "OPENAI_CUSTOM_HEADERS",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_CUSTOM_HEADERS",
    "ANTHROPIC_PROFILE",
    "ANTHROPIC_CONFIG_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def isolate_sdk_env(monkeypatch: Any) -> None:
    """Make SDK tests independent of the shell: no keys, base URLs, custom headers or proxies from the
    environment, and loopback never proxied."""
    for var in SDK_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
