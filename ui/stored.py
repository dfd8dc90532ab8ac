"""Open a stored experiment for a page: load it, check its kind, rebuild its result from the stored calls
and size its plan, all through the experiment kinds (:mod:`tale_core.experiments.kinds`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from tale_core.errors import TaleError
from tale_core.experiments.kinds import kind

from . import render, services


@dataclass
class Stored:
    detail: Any  # the store's ExperimentDetail
    config: Any  # the kind's typed configuration
    result: Any  # the kind's result rebuilt from the calls (sweep cells, benchmark rows, probes, runs)
    planned: int  # cells the run planned (what "n of m" counts)


def load(experiment_id: str, kind_name: str) -> Stored:
    """Raises a TaleError (not found, no database, another kind) with a message for the page."""
    store = services.get_store()
    if store is None:
        raise TaleError(services.store_problem() or "No database: experiments cannot be opened.")
    detail = store.get_experiment(experiment_id)
    k = kind(kind_name)
    if detail.kind != k.name:
        raise TaleError(f"Experiment {experiment_id} is a {detail.kind}, not a {k.label.lower()}.")
    config = k.from_dict(detail.config or {})
    result = k.rebuild(config, detail.records)
    try:
        planned = int(k.plan_size(config))
    except (TaleError, TypeError, ValueError):
        planned = 0
    return Stored(detail, config, result, planned)


def open_or_stop(experiment_id: str, kind_name: str) -> Stored:
    """:func:`load` for a page: shows why it cannot be opened and stops the script run."""
    try:
        return load(experiment_id, kind_name)
    except TaleError as e:
        st.error(render.md_text(str(e)))
        st.stop()
        raise  # st.stop() raises; this line only tells the type checker


def show_live(found: Stored, view: Callable[[str], None], watch_key: str, *, every_s: float) -> None:
    """Draw ``view(experiment id)`` from the database; while the run is ``running`` (in any app process:
    the live view reads what that process stores) it redraws every ``every_s`` seconds."""
    running = found.detail.status == "running"
    if running:
        st.session_state[watch_key] = found.detail.id
    st.fragment(view, run_every=every_s if running else None)(found.detail.id)


def rerun_when_stored_run_ends(found: Stored, watch_key: str) -> None:
    """Inside the timed view: once the watched run is no longer running, one full run stops the timer."""
    if found.detail.status != "running" and st.session_state.get(watch_key) == found.detail.id:
        st.session_state.pop(watch_key, None)
        st.rerun()
