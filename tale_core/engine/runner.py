"""The one grid runner: every experiment kind (playground, sweep, search, benchmark) runs its model calls here.

A planner turns an experiment's configuration into :class:`Cell` objects (a stable id, the model spec and a
``work()`` callable that makes the cell's calls through :func:`~tale_core.engine.methods.run_method`);
:class:`Runner` runs them and hands back each result as it finishes. This is the only module of
``tale_core`` that starts threads for model calls (with the batch executor, :mod:`tale_core.engine.batch`, the
cells' calls still run here and wait while its one worker thread sends and polls the provider's batches).

What the runner does for every kind, in one place:

* **per-model concurrency**: at most ``model.max_concurrency`` cells of one model run at a time (read
  before every dispatch, so a provider that adapts its limit is followed); models run side by side;
* **cancel**: a :class:`threading.Event`; set it and no new cell starts (cells in flight finish);
* **spend cap**: the sum of the results' ``spent_usd`` (0 for cache hits) stops new cells once it reaches
  the cap; while the cells in flight are expected to reach it (at the mean spend per finished cell), new
  cells wait for them, so concurrency does not overshoot the cap by a whole wave of calls;
* **resume**: cells whose id is in ``skip`` are not run;
* **progress**: ``on_cell(finished)`` for each finished cell (one at a time, before the next dispatch), and
  a generator form (:meth:`Runner.iter`) for live consumers; the generator's return value is the outcome;
* **one status vocabulary**: the store's (``done``, ``cancelled``, ``failed``), plus ``spend_cap``, a
  cancel with a reason, mapped to the store by :func:`store_status` (the only place that knows it).
  A run whose every cell failed is ``failed``; a run ends ``done`` only when no planned cell is missing.

Cells ids are stored with every call as ``CallRecord.extra["cell"]`` (:data:`CELL_KEY`); older stored
calls and bundles have ``extra["cell_id"]``, which :func:`cell_of` still reads.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

#: the key of ``CallRecord.extra`` that holds a call's cell id
CELL_KEY = "cell"
#: the key older sweeps' and benchmarks' calls used; read, never written
LEGACY_CELL_KEY = "cell_id"

DONE = "done"
CANCELLED = "cancelled"
FAILED = "failed"
SPEND_CAP = "spend_cap"
#: its process was stopped (Ctrl-C, SIGTERM) or died before it finished; it can be resumed
INTERRUPTED = "interrupted"
#: what a finished run can be; ``spend_cap`` is a cancel with its reason
FINAL_STATUSES = (DONE, CANCELLED, SPEND_CAP, FAILED, INTERRUPTED)

#: the id of the cell whose work runs in this thread (None outside a cell); batch executors name requests by it
CURRENT_CELL: contextvars.ContextVar[str | None] = contextvars.ContextVar("tale_current_cell", default=None)

#: how often the dispatcher wakes up while waiting (so Ctrl-C and cancel are seen promptly)
_POLL_S = 0.25


def store_status(status: str) -> str:
    """The store's status for an engine status: a spend-cap stop is stored as ``cancelled``."""
    return CANCELLED if status == SPEND_CAP else status if status in FINAL_STATUSES else FAILED


def cell_of(extra: Mapping[str, Any] | None) -> str | None:
    """The cell id of a stored call's ``extra`` (``cell``, or ``cell_id`` in older data)."""
    if not extra:
        return None
    v = extra.get(CELL_KEY) or extra.get(LEGACY_CELL_KEY)
    return str(v) if v not in (None, "") else None


class Finishable(Protocol):
    def finish(self, status: str = ..., summary: dict[str, Any] | None = ...) -> None: ...


def finish_quietly(recorder: Finishable | None, status: str, summary: dict[str, Any] | None = None) -> bool:
    """Close a recorded experiment with the store's status for ``status``; a storage failure is swallowed
    (the results are already on screen or printed, and the store logs its own failures). Returns
    whether the experiment was closed."""
    if recorder is None:
        return False
    try:
        recorder.finish(store_status(status), summary or {})
    except Exception:  # never lose the run's results over closing its record
        return False
    return True


class CellResult(Protocol):
    """What a cell's work returns: at least what it spent and whether it succeeded."""

    @property
    def spent_usd(self) -> float: ...

    @property
    def ok(self) -> bool: ...


