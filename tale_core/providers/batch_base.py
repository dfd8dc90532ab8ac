"""What the provider batch adapters (:mod:`.openai_batch`, :mod:`.anthropic_batch`) share."""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from tale_core.accounting.batch_pricing import batch_price_factor
from tale_core.errors import ProviderError


class SdkModel(Protocol):
    """A model whose SDK errors can be translated into :mod:`tale_core.errors` types."""

    provider: str

    def map_error(self, e: BaseException, *, started: bool = False) -> ProviderError: ...


M = TypeVar("M", bound=SdkModel)


class SdkBatch(Generic[M]):
    """A batch adapter over one SDK model: its provider, the batch price factor, SDK calls with typed errors."""

    def __init__(self, model: M, factor: float | None = None):
        self.m = model
        self.provider = model.provider
        self.factor = batch_price_factor(model.provider, factor)

    def _call(self, what: str, fn: Any, *args: Any, **kw: Any) -> Any:
        """``fn(*args, **kw)``; an SDK error becomes the typed one, its message saying what we were doing."""
        try:
            return fn(*args, **kw)
        except ProviderError:
            raise
        except Exception as e:
            err = self.m.map_error(e)
            err.message = f"Batch {what}: {err.message}"
            raise err from e
