"""Background jobs (sweeps, benchmarks, searches) that outlive a script run.

A widget click reruns the page script and would kill a loop running on the script thread, so long runs
happen in a worker thread that never calls ``st.*``. The job's state and results live in a
process-wide :class:`JobRegistry` (``st.cache_resource``), keyed by the experiment id when the run is
recorded, so any tab can watch it with ``?experiment=<id>``; the page draws progress in an
``@st.fragment(run_every=...)``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from tale_core.engine.runner import FINAL_STATUSES
from ui import hosted, render

#: finished jobs kept in memory (their results are in the database anyway)
KEEP_FINISHED = 30
FINAL = FINAL_STATUSES


@dataclass
class Job:
    """One background run. Workers append results with :meth:`add`; pages read :meth:`snapshot`."""

    id: str
    kind: str
    title: str
    config: dict
    total: int = 0
    status: str = "running"
    items: list = field(default_factory=list)
    spent_usd: float = 0.0
    errors: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    outcome: Any = None
    experiment_id: str | None = None
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    extra: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def running(self) -> bool:
        return self.status not in FINAL

    @property
    def done(self) -> int:
        with self._lock:
            return len(self.items)

    def add(self, item: Any, *, spent_usd: float = 0.0, error: bool = False) -> None:
        with self._lock:
            self.items.append(item)
            self.spent_usd += spent_usd
            self.errors += int(error)

    def snapshot(self) -> list:
        """A copy of the results so far (safe to iterate while the worker appends)."""
        with self._lock:
            return list(self.items)

    def finish(
        self, status: str, *, outcome: Any = None, error: str | None = None, notes: list[str] | None = None
    ) -> None:
        with self._lock:
            self.status = status if status in FINAL else "done"
            self.outcome = outcome
            self.error = error
            self.notes.extend(notes or [])
            self.finished_at = time.time()

    def elapsed_s(self) -> float:
        return (self.finished_at or time.time()) - self.started_at


class JobRegistry:
    """All jobs of this server process (thread-safe)."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, job: Job, work: Callable[[Job], None]) -> Job:
        """Register ``job`` and run ``work(job)`` in a daemon thread; a crash marks the job failed."""

        def target() -> None:
            try:
                work(job)
            except Exception as e:  # never lose a job silently
                job.finish("failed", error=f"{type(e).__name__}: {e}")
            else:
                if job.running:
                    job.finish("done")

        with self._lock:
            self._jobs[job.id] = job
            self._prune()
        thread = threading.Thread(target=target, daemon=True, name=f"tale-job-{job.kind}-{job.id}")
        thread.start()
        job.extra["thread"] = thread
        return job

    def get(self, job_id: str | None) -> Job | None:
        if not job_id:
            return None
        with self._lock:
            return self._jobs.get(job_id)

    def list(self, kind: str | None = None) -> list[Job]:
        with self._lock:
            jobs = list(self._jobs.values())
        return [j for j in jobs if kind is None or j.kind == kind]

    def cancel(self, job_id: str) -> bool:
        job = self.get(job_id)
        if job is None or not job.running:
            return False
        job.cancel.set()
        return True

    def wait(self, job_id: str, timeout_s: float = 60.0) -> Job | None:
        """Block until the job ends or ``timeout_s`` passes (tests and the CLI; never on a page)."""
        job = self.get(job_id)
        if job is None:
            return None
        thread = job.extra.get("thread")
        if thread is not None:
            thread.join(timeout_s)
        return job

    def _prune(self) -> None:
        finished = sorted((j for j in self._jobs.values() if not j.running), key=lambda j: j.finished_at or 0)
        for j in finished[:-KEEP_FINISHED] if len(finished) > KEEP_FINISHED else []:
            self._jobs.pop(j.id, None)


@st.cache_resource(show_spinner=False)
def registry() -> JobRegistry:
    """The process-wide job registry, shared by every session and tab."""
    return JobRegistry()


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def _session_key(kind: str) -> str:
    return f"_session_job_{kind}"


def remember_session_job(kind: str, job_id: str) -> None:
    """Note that this browser session started job ``job_id`` of ``kind`` (see :func:`session_job`)."""
    st.session_state[_session_key(kind)] = job_id


def session_job(kind: str) -> Job | None:
    """The last job of ``kind`` this session started, while the registry still holds it.

    Leaving a page drops its ``?experiment=`` link and its form's widget state; coming back to the page
    reattaches the run (still running, or finished while away) instead of showing an empty form.
    """
    job = registry().get(st.session_state.get(_session_key(kind)))
    if job is None:
        st.session_state.pop(_session_key(kind), None)
    return job


def forget_session_job(kind: str) -> Job | None:
    """Stop reattaching the session's job of ``kind`` (the page's "New ..." button); returns it."""
    job = registry().get(st.session_state.pop(_session_key(kind), None))
    return job


def show_live(job: Job, view: Callable[[str], None], *, watch_key: str, every_s: float) -> None:
    """Draw ``view(job.id)`` in a fragment that redraws every ``every_s`` seconds while the job runs.

    The same fragment is used whether the job runs or not (same element keys), timed only while it runs;
    ``watch_key`` remembers that this session watched it live, for :func:`rerun_when_finished`.
    """
    if job.running:
        st.session_state[watch_key] = job.id
    st.fragment(view, run_every=every_s if job.running else None)(job.id)


def grid_job_head(
    job_id: str,
    what: str,
    progress: Callable[[int, int, str, float, int, float | None], None],
    *,
    cancel_key: str,
    cancel_toast: str | None = None,
) -> Job | None:
    """The top of the live view of a grid job (a sweep, a benchmark): its progress (``progress``), a Cancel
    button while it runs for who may edit it, else its notes and error. Returns the job, or None (with a
    warning) when this server no longer runs it."""
    job = registry().get(job_id)
    if job is None:
        st.warning(f"This {what} is no longer running in this server.")
        return None
    progress(job.done, job.total, job.status, job.spent_usd, job.errors, job.elapsed_s())
    if job.running and hosted.can_edit(job_id):
        if st.button(f"Cancel {what}", key=cancel_key):
            registry().cancel(job_id)
            if cancel_toast:
                st.toast(cancel_toast)
    else:
        for note in job.notes:
            st.caption(render.md_escape(note))
        if job.error:
            st.error(render.md_escape(f"The {what} stopped with an error: {job.error}"))
    return job


def open_started(job: Job, watch_key: str) -> None:
    """After a page starts ``job``: watch it live (``watch_key``, as for :func:`show_live`) and open its
    experiment (a full rerun of the page with ``?experiment=``)."""
    st.session_state[watch_key] = job.id
    st.query_params["experiment"] = job.id
    st.rerun()


def rerun_when_finished(job: Job, watch_key: str) -> None:
    """Inside the timed view: once a watched job ends, one full run stops the timer and updates the
    sidebar's spend."""
    if not job.running and st.session_state.get(watch_key) == job.id:
        st.session_state.pop(watch_key, None)
        st.rerun()
