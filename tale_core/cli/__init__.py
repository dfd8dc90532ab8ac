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
import sys
from collections.abc import Callable, Sequence

# modules inside tale_core that contribute subcommands
BUILTIN_COMMAND_MODULES = ("tale_core.cli.models", "tale_core.cli.engine")

_EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []

#: set by an extension (db) to record runs: factory(kind, title, config) -> object with
#: ``sink`` (CallSink), ``cache`` (CallCache | None), ``finish(status, summary)`` and ``id``
RECORDER_FACTORY: Callable | None = None


def add_extension(register: Callable[[argparse._SubParsersAction], None]) -> None:
    _EXTENSIONS.append(register)


def set_recorder_factory(factory: Callable | None) -> None:
    global RECORDER_FACTORY
    RECORDER_FACTORY = factory


def emit(obj, as_json: bool) -> None:
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
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue
            raise
        mod.register(sub)
    for reg in _EXTENSIONS:
        reg(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from tale_core.errors import TaleError

    parser = build_parser()
    args = parser.parse_args(argv)
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
