"""The call cache in the database: ``tale_core.protocols.CallCache`` backed by the ``call_cache`` table.

Keys come from ``tale_core.types.cache_key`` (provider, model, messages, every generation parameter and the
runtime version). The engine (``tale_core.engine.calls.call_model``) decides when to consult the cache (by default
only deterministic requests); this class refuses, on its own, to store anything that is not a success.
"""

from __future__ import annotations

import dataclasses

from tale_core.protocols import CallRecord
from tale_core.types import Completion

from .store import Store


class DbCallCache:
    """get/put of Completions by cache key, shared by every experiment in the database."""

    def __init__(self, store: Store | None = None):
        self.store = store or Store()

    def get(self, key: str) -> Completion | None:
        """The cached Completion for ``key`` (marked ``cached=True``), or None."""
        d = self.store.cache_get(key)
        if not d:
            return None
        comp = Completion.from_dict(d)
        comp.cached = True
        return comp

    def put(self, key: str, record: CallRecord) -> None:
        """Cache ``record``'s completion. Failed calls, empty keys and cache hits are never stored."""
        c = record.completion
        if not key or c is None or record.error is not None or record.cache_hit:
            return
        d = dataclasses.asdict(c)
        d["cached"] = False
        self.store.cache_put(key, d, provider=c.provider, model=c.model, call_id=record.call_id)

    def __len__(self) -> int:
        return self.store.cache_size()
