"""Hosted mode: who owns an experiment. The owner is the SHA-256 of a browser's owner token
(``tale_core.hosting.hash_token``); the token itself is never stored. Local mode never sets it."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Table, select, update

from .models import Experiment
from .store import ExperimentNotFound, Store

_EXP: Table = Experiment.__table__  # type: ignore[assignment]


def set_owner(store: Store, experiment_id: str, owner_hash: str) -> None:
    """Mark ``experiment_id`` as made by ``owner_hash``. Raises ExperimentNotFound."""
    with store._write.begin() as s:
        stmt = update(_EXP).where(_EXP.c.id == experiment_id).values(owner_hash=owner_hash)
        res = cast(CursorResult[Any], s.execute(stmt))
        if res.rowcount == 0:
            raise ExperimentNotFound(experiment_id)


def owner_of(store: Store, experiment_id: str) -> str | None:
    """The owner hash of an experiment (None: no owner, or no such experiment)."""
    if not isinstance(experiment_id, str):
        return None
    with store._read() as s:
        return s.execute(select(_EXP.c.owner_hash).where(_EXP.c.id == experiment_id)).scalar()


def is_owner(store: Store, experiment_id: str, owner_hash: str | None) -> bool:
    """True when ``owner_hash`` made the experiment (an experiment without owner belongs to nobody)."""
    return bool(owner_hash) and owner_of(store, experiment_id) == owner_hash
