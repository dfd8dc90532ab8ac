"""The one interface every provider family implements."""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterator, Sequence

from tale_core.types import Completion, GenParams, Message

OnText = Callable[[str], None]


class ChatModel(abc.ABC):
    """One model of one provider, ready to be called.

    ``complete`` sends ``messages`` with ``params`` and returns a :class:`Completion` whose token counts
    are the provider's own. With ``on_text`` it streams: each piece of text is passed to ``on_text`` as it
    arrives and the returned Completion still carries the final usage. Failures raise one of
    :mod:`tale_core.errors`. Implementations are safe to call from several threads.
    """

    provider: str = ""
    model: str = ""
    #: how many calls may run at once against this model (the engine's concurrency limit)
    max_concurrency: int = 4

    @property
    def spec(self) -> str:
        return f"{self.provider}/{self.model}"

    @abc.abstractmethod
    def complete(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None = None) -> Completion: ...

    def runtime(self) -> str:
        """Runtime and version string recorded with every call (part of the cache key)."""
        return ""

    def count_tokens(self, text: str) -> tuple[int, bool]:
        """Count tokens of ``text`` before a call: returns ``(count, exact)``.

        ``exact`` is True only when this is the model's own tokenizer. Used for cost previews; after a
        call the provider's usage is the truth.
        """
        from tale_core.accounting.tokens import estimate_tokens

        return estimate_tokens(text, self.model), False

    def stream(self, messages: Sequence[Message], params: GenParams) -> Iterator[str | Completion]:
        """Generator form of streaming: yields text pieces, then the final Completion.

        The call runs on the engine's runner (:func:`tale_core.engine.runner.stream_text`, the one module
        that starts threads for model calls), so the consumer sees text as it arrives. Errors are raised
        from the generator.
        """
        from tale_core.engine.runner import stream_text

        return stream_text(lambda on_text: self.complete(messages, params, on_text=on_text))


class Stopwatch:
    """Latency and time-to-first-token for one call."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: float | None = None

    def mark_first(self) -> None:
        if self.first is None:
            self.first = time.perf_counter() - self.start

    def elapsed(self) -> float:
        return time.perf_counter() - self.start
