"""A tiny progress bar for terminal runs: drawn on stderr only when stderr is a terminal.

Piped or redirected runs (CI, ``--json | jq``, tests) stay quiet, so stdout carries only results.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    """Count finished steps of a run of known (or unknown) length and redraw one stderr line.

    ``Progress(total, label)`` then ``advance(note="...")`` per finished step and ``close()`` at the
    end (or use it as a context manager). Thread-safe; redraws at most every ``min_interval_s``.
    """

    def __init__(
        self,
        total: int | None,
        label: str = "",
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        width: int = 28,
        min_interval_s: float = 0.1,
    ):
        self.total = total if total and total > 0 else None
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_tty(self.stream) if enabled is None else enabled
        self.width = width
        self.min_interval_s = min_interval_s
        self.done = 0
        self.note = ""
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._lock = threading.Lock()
        self._drawn = False

    def advance(self, n: int = 1, note: str = "") -> None:
        """Mark ``n`` more steps finished; ``note`` (short) is shown after the bar."""
        with self._lock:
            self.done += n
            if note:
                self.note = note
            now = time.monotonic()
            finished = self.total is not None and self.done >= self.total
            if finished or now - self._last_draw >= self.min_interval_s:
                self._draw(now)

    def render(self, now: float | None = None) -> str:
        """The current line (without carriage return), e.g. ``sweep [#####-----] 5/10 12s budget 50``."""
        elapsed = (now if now is not None else time.monotonic()) - self._start
        if self.total:
            frac = min(1.0, self.done / self.total)
            filled = int(round(frac * self.width))
            bar = "[" + "#" * filled + "-" * (self.width - filled) + "]"
            count = f"{self.done}/{self.total}"
        else:
            bar, count = "", f"{self.done} done"
        parts = [p for p in (self.label, bar, count, f"{elapsed:.0f}s", self.note[:40]) if p]
        return " ".join(parts)

    def _draw(self, now: float) -> None:
        if not self.enabled:
            return
        self._last_draw = now
        self.stream.write("\r" + self.render(now) + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Finish the line so later output starts on a fresh one."""
        with self._lock:
            if self.enabled and self._drawn:
                self._draw(time.monotonic())
                self.stream.write("\n")
                self.stream.flush()
                self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
