"""Process-wide resources for the app: the experiment store (when the db package is usable), the call
cache, sinks that record calls, and the bundled sample questions.

Everything here degrades gracefully: without a database the app still runs, with an in-memory cache
and nothing persisted, and says so.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from tale_core.errors import TaleError
from tale_core.protocols import MemoryCache

from .state import MultiSink, spend_meter


@st.cache_resource(show_spinner=False)
def _memory_cache() -> MemoryCache:
    return MemoryCache()


@st.cache_resource(show_spinner=False)
def _open_store() -> tuple[Any, str]:
    """(store, "") or (None, why not). Opened once per process."""
    try:
        from db.store import Store  # the persistence package; the app also runs without it
    except Exception as e:  # not installed / broken: run without persistence
        return None, f"Experiments are not saved: the database layer is unavailable ({e})."
    try:
        return Store(), ""
    except Exception as e:
        return None, f"Experiments are not saved: could not open the database ({e})."


def get_store() -> Any | None:
    """The experiment store, or None when the database is unavailable."""
    return _open_store()[0]


def store_problem() -> str:
    """Why there is no store ("" when there is one)."""
    return _open_store()[1]


@st.cache_resource(show_spinner=False)
def _db_cache() -> Any | None:
    store = get_store()
    if store is None:
        return None
    try:
        from db.cache import DbCallCache

        return DbCallCache(store)
    except Exception:
        return None


def call_cache() -> Any:
    """The call cache: the database's (persistent) when there is one, else one in memory for the process."""
    return _db_cache() or _memory_cache()


def protect_secret(value: str | None) -> None:
    """Tell the store to scrub this key from anything it saves (keys typed in the sidebar)."""
    if not value:
        return
    try:
        from db.scrub import register_secret
    except Exception:
        return
    register_secret(value)


def session_sink(*extra: Any) -> MultiSink:
    """A sink that counts spend for this session plus any ``extra`` sinks (e.g. an experiment recorder)."""
    return MultiSink([spend_meter(), *extra])


@st.cache_data(show_spinner=False)
def sample_questions() -> list[dict]:
    """The bundled sample questions (numeric, then multiple choice) as dicts: id, question, answer, choices.

    [] when they cannot be loaded (the pages then simply offer no examples).
    """
    try:
        from tale_core.data.datasets import load_samples

        items = load_samples("all").items
    except Exception:
        return []
    return [
        {"id": it.id, "question": it.question, "answer": it.answer, "choices": list(it.choices) if it.choices else None}
        for it in items
    ]


def sample(sample_id: str) -> dict | None:
    """One sample question by id (e.g. "peyton")."""
    return next((s for s in sample_questions() if str(s.get("id")) == sample_id), None)


def start_experiment(kind: str, title: str, config: dict, *, parent_id: str | None = None) -> Any | None:
    """Open an experiment record in the store; None when there is no store (the run still happens).

    The recorder has ``id``, ``sink`` (a CallSink that stores every call) and ``finish(status, summary)``.
    """
    store = get_store()
    if store is None:
        return None
    try:
        from db.recorder import Recorder

        return Recorder.start(kind, title, config, store=store, use_cache=False, parent_id=parent_id)
    except Exception as e:  # a broken database must not stop the run
        st.session_state["_store_error"] = f"Could not save the experiment: {e}"
        return None


def resume_experiment(experiment_id: str) -> Any:
    """Reattach to a stored experiment to run its missing cells (raises a TaleError without a store)."""
    store = get_store()
    if store is None:
        raise TaleError(store_problem() or "No database: experiments cannot be resumed.")
    from db.recorder import Recorder

    return Recorder.resume(experiment_id, store=store, use_cache=False)


def _summary(runs: dict[str, list]) -> dict:
    rows = [r.to_row() for results in runs.values() for r in results]
    for row in rows:
        row.pop("text", None)
    return {"rows": rows}


def finish_experiment(recorder: Any | None, runs: dict[str, list], status: str = "done") -> str | None:
    """Close the experiment with a summary of the results; returns its id (None without a store)."""
    if recorder is None:
        return None
    try:
        recorder.finish(status, _summary(runs))
    except Exception as e:
        st.session_state["_store_error"] = f"Could not save the experiment's summary: {e}"
    return str(getattr(recorder, "id", "")) or None


def experiment_link(experiment_id: str | None) -> None:
    """A line saying where the run was saved, with a link that opens it (or why it was not saved)."""
    problem = st.session_state.pop("_store_error", None) or store_problem()
    if experiment_id:
        cols = st.columns([2, 3], vertical_alignment="center")
        cols[0].caption(f"Saved as experiment {experiment_id}.")
        with cols[1]:
            st.page_link(
                "pages/experiments.py",
                label="Open it in Experiments: share, rename, rerun, export",
                query_params={"experiment": experiment_id},
            )
    elif problem:
        st.caption(problem)


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
