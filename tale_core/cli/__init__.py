"""``python -m tale_core``: headless access to the same engine the pages use.

Each group of subcommands lives in its own module with a ``register(subparsers)`` function. Optional
extensions (the ``db`` package adds ``experiments`` and ``db`` commands and records runs) register
themselves through :func:`add_extension`; ``__main__`` loads them when they are importable, so this
library itself stays free of any database import.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from tale_core.redact import redact_urls

# modules inside tale_core that contribute subcommands
BUILTIN_COMMAND_MODULES = ("tale_core.cli.models", "tale_core.cli.engine", "tale_core.cli.estimators")

_EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []

#: set by an extension (db) to record runs: factory(kind, title, config) -> object with
#: ``sink`` (CallSink), ``cache`` (CallCache | None), ``finish(status, summary)`` and ``id``
RECORDER_FACTORY: Callable[..., Any] | None = None


#: set by an extension (db) to read a stored experiment: loader(id) -> {"kind", "config", "summary", ...}
EXPERIMENT_LOADER: Callable[[str], dict] | None = None


def set_experiment_loader(loader: Callable[[str], dict] | None) -> None:
    global EXPERIMENT_LOADER
    EXPERIMENT_LOADER = loader


def add_extension(register: Callable[[argparse._SubParsersAction], None]) -> None:
    _EXTENSIONS.append(register)


def set_recorder_factory(factory: Callable[..., Any] | None) -> None:
    global RECORDER_FACTORY
    RECORDER_FACTORY = factory


#: set by an extension (db) to scrub keys from everything the CLI prints: ``filter(text) -> text``
OUTPUT_FILTER: Callable[[str], str] | None = None

#: control characters a title or a model answer could use to drive the terminal (escape sequences, C1,
#: bidi overrides); tab, newline and carriage return stay, and the progress bar's erase-line sequence
_CONTROL = re.compile(r"\x1b\[K|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def set_output_filter(fn: Callable[[str], str] | None) -> None:
    global OUTPUT_FILTER
    OUTPUT_FILTER = fn


def clean_output(text: str) -> str:
    """What the CLI may print of ``text``: control characters replaced by "?", URL credentials and every
    key the scrubber knows removed."""
    text = _CONTROL.sub(lambda m: m.group(0) if m.group(0) == "\x1b[K" else "?", text)
    text = redact_urls(text)
    return OUTPUT_FILTER(text) if OUTPUT_FILTER is not None else text


class _CleanStream:
    """A text stream that passes everything through :func:`clean_output` before the real stream.

    Text is written word by word: a partial word is held back until whitespace (or the end) arrives, so a
    key streamed in pieces is still seen whole by the scrubber.
    """

    def __init__(self, raw: TextIO):
        self.raw = raw
        self._pending = ""

    def write(self, s: str) -> int:
        self._pending += s
        cut = max(self._pending.rfind(ch) for ch in " \n\t\r")
        if self._pending.endswith("\x1b[K") or len(self._pending) > 65536:
            cut = len(self._pending) - 1
        if cut >= 0:
            out, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
            self.raw.write(clean_output(out))
        return len(s)

    def flush(self) -> None:
        self.raw.flush()

    def finish(self) -> None:
        if self._pending:
            self.raw.write(clean_output(self._pending))
            self._pending = ""
        self.raw.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.raw, "isatty", lambda: False)())

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, buffer, ...
        return getattr(self.raw, name)


def emit(obj: Any, as_json: bool) -> None:
    """Print a result: JSON for machines, a readable line or table for people."""
    if as_json:
        print(json.dumps(obj, ensure_ascii=False, indent=None, default=str))
    else:
        print(obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tale_core", description="TALE Explorer: token-budget-aware reasoning experiments"
    )
    sub = p.add_subparsers(dest="command", required=True)
    for name in BUILTIN_COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for reg in _EXTENSIONS:
        reg(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    raw_out, raw_err = sys.stdout, sys.stderr
    out, err = _CleanStream(raw_out), _CleanStream(raw_err)
    sys.stdout, sys.stderr = out, err
    try:
        return _run(args)
    finally:
        for stream in (out, err):
            try:
                stream.finish()
            except (BrokenPipeError, ValueError):
                pass
        sys.stdout, sys.stderr = raw_out, raw_err


def _run(args: argparse.Namespace) -> int:
    from tale_core.errors import TaleError

    restore = _sigterm_as_interrupt()
    try:
        return int(args.func(args) or 0)
    except TaleError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and friends: not an error worth a traceback
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        restore()


def _sigterm_as_interrupt() -> Callable[[], None]:
    """SIGTERM (a stop, a redeploy) ends a run like Ctrl-C does: the recorded experiment is marked
    interrupted and its id printed, so it can be resumed. Returns a function restoring the old handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, handler)

    def restore() -> None:
        signal.signal(signal.SIGTERM, old)

    return restore