R = TypeVar("R")


@dataclass(frozen=True)
class Cell(Generic[R]):
    """One unit of a grid: a stable ``id`` (stored with its calls), the model ``spec`` (concurrency is
    per spec) and ``work()``, which makes the calls and returns the cell's result."""

    id: str
    spec: str
    work: Callable[[], R]
    key: Any = None  # the planner's own key (e.g. a sweep's CellKey), handed back with the result


@dataclass
class Finished(Generic[R]):
    cell: Cell[R]
    result: R


@dataclass
class RunOutcome(Generic[R]):
    """The end of a run: finished cells (completion order), its status and counts."""

    finished: list[Finished[R]]
    status: str
    planned: int
    skipped: int
    spent_usd: float
    errors: int
    elapsed_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return self.planned - self.skipped - len(self.finished)


def _spent_of(result: Any) -> float:
    v = getattr(result, "spent_usd", 0.0)
    try:
        return float(v or 0.0)
    except (TypeError, ValueError):
        return 0.0


def _ok_of(result: Any) -> bool:
    return bool(getattr(result, "ok", True))


class Runner(Generic[R]):
    """Run ``cells`` (in plan order per model) with per-model concurrency, cancel, spend cap and skip.

    ``concurrency(spec)`` gives a model's current limit (typically ``model.max_concurrency``).
    ``on_error(cell, exc)`` turns an exception escaping a cell's work (a bug, a failing sink) into an error
    result, so the run goes on. ``spent``/``ok`` read a result's spend and success (default: the result's
    ``spent_usd`` and ``ok`` attributes).
    """

    def __init__(
        self,
        cells: Sequence[Cell[R]],
        *,
        concurrency: Callable[[str], int],
        on_error: Callable[[Cell[R], BaseException], R],
        cancel: threading.Event | None = None,
        spend_cap_usd: float | None = None,
        skip: Iterable[str] | None = None,
        on_cell: Callable[[Finished[R]], None] | None = None,
        spent: Callable[[R], float] = _spent_of,
        ok: Callable[[R], bool] = _ok_of,
        name: str = "run",
    ):
        skip_ids = set(skip or ())
        self.planned = len(cells)
        self.skipped = sum(1 for c in cells if c.id in skip_ids)
        self.todo: dict[str, deque[Cell[R]]] = {}
        for c in cells:
            if c.id not in skip_ids:
                self.todo.setdefault(c.spec, deque()).append(c)
        self.concurrency = concurrency
        self.on_error = on_error
        self.cancel = cancel if cancel is not None else threading.Event()
        self.spend_cap_usd = spend_cap_usd
        self.on_cell = on_cell
        self.spent_fn, self.ok_fn = spent, ok
        self.name = name
        self.spent_usd = 0.0
        self.cap_hit = False
        self.notes: list[str] = []
        self.finished: list[Finished[R]] = []
        self._stop = threading.Event()
        self._in_flight: dict[str, int] = {s: 0 for s in self.todo}
        self._results: queue.Queue[Finished[R]] = queue.Queue()
        self._started = time.monotonic()
        self._outcome: RunOutcome[R] | None = None

    # ---------------------------------------------------------------- workers

    def _limit(self, spec: str) -> int:
        try:
            return max(1, int(self.concurrency(spec) or 1))
        except (TypeError, ValueError):
            return 1

    def _execute(self, cell: Cell[R]) -> None:
        CURRENT_CELL.set(cell.id)  # a fresh thread: its context is its own
        try:
            result = cell.work()
        except Exception as e:  # a bug or a failing sink: an error cell, and the run goes on
            result = self.on_error(cell, e)
        except BaseException as e:  # e.g. SystemExit inside a provider: still reported, never lost
            result = self.on_error(cell, e)
        self._results.put(Finished(cell, result))

    def _cap_room(self) -> bool:
        """With a spend cap: whether a new cell may start now. While what is spent plus what the cells in
        flight are expected to spend (the mean spend of finished cells) reaches the cap, wait for them."""
        cap = self.spend_cap_usd
        if cap is None or not self.finished:
            return True
        mean = self.spent_usd / len(self.finished)
        return self.spent_usd + mean * self._active() < cap

    def _dispatch(self) -> None:
        """Start as many cells as each model's limit (and the spend cap) allows, unless stopped."""
        if self.cancel.is_set() or self._stop.is_set():
            return
        for spec, dq in self.todo.items():
            limit = self._limit(spec)
            while dq and self._in_flight[spec] < limit and self._cap_room():
                cell = dq.popleft()
                self._in_flight[spec] += 1
                threading.Thread(target=self._execute, args=(cell,), daemon=True, name=f"{self.name}-{spec}").start()

    def _active(self) -> int:
        return sum(self._in_flight.values())

    def _record(self, fin: Finished[R]) -> None:
        self._in_flight[fin.cell.spec] -= 1
        self.finished.append(fin)
        self.spent_usd += self.spent_fn(fin.result)
        cap = self.spend_cap_usd
        if cap is not None and self.spent_usd >= cap and not self.cap_hit:
            self.cap_hit = True
            self._stop.set()
        if self.on_cell is not None:
            try:
                self.on_cell(fin)
            except Exception as e:  # the caller's callback must not stop the run
                self.notes.append(f"on_cell failed: {type(e).__name__}: {e}")

    # ---------------------------------------------------------------- driving

    def iter(self) -> Generator[Finished[R], None, RunOutcome[R]]:
        """Yield each finished cell as soon as it completes; return the :class:`RunOutcome`.

        Closing the generator early stops new cells (those in flight end on their own).
        """
        completed = False
        try:
            self._dispatch()
            while self._active():
                try:
                    fin = self._results.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                self._record(fin)
                self._dispatch()
                yield fin
            completed = True
        finally:
            if not completed:  # the consumer stopped early: no new cells; those in flight end on their own
                self._stop.set()
        return self.outcome()

    def run(self) -> RunOutcome[R]:
        gen = self.iter()
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                return stop.value

    def outcome(self) -> RunOutcome[R]:
        if self._outcome is not None:
            return self._outcome
        done = list(self.finished)
        missing = self.planned - self.skipped - len(done)
        errors = sum(1 for f in done if not self.ok_fn(f.result))
        if missing > 0:
            status = SPEND_CAP if self.cap_hit else CANCELLED
        elif done and errors == len(done):
            status = FAILED
        else:
            status = DONE
        notes = list(self.notes)
        if status == SPEND_CAP:
            notes.append(f"Stopped at the spend cap of ${self.spend_cap_usd:g}: {missing} cell(s) not run.")
        elif status == FAILED:
            notes.append(f"Every cell failed ({errors} of {errors}).")
        out = RunOutcome(
            finished=done,
            status=status,
            planned=self.planned,
            skipped=self.skipped,
            spent_usd=self.spent_usd,
            errors=errors,
            elapsed_s=round(time.monotonic() - self._started, 3),
            notes=notes,
        )
        if self._active() == 0:
            self._outcome = out
        return out


