"""One adaptive concurrency limiter per provider, endpoint and key, shared by the whole process.

Every API call goes through :meth:`AdaptiveLimiter.slot` inside the provider's ``complete()``, so eight
browser sessions sweeping the same provider at once share one limit instead of multiplying it. The
limit adapts like TCP's congestion window (additive increase, multiplicative decrease):

* every attempt the HTTP client sees answered 429 / 529 / 503 (rate limit, overload) halves the limit
  (at most once per cool-down, so one burst of 429s counts once) and, when the server sent a
  Retry-After, holds new calls back until it has passed;
* every success adds one while the limit is below half the maximum (it doubles each round of calls,
  like TCP's slow start), then ``1 / limit`` (about one per round), up to the configured maximum.

The limiter never retries anything itself; the provider decides what is retried (see
:func:`tale_core.providers.openai_compat.OpenAIModel.complete`). ``history`` keeps the last changes of
the limit (time, limit, why) for logs and benchmarks; :mod:`logging` gets the same lines at INFO.
Keys are never stored: limiters are found by a short hash of the key.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("tale.limiter")

#: concurrency an API provider gets when nothing is configured: saturates a normal account, and a sweep of
#: 16 budgets plus its reference (17 calls) runs in one round; the limiter backs off when the account can't
DEFAULT_API_CONCURRENCY = 32
#: the most calls at once anyone may configure
MAX_CONCURRENCY = 256
#: statuses that mean "too much at once": back off
OVERLOAD_STATUSES = (429, 503, 529)
#: longest Retry-After the limiter holds new calls back for
MAX_HOLD_S = 60.0


@dataclass(frozen=True)
class LimitChange:
    t: float
    limit: int
    reason: str

    def to_dict(self) -> dict[str, float | int | str]:
        return {"t": round(self.t, 3), "limit": self.limit, "reason": self.reason}


class AdaptiveLimiter:
    """At most ``limit`` calls at once; the limit moves between ``min_limit`` and ``max_limit``."""

    def __init__(self, name: str, max_limit: int, *, min_limit: int = 1, cooldown_s: float = 1.0):
        if max_limit < 1:
            raise ValueError("max_limit must be at least 1")
        self.name = name
        self.max_limit = int(max_limit)
        self.min_limit = max(1, int(min_limit))
        self.cooldown_s = float(cooldown_s)
        self._limit = float(self.max_limit)
        self._in_flight = 0
        self._hold_until = 0.0
        self._last_decrease = -1e9
        self._cond = threading.Condition()
        self.history: deque[LimitChange] = deque(maxlen=1000)
        self.peak_in_flight = 0
        self._record("start")

    # -- state -------------------------------------------------------------------------------------------

    @property
    def limit(self) -> int:
        return max(self.min_limit, int(self._limit))

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def set_max(self, max_limit: int) -> None:
        """A new configured maximum (the sidebar, the CLI); the current limit follows it down at once."""
        with self._cond:
            self.max_limit = max(1, min(MAX_CONCURRENCY, int(max_limit)))
            if self._limit > self.max_limit:
                self._limit = float(self.max_limit)
            self._record(f"maximum set to {self.max_limit}")
            self._cond.notify_all()

    def _record(self, reason: str) -> None:
        ch = LimitChange(time.monotonic(), self.limit, reason)
        self.history.append(ch)
        log.info("limiter %s: concurrency %d (%s)", self.name, ch.limit, reason)

    # -- slots -------------------------------------------------------------------------------------------

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for a free slot (and for any Retry-After hold to pass); False when ``timeout`` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                if now >= self._hold_until and self._in_flight < self.limit:
                    self._in_flight += 1
                    self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
                    return True
                wait = max(0.0, self._hold_until - now) if now < self._hold_until else 1.0
                if deadline is not None:
                    left = deadline - now
                    if left <= 0:
                        return False
                    wait = min(wait, left)
                self._cond.wait(timeout=max(0.01, min(wait, 1.0)))

    def release(self) -> None:
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._cond.notify_all()

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    # -- feedback ----------------------------------------------------------------------------------------

    def on_success(self) -> None:
        with self._cond:
            if self._limit < self.max_limit:
                before = self.limit
                step = 1.0 if self._limit < self.max_limit / 2 else 1.0 / max(1.0, self._limit)
                self._limit = min(float(self.max_limit), self._limit + step)
                if self.limit != before:
                    self._record("calls succeed: growing back")
                self._cond.notify_all()

    def on_overload(self, status: int | None = None, retry_after: float | None = None) -> None:
        with self._cond:
            now = time.monotonic()
            if retry_after is not None and retry_after > 0:
                self._hold_until = max(self._hold_until, now + min(MAX_HOLD_S, retry_after))
            if now - self._last_decrease >= self.cooldown_s:
                self._last_decrease = now
                self._limit = max(float(self.min_limit), self._limit / 2)
                ra = f", Retry-After {retry_after:g} s" if retry_after is not None else ""
                self._record(f"{status or 'overload'}{ra}: backing off")

    def observe_status(self, status: int, retry_after: float | None = None) -> None:
        """Feed one HTTP response's status (from the SDK's HTTP client hook)."""
        if status in OVERLOAD_STATUSES:
            self.on_overload(status, retry_after)
        elif 200 <= status < 300:
            self.on_success()


_LIMITERS: dict[tuple[str, str, str], AdaptiveLimiter] = {}
_LOCK = threading.Lock()


def key_fingerprint(api_key: str | None) -> str:
    """A short hash that tells keys apart without keeping them."""
    if not api_key:
        return "-"
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:12]


def get_limiter(provider: str, base_url: str, api_key: str | None, max_limit: int) -> AdaptiveLimiter:
    """The process-wide limiter of this provider, endpoint and key (created on first use).

    A different ``max_limit`` than the limiter has re-configures it (the newest setting wins).
    """
    k = (provider, base_url.rstrip("/"), key_fingerprint(api_key))
    with _LOCK:
        lim = _LIMITERS.get(k)
        if lim is None:
            lim = _LIMITERS[k] = AdaptiveLimiter(f"{provider}@{k[1]}", max_limit)
            return lim
    if lim.max_limit != max_limit:
        lim.set_max(max_limit)
    return lim


def all_limiters() -> list[AdaptiveLimiter]:
    with _LOCK:
        return list(_LIMITERS.values())


def reset_limiters() -> None:
    """Forget every limiter (tests)."""
    with _LOCK:
        _LIMITERS.clear()


def call_settings_of(models: Mapping[str, Any]) -> dict[str, Any]:
    """Concurrency, timeout and retries per model spec, as recorded with each experiment (models without
    ``call_settings()``, e.g. the embedded ones, give their ``max_concurrency``)."""
    out: dict[str, Any] = {}
    for spec, m in models.items():
        fn = getattr(m, "call_settings", None)
        out[spec] = fn() if callable(fn) else {"concurrency": getattr(m, "max_concurrency", None)}
    return out
