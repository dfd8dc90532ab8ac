"""Run one blocking engine call in a worker thread while the script thread draws its text as it streams.

Providers may call ``on_text`` from any thread (the embedded runtime calls back from its own), and
``st.*`` only works on the script thread, so the worker hands text pieces over a queue and this side
redraws a placeholder. Bounded: it returns when the worker finishes, or raises after ``max_wait_s``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from tale_core.errors import TaleError

#: redraw at most this often (seconds): enough for a live feel, cheap for the browser
REDRAW_EVERY_S = 0.08


class StreamTimeout(TaleError):
    """The call did not finish in the time the page allows."""


def run_streaming(
    work: Callable[[Callable[[str], None]], Any], draw: Callable[[str], None], *, max_wait_s: float = 900.0
) -> Any:
    """Call ``work(on_text)`` in a thread; ``draw(text_so_far)`` on this thread as text arrives.

    Returns what ``work`` returned; re-raises what it raised.
    """
    pieces: queue.Queue[str] = queue.Queue()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = work(pieces.put)
        except BaseException as e:  # handed to the script thread
            box["error"] = e

    thread = threading.Thread(target=target, daemon=True, name="tale-stream")
    thread.start()
    text = ""
    drawn = ""
    last_draw = 0.0
    deadline = time.monotonic() + max_wait_s
    while True:
        alive = thread.is_alive()
        try:
            while True:
                text += pieces.get_nowait()
        except queue.Empty:
            pass
        now = time.monotonic()
        if text != drawn and (now - last_draw >= REDRAW_EVERY_S or not alive):
            draw(text)
            drawn, last_draw = text, now
        if not alive:
            break
        if now > deadline:
            raise StreamTimeout(f"The model did not finish within {max_wait_s:.0f} s.")
        thread.join(timeout=REDRAW_EVERY_S / 2)
    if "error" in box:
        raise box["error"]
    return box.get("result")
