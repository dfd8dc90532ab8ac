"""Per-session objects the pages share: the spend meter and a composite call sink.

These are plain Python objects kept in ``st.session_state``; worker threads may use them (they never
call ``st.*``), so they are thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import streamlit as st

from tale_core.engine.calls import spent_usd
from tale_core.protocols import CallRecord, CallSink

SPEND_KEY = "_spend_meter"


class SpendMeter:
    """Money spent on model calls in this browser session (cache hits are free)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total_usd = 0.0
        self.calls = 0
        self.unpriced_calls = 0
        self.cache_hits = 0

    def on_call(self, record: CallRecord) -> None:
        with self._lock:
            if record.cache_hit:
                self.cache_hits += 1
                return
            self.calls += 1
            if record.cost_usd is None and record.completion is not None:
                self.unpriced_calls += 1
            self.total_usd += spent_usd(record)


class MultiSink:
    """Forwards every call record to several sinks; one failing sink never stops the others."""

    def __init__(self, sinks: Iterable[CallSink | None]) -> None:
        self.sinks = [s for s in sinks if s is not None]
        self.errors: list[str] = []

    def on_call(self, record: CallRecord) -> None:
        for sink in self.sinks:
            try:
                sink.on_call(record)
            except Exception as e:  # a broken store must not break a run
                if len(self.errors) < 20:
                    self.errors.append(f"{type(sink).__name__}: {e}")


def spend_meter() -> SpendMeter:
    """This session's spend meter (created on first use)."""
    meter = st.session_state.get(SPEND_KEY)
    if not isinstance(meter, SpendMeter):
        meter = st.session_state[SPEND_KEY] = SpendMeter()
    return meter