def model_concurrency(models: Mapping[str, Any]) -> Callable[[str], int]:
    """``concurrency(spec)`` reading ``models[spec].max_concurrency`` at each dispatch (default 1)."""

    def limit(spec: str) -> int:
        return int(getattr(models.get(spec), "max_concurrency", 1) or 1)

    return limit


_END = object()


def stream_text(work: Callable[[Callable[[str], None]], R]) -> Iterator[str | R]:
    """Run ``work(on_text)`` in a worker thread; yield each text piece as it arrives, then what ``work``
    returned (errors are raised from the generator). ``ChatModel.stream`` is built on it."""
    q: queue.Queue[Any] = queue.Queue()

    def target() -> None:
        try:
            q.put((_END, work(q.put), None))
        except BaseException as e:  # re-raised in the consumer
            q.put((_END, None, e))

    t = spawn(target, "stream")
    while True:
        item = q.get()
        if isinstance(item, tuple) and len(item) == 3 and item[0] is _END:
            t.join()
            if item[2] is not None:
                raise item[2]
            yield item[1]
            return
        yield item


def spawn(target: Callable[[], None], name: str) -> threading.Thread:
    """Start a daemon thread for engine work around model calls (the batch executor's sender and poller,
    a streamed call). With the runner's own cell threads, every thread of ``tale_core`` starts here."""
    t = threading.Thread(target=target, daemon=True, name=name)
    t.start()
    return t
