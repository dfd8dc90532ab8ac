"""Process-wide resources for the app: the experiment store, the call cache, sinks that record calls,
and the bundled sample questions. This module is the seam between the pages and :mod:`db`.

Everything here degrades gracefully: when the database cannot be opened the app still runs, with an
in-memory cache and nothing persisted, and says so.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from db.cache import DbCallCache
from db.recorder import Recorder
from db.scrub import register_secret
from db.store import Store
from tale_core.data.datasets import load_samples
from tale_core.engine.methods import MethodResult
from tale_core.errors import TaleError
from tale_core.protocols import CallCache, CallSink, MemoryCache

from .render import md_escape
from .state import MultiSink, spend_meter


@st.cache_resource(show_spinner=False)
def _memory_cache() -> MemoryCache:
    return MemoryCache()


@st.cache_resource(show_spinner=False)
def _open_store() -> tuple[Store | None, str]:
    """(store, "") or (None, why not). Opened once per process."""
    try:
        return Store(), ""
    except Exception as e:  # no database reachable (bad URL, missing driver, ...): run without persistence
        return None, f"Experiments are not saved: could not open the database ({e})."


def get_store() -> Store | None:
    """The experiment store, or None when the database is unavailable."""
    return _open_store()[0]


def store_problem() -> str:
    """Why there is no store ("" when there is one)."""
    return _open_store()[1]


@st.cache_resource(show_spinner=False)
def _db_cache() -> DbCallCache | None:
    store = get_store()
    return DbCallCache(store) if store is not None else None


def call_cache() -> CallCache:
    """The call cache: the database's (persistent) when there is one, else one in memory for the process."""
    return _db_cache() or _memory_cache()


def protect_secret(value: str | None) -> None:
    """Tell the store to scrub this key from anything it saves (keys typed in the sidebar)."""
    if value:
        register_secret(value)


def session_sink(*extra: CallSink | None) -> MultiSink:
    """A sink that counts spend for this session plus any ``extra`` sinks (e.g. an experiment recorder)."""
    return MultiSink([spend_meter(), *extra])


@st.cache_data(show_spinner=False)
def sample_questions() -> list[dict[str, Any]]:
    """The bundled sample questions (numeric, then multiple choice) as dicts: id, question, answer, choices."""
    items = load_samples("all").items
    return [
        {"id": it.id, "question": it.question, "answer": it.answer, "choices": list(it.choices) if it.choices else None}
        for it in items
    ]


def sample(sample_id: str) -> dict[str, Any] | None:
    """One sample question by id (e.g. "peyton")."""
    return next((s for s in sample_questions() if str(s.get("id")) == sample_id), None)


def start_experiment(kind: str, title: str, config: dict[str, Any], *, parent_id: str | None = None) -> Recorder | None:
    """Open an experiment record in the store; None when there is no store (the run still happens).

    The recorder has ``id``, ``sink`` (a CallSink that stores every call) and ``finish(status, summary)``.
    In hosted mode it raises TaleError unless the page's gate (``hosted.allow_run``) let the run start.
    """
    from . import hosted

    hosted.require_permit()
    store = get_store()
    if store is None:
        return None
    try:
        recorder = Recorder.start(kind, title, config, store=store, use_cache=False, parent_id=parent_id)
        hosted.claim(recorder.id)
        return recorder
    except Exception as e:  # a broken database must not stop the run
        if hosted.enabled():  # ... except in hosted mode, where spend is counted from the record
            raise TaleError(f"Could not record the run, so it was not started: {type(e).__name__}") from None
        st.session_state["_store_error"] = f"Could not save the experiment: {e}"
        return None


def resume_experiment(experiment_id: str) -> Recorder:
    """Reattach to a stored experiment to run its missing cells (raises a TaleError without a store, and in
    hosted mode unless the page's gate let the run start)."""
    from . import hosted

    hosted.require_permit()
    store = get_store()
    if store is None:
        raise TaleError(store_problem() or "No database: experiments cannot be resumed.")
    recorder = Recorder.resume(experiment_id, store=store, use_cache=False)
    hosted.count_run_on(experiment_id)
    return recorder


def _summary(runs: dict[str, list[MethodResult]]) -> dict[str, Any]:
    rows = [r.to_row() for results in runs.values() for r in results]
    for row in rows:
        row.pop("text", None)
    return {"rows": rows}


def finish_experiment(
    recorder: Recorder | None, runs: dict[str, list[MethodResult]], status: str = "done"
) -> str | None:
    """Close the experiment with a summary of the results; returns its id (None without a store)."""
    if recorder is None:
        return None
    try:
        recorder.finish(status, _summary(runs))
    except Exception as e:
        st.session_state["_store_error"] = f"Could not save the experiment's summary: {e}"
    return recorder.id or None


def experiment_link(experiment_id: str | None) -> None:
    """A line saying where the run was saved, with a link that opens it (or why it was not saved)."""
    problem = st.session_state.pop("_store_error", None) or store_problem()
    if experiment_id:
        cols = st.columns([2, 3], vertical_alignment="center")
        cols[0].caption(md_escape(f"Saved as experiment {experiment_id}."))
        with cols[1]:
            st.page_link(
                "pages/experiments.py",
                label="Open it in Experiments: share, rename, rerun, export",
                query_params={"experiment": experiment_id},
            )
    elif problem:
        st.caption(md_escape(problem))


def linked_experiment_id() -> str | None:
    """The ``?experiment=<id>`` this page was opened with, pinned in the address bar.

    A link to the same page (``st.page_link`` to the page already shown) leaves the id out of the
    address bar, so the next full rerun (for example when a background job finishes) would lose it and
    fall back to an empty form: write it back.
    """
    eid = st.query_params.get("experiment")
    if eid:
        st.query_params["experiment"] = eid
    return eid or None


def forget_linked_experiment() -> None:
    """Leave the experiment shown by link (the page's "New ..." button)."""
    st.query_params.pop("experiment", None)
