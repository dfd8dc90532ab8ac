"""Batch execution: the providers' batch APIs (cheaper, slower) as an executor for the one runner.

How it plugs in: :meth:`BatchSession.wrap` turns a planner's models (``{spec: ChatModel}``) into
:class:`BatchModel` proxies with the same ``provider``, ``model`` and ``runtime()`` (so cache keys and
stored records are the ones a live run makes). The planner (benchmark, sweep) and the
:class:`~tale_core.engine.runner.Runner` run unchanged: the proxies allow every cell to be in flight at once,
and each ``complete()`` call queues its request and waits. When no new request has arrived for
``settle_s`` seconds, the session sends everything queued as one batch per model (a *round*), polls the
provider every ``poll_s`` seconds (a :class:`BatchEvent` per poll for progress), and hands each result back
to the waiting call, which then goes on through :func:`~tale_core.engine.calls.call_model` like any call:
cache, cost, grading, sink. Methods with dependent calls need one round per step: TALE-EP's estimate goes in
round 1 and its answer, built from the estimate, in round 2.

Requests are named ``<cell id>-<hash of the request body>`` (``custom_id``): the cell id comes from
:data:`~tale_core.engine.runner.CURRENT_CELL`, the hash tells two calls of one cell apart (the provider's
``complete`` does not see the call's role) and makes a resumed result match only the very same request.

Resume: every submitted batch is reported through ``on_batch(info)`` (store it with the experiment); a new
session given those dicts as ``resume`` first collects their results (waiting while they are still running)
and answers matching requests from them before it submits anything new.

Cost: a batch result's completion carries ``raw_usage["price_factor"]`` (the provider's published batch
discount, :mod:`tale_core.accounting.batch_pricing`), which :func:`~tale_core.engine.calls.call_model`
applies to the call's list price and notes in ``record.extra["price_basis"]``.

Per-request failures (an error line, an expired or cancelled request, a request missing from the results)
come back as :class:`~tale_core.errors.ProviderError`, so they are ordinary error records, never cached.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from tale_core.engine.runner import spawn
from tale_core.errors import ProviderError
from tale_core.providers.base import ChatModel, OnText
from tale_core.types import Completion, GenParams, Message

#: how many cells a batch run lets be in flight at once (they mostly wait; each is one thread)
BATCH_CONCURRENCY = 20_000
_CUSTOM_ID_OK = re.compile(r"[^A-Za-z0-9_-]+")


class BatchCancelled(ProviderError):
    kind = "cancelled"


class BatchFailed(ProviderError):
    kind = "batch_failed"


@dataclass
class BatchStatus:
    """A batch as the provider reports it: ``state`` (the provider's word), whether it ``ended`` and
    its request counts (provider words too: OpenAI total/completed/failed, Anthropic
    processing/succeeded/errored/canceled/expired)."""

    state: str
    ended: bool
    counts: dict[str, int] = field(default_factory=dict)
    message: str = ""


@dataclass
class BatchRequest:
    custom_id: str
    messages: list[Message]
    params: GenParams
    body: dict[str, Any]
    future: Future[Completion] = field(default_factory=Future)


class BatchBackend(Protocol):
    """The wire details of one provider's batch API for one model."""

    provider: str

    def body(self, messages: Sequence[Message], params: GenParams) -> dict[str, Any]: ...

    def submit(self, requests: Sequence[BatchRequest], metadata: Mapping[str, str]) -> str: ...

    def status(self, batch_id: str) -> BatchStatus: ...

    def results(self, batch_id: str) -> Iterator[tuple[str, Any]]: ...

    def parse(self, raw: Any, request: BatchRequest) -> Completion: ...

    def cancel(self, batch_id: str) -> None: ...


@dataclass
class BatchEvent:
    """What the session tells its ``on_event`` consumer: ``kind`` is ``submitted``, ``progress``,
    ``ended``, ``resumed``, ``cancel`` or ``error``; ``done``/``total`` count requests of that batch."""

    kind: str
    spec: str
    batch_id: str
    round: int
    state: str = ""
    done: int = 0
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    message: str = ""
    at: float = field(default_factory=time.time)

    def line(self) -> str:
        return (
            f"batch {self.kind}: {self.spec} {self.batch_id} (round {self.round}) {self.state} "
            f"{self.done}/{self.total}{' - ' + self.message if self.message else ''}"
        )


def custom_id(cell: str | None, body: Mapping[str, Any]) -> str:
    """``<cell>-<hash>``: at most 64 characters of ``[A-Za-z0-9_-]`` (both providers accept it)."""
    blob = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    h = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
    slug = _CUSTOM_ID_OK.sub("_", cell or "call").strip("_") or "call"
    if len(slug) > 47:  # keep it readable and unique: a prefix plus a hash of the whole cell id
        slug = slug[:38] + "_" + hashlib.sha256((cell or "").encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{h}"


def backend_for(model: ChatModel) -> BatchBackend:
    """The batch backend of a live model: OpenAI (also OpenAI-compatible servers that implement the Batch
    API) or Anthropic. Raises ProviderError for a provider without a batch API."""
    from tale_core.providers.anthropic_api import AnthropicModel
    from tale_core.providers.openai_compat import OpenAIModel

    if isinstance(model, OpenAIModel):
        from tale_core.providers.openai_batch import OpenAIBatch

        return OpenAIBatch(model)
    if isinstance(model, AnthropicModel):
        from tale_core.providers.anthropic_batch import AnthropicBatch

        return AnthropicBatch(model)
    raise ProviderError(
        f"{model.spec} has no batch API here: batch runs need an OpenAI or Anthropic model.",
        provider=model.provider,
    )


class BatchModel(ChatModel):
    """A live model's stand-in during a batch run: ``complete`` queues the request and waits for its
    result from the session's batch."""

    max_concurrency = BATCH_CONCURRENCY

    def __init__(self, inner: ChatModel, session: BatchSession, backend: BatchBackend):
        self.inner = inner
        self.provider = inner.provider
        self.model = inner.model
        self.session = session
        self.backend = backend

    def runtime(self) -> str:
        return self.inner.runtime()

    def count_tokens(self, text: str) -> tuple[int, bool]:
        return self.inner.count_tokens(text)

    def complete(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None = None) -> Completion:
        comp = self.session.request(self, list(messages), params)
        if on_text is not None and comp.text:
            on_text(comp.text)
        return comp


class BatchSession:
    """Collects the calls of a run into provider batches; see the module docstring.

    ``poll_s``: seconds between status polls; ``settle_s``: quiet time before a round is sent;
    ``max_wait_s``: how long one batch may take before it is cancelled (the providers' window is 24 h);
    ``cancel``: set it to cancel the batches in flight (their finished results are still used);
    ``on_event(BatchEvent)``: progress; ``on_batch(info)``: each submitted batch's dict
    (``spec``, ``provider``, ``batch_id``, ``round``, ``requests``, ``submitted_at``), to store for resume;
    ``resume``: such dicts from an earlier run.
    """

    def __init__(
        self,
        *,
        poll_s: float = 30.0,
        settle_s: float = 1.0,
        max_wait_s: float = 25 * 3600.0,
        max_requests: int = 50_000,
        cancel: threading.Event | None = None,
        on_event: Callable[[BatchEvent], None] | None = None,
        on_batch: Callable[[dict[str, Any]], None] | None = None,
        resume: Sequence[Mapping[str, Any]] | None = None,
        sleep: Callable[[float], None] | None = None,
    ):
        if poll_s <= 0 or settle_s < 0 or max_wait_s <= 0 or max_requests < 1:
            raise ValueError("poll_s and max_wait_s must be positive, settle_s 0 or more, max_requests 1 or more")
        self.poll_s, self.settle_s, self.max_wait_s = float(poll_s), float(settle_s), float(max_wait_s)
        self.max_requests = int(max_requests)
        self.cancel = cancel if cancel is not None else threading.Event()
        self.on_event, self.on_batch = on_event, on_batch
        self.resume = [dict(r) for r in (resume or ())]
        self.batches: list[dict[str, Any]] = []
        self.events: list[BatchEvent] = []
        self.notes: list[str] = []
        self.rounds = 0
        self._sleep = sleep
        self._lock = threading.Condition()
        self._pending: dict[str, list[tuple[BatchModel, BatchRequest]]] = {}
        self._last_request = 0.0
        self._known: dict[str, dict[str, Any]] = {}  # spec -> custom_id -> raw result (resumed batches)
        self._resumed: set[str] = set()
        self._closed = False
        self._abandoned = False
        self._worker: threading.Thread | None = None

    # ----------------------------------------------------------------- the models' side

    def wrap(self, models: Mapping[str, ChatModel]) -> dict[str, ChatModel]:
        """``{spec: BatchModel}`` for the planner. Raises ProviderError for a model without a batch API."""
        return {spec: BatchModel(m, self, backend_for(m)) for spec, m in models.items()}

    def wrap_with(self, model: ChatModel, backend: BatchBackend) -> BatchModel:
        return BatchModel(model, self, backend)

    def request(self, model: BatchModel, messages: list[Message], params: GenParams) -> Completion:
        from tale_core.engine.runner import CURRENT_CELL

        body = model.backend.body(messages, params)
        req = BatchRequest(custom_id(CURRENT_CELL.get(), body), messages, params, body)
        with self._lock:
            if self.cancel.is_set() or self._closed:
                raise BatchCancelled(
                    "The batch run was cancelled before this request was sent.", provider=model.provider
                )
            self._pending.setdefault(model.spec, []).append((model, req))
            self._last_request = time.monotonic()
            if self._worker is None:
                self._worker = spawn(self._loop, "batch-session")
            self._lock.notify_all()
        return req.future.result()

    def close(self) -> None:
        """No more requests: the worker ends once it has answered what is queued (unless abandoned)."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        if self._worker is not None and not self._abandoned:
            self._worker.join(timeout=self.max_wait_s)

    def abandon(self) -> None:
        """Stop waiting without cancelling anything (the process is going away, e.g. Ctrl-C): the batches
        already sent go on at the provider and a session resumed with their ids collects them."""
        with self._lock:
            self._abandoned = self._closed = True
            self._lock.notify_all()

    def __enter__(self) -> BatchSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- the worker

    def _wait(self, seconds: float, watch_cancel: bool) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif watch_cancel:  # wakes at once when the user cancels
            self.cancel.wait(seconds)
        else:
            time.sleep(seconds)

    def _emit(self, ev: BatchEvent) -> None:
        self.events.append(ev)
        if self.on_event is not None:
            try:
                self.on_event(ev)
            except Exception as e:  # a consumer's failure must not stop the batches
                self.notes.append(f"on_event failed: {type(e).__name__}: {e}")

    def _take_round(self) -> dict[str, list[tuple[BatchModel, BatchRequest]]] | None:
        """Wait until requests are queued and quiet for ``settle_s`` (or cancel); None when closed and idle."""
        with self._lock:
            while True:
                if self._pending:
                    quiet = time.monotonic() - self._last_request
                    if quiet >= self.settle_s or self.cancel.is_set() or self._closed:
                        taken, self._pending = self._pending, {}
                        return taken
                    self._lock.wait(timeout=max(0.01, self.settle_s - quiet))
                elif self._closed:
                    return None
                else:
                    self._lock.wait(timeout=0.25)

    def _loop(self) -> None:
        while True:
            taken = self._take_round()
            if taken is None:
                return
            self.rounds += 1
            for spec, items in taken.items():
                try:
                    self._run_group(spec, items)
                except Exception as e:  # never leave a call waiting forever
                    err = (
                        e if isinstance(e, ProviderError) else BatchFailed(f"Batch run failed: {type(e).__name__}: {e}")
                    )
                    self._emit(BatchEvent("error", spec, "", self.rounds, message=str(err)))
                    for _, req in items:
                        if not req.future.done():
                            req.future.set_exception(err)

    def _load_resumed(self, spec: str, backend: BatchBackend) -> None:
        if spec in self._resumed:
            return
        self._resumed.add(spec)
        known = self._known.setdefault(spec, {})
        for info in self.resume:
            if info.get("spec") != spec or not info.get("batch_id"):
                continue
            bid = str(info["batch_id"])
            self._emit(BatchEvent("resumed", spec, bid, int(info.get("round") or 0)))
            status = self._poll(spec, backend, bid, int(info.get("round") or 0), int(info.get("requests") or 0))
            if status is not None:
                for cid, raw in backend.results(bid):
                    known[cid] = raw

    def _run_group(self, spec: str, items: list[tuple[BatchModel, BatchRequest]]) -> None:
        backend = items[0][0].backend
        self._load_resumed(spec, backend)
        known = self._known.get(spec, {})
        todo: dict[str, list[BatchRequest]] = {}
        for _, req in items:
            if req.custom_id in known and self._resumable(backend, req, known[req.custom_id]):
                self._answer(backend, req, known[req.custom_id])
            else:
                todo.setdefault(req.custom_id, []).append(req)  # identical requests share one batch line
        ids = list(todo)
        for start in range(0, len(ids), self.max_requests):
            chunk = ids[start : start + self.max_requests]
            if self.cancel.is_set():
                for cid in chunk:
                    for req in todo[cid]:
                        req.future.set_exception(
                            BatchCancelled(
                                "The batch run was cancelled before this request was sent.", provider=backend.provider
                            )
                        )
                continue
            firsts = [todo[cid][0] for cid in chunk]
            bid = backend.submit(firsts, {"tale_round": str(self.rounds), "tale_spec": spec[:500]})
            info = {
                "spec": spec,
                "provider": backend.provider,
                "batch_id": bid,
                "round": self.rounds,
                "requests": len(chunk),
                "submitted_at": time.time(),
            }
            self.batches.append(info)
            if self.on_batch is not None:
                try:
                    self.on_batch(dict(info))
                except Exception as e:
                    self.notes.append(f"on_batch failed: {type(e).__name__}: {e}")
            self._emit(BatchEvent("submitted", spec, bid, self.rounds, total=len(chunk)))
            status = self._poll(spec, backend, bid, self.rounds, len(chunk))
            got: dict[str, Any] = {}
            if status is not None:
                got = dict(backend.results(bid))
            for cid in chunk:
                for req in todo[cid]:
                    if cid in got:
                        self._answer(backend, req, got[cid])
                    else:
                        why = status.message or status.state if status is not None else "no results"
                        req.future.set_exception(
                            BatchFailed(
                                f"Batch {bid} returned no result for this request ({why}).", provider=backend.provider
                            )
                        )

    def _poll(self, spec: str, backend: BatchBackend, bid: str, rnd: int, total: int) -> BatchStatus | None:
        """Poll until the batch ends (cancelling it on cancel or after ``max_wait_s``); its last status."""
        started = time.monotonic()
        cancelled = False
        polls = 0
        max_polls = int(self.max_wait_s / self.poll_s) + 1000  # bounded even with a fake clock
        while polls < max_polls:
            polls += 1
            st = backend.status(bid)
            done = sum(v for k, v in st.counts.items() if k not in ("total", "processing"))
            if st.ended:
                self._emit(BatchEvent("ended", spec, bid, rnd, st.state, done, total, dict(st.counts), st.message))
                return st
            self._emit(BatchEvent("progress", spec, bid, rnd, st.state, done, total, dict(st.counts)))
            over = time.monotonic() - started > self.max_wait_s
            if (self.cancel.is_set() or over) and not cancelled:
                cancelled = True
                why = "cancelled by the user" if self.cancel.is_set() else f"no result after {self.max_wait_s:g} s"
                self._emit(BatchEvent("cancel", spec, bid, rnd, st.state, done, total, message=why))
                backend.cancel(bid)
                continue
            self._wait(self.poll_s if not cancelled else min(self.poll_s, 1.0), watch_cancel=not cancelled)
        self.notes.append(f"Batch {bid} did not end after {polls} polls.")
        return None

    @staticmethod
    def _resumable(backend: BatchBackend, req: BatchRequest, raw: Any) -> bool:
        """Whether a resumed batch's result answers ``req``: yes unless the request never ran there
        (cancelled or expired), in which case it is sent again."""
        try:
            backend.parse(raw, req)
        except (BatchCancelled, BatchFailed):
            return False
        except Exception:  # a genuine per-request error is that request's answer
            return True
        return True

    def _answer(self, backend: BatchBackend, req: BatchRequest, raw: Any) -> None:
        try:
            req.future.set_result(backend.parse(raw, req))
        except ProviderError as e:
            req.future.set_exception(e)
        except Exception as e:  # an unreadable result line is that request's error
            req.future.set_exception(
                BatchFailed(f"Unreadable batch result: {type(e).__name__}: {e}", provider=backend.provider)
            )
