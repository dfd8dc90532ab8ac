"""Record a run as an experiment: what ``tale_core.cli.set_recorder_factory`` expects, and what pages use.

    rec = Recorder.start("sweep", "Peyton, 3 models", config.to_dict())
    run_sweep(config, models, sink=rec.sink, cache=rec.cache, skip=rec.done_cell_ids())
    rec.finish("done", summary)

Every call the engine reports is written and committed the moment it arrives, so a killed run loses
nothing it had finished; :meth:`Recorder.resume` reattaches to the experiment and :meth:`done_cell_ids`
says which cells to skip.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from tale_core.experiments.kinds import ALIASES
from tale_core.protocols import CallRecord

from .cache import DbCallCache
from .store import HEARTBEAT_EVERY_S, ExperimentNotFound, Store

log = logging.getLogger(__name__)


class RecordingSink:
    """A ``CallSink`` writing each call to the store at once.

    A write that fails (a write lock held longer than the busy timeout, a dropped connection) is retried
    with growing pauses; one that still fails is logged and counted, not raised: the engine's run goes on,
    and :meth:`Recorder.finish` then refuses to call the run "done".
    """

    #: attempts per call and the first pause between them (doubled each time)
    attempts = 4
    first_pause_s = 0.25

    def __init__(self, store: Store, experiment_id: str):
        self.store = store
        self.experiment_id = experiment_id
        self.recorded = 0
        self.duplicates = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def on_call(self, record: CallRecord) -> None:
        pause = self.first_pause_s
        for attempt in range(self.attempts):
            try:
                new = self.store.record_call(self.experiment_id, record)
                break
            except ExperimentNotFound as e:  # deleted meanwhile: retrying cannot help
                err: Exception = e
            except Exception as e:  # never break the engine's run over storage
                err = e
                if attempt + 1 < self.attempts:
                    time.sleep(pause)
                    pause *= 2
                    continue
            log.error("could not record call %s of experiment %s: %s", record.call_id, self.experiment_id, err)
            with self._lock:
                self.failures.append(str(err)[:300])
            return
        with self._lock:
            if new:
                self.recorded += 1
            else:
                self.duplicates += 1


class Recorder:
    """An experiment being recorded: ``.id``, ``.sink`` (CallSink), ``.cache`` (CallCache), ``.finish()``."""

    def __init__(self, store: Store, experiment_id: str, *, use_cache: bool = True, beat: bool = True):
        self.store = store
        self.id = experiment_id
        self.sink = RecordingSink(store, experiment_id)
        self.cache: DbCallCache | None = DbCallCache(store) if use_cache else None
        self.finished = False
        self._stop_beat = threading.Event()
        if beat:
            self._beat_once()
            threading.Thread(target=self._beat_loop, daemon=True, name=f"heartbeat-{experiment_id}").start()

    def _beat_once(self) -> None:
        try:
            self.store.heartbeat(self.id)
        except Exception as e:
            log.warning("heartbeat of experiment %s failed: %s", self.id, e)

    def _beat_loop(self) -> None:
        """While the run lasts: a beat every HEARTBEAT_EVERY_S, so other processes know it is alive."""
        while not self._stop_beat.wait(HEARTBEAT_EVERY_S):
            self._beat_once()

    @classmethod
    def start(
        cls,
        kind: str,
        title: str,
        config: dict[str, Any] | None = None,
        *,
        store: Store | None = None,
        parent_id: str | None = None,
        use_cache: bool = True,
    ) -> Recorder:
        """Create the experiment (status ``running``) and return its recorder."""
        from tale_core.experiments.provenance import with_provenance

        store = store or Store()
        # what is needed to rerun it exactly: model file hashes, runtime settings, params, dataset hash
        eid = store.create_experiment(kind, title, with_provenance(config), parent_id=parent_id)
        return cls(store, eid, use_cache=use_cache)

    @classmethod
    def resume(cls, experiment_id: str, *, store: Store | None = None, use_cache: bool = True) -> Recorder:
        """Reattach to an existing experiment (after a crash or a cancel) and mark it running again."""
        store = store or Store()
        store.set_status(experiment_id, "running")
        return cls(store, experiment_id, use_cache=use_cache)

    def done_cell_ids(self) -> set[str]:
        """Cells already stored: pass as ``skip=`` to ``run_sweep`` to run only the missing ones."""
        return self.store.done_cell_ids(self.id)

    def add_batch(self, info: dict[str, Any]) -> None:
        """Store a submitted provider batch with the experiment (see :mod:`tale_core.engine.batch`)."""
        self.store.add_batch(self.id, info)

    def spend(self) -> float:
        return self.store.spend(self.id)

    def finish(self, status: str = "done", summary: dict[str, Any] | None = None) -> str:
        """Close the experiment with its status and summary; returns the status stored.

        A run some of whose finished calls could not be stored is never "done": it ends "failed", with the
        count and an example of the storage error in its summary (a resume re-runs the missing cells).
        """
        self._stop_beat.set()
        summary = dict(summary or {})
        if self.sink.failures:
            summary["record_failures"] = len(self.sink.failures)
            summary["record_failure_example"] = self.sink.failures[0]
            if status == "done":
                status = "failed"
                summary["error"] = (
                    f"{len(self.sink.failures)} finished call(s) could not be stored: resume the experiment to "
                    "run the missing cells again."
                )
                log.error("experiment %s: %s", self.id, summary["error"])
                summary.setdefault("notes", [])
                if isinstance(summary["notes"], list):
                    summary["notes"].append(f"{len(self.sink.failures)} finished call(s) could not be stored.")
        self.store.finish_experiment(self.id, status, summary)
        self.finished = True
        return status

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.finished:
            status = "done" if exc_type is None else ("interrupted" if exc_type is KeyboardInterrupt else "failed")
            summary = None if exc is None else {"error": str(exc)[:500]}
            self.finish(status, summary)


def recorder_factory(kind: str, title: str, config: dict[str, Any] | None = None) -> Recorder:
    """``factory(kind, title, config) -> Recorder`` for ``tale_core.cli.set_recorder_factory``."""
    return Recorder.start(ALIASES.get(kind, kind), title, config)
