"""Hosted mode's ledger of visitors' runs (``hosted_runs``): what rate limits and spend caps are read from.

A run is recorded when the gate lets it start, then linked to the experiment it made. Spend is read from
the experiment's calls (cache hits are free) while the experiment exists, and frozen into the ledger when
it is deleted, so deleting runs never gives a visitor their money back. Everything lives in the database,
so limits hold across reruns, sessions and app processes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, and_, delete, func, insert, select, update
from sqlalchemy.orm import Session

from tale_core.hosting import WINDOW_S, Usage

from .models import Experiment, HostedRun, ModelCall
from .rows import now
from .store import Store

_RUN: Table = HostedRun.__table__  # type: ignore[assignment]
_CALL: Table = ModelCall.__table__  # type: ignore[assignment]
_EXP: Table = Experiment.__table__  # type: ignore[assignment]


def record_run(store: Store, owner_hash: str, kind: str, *, host_paid: bool) -> int:
    """Count one run against ``owner_hash``'s rate limit; returns the ledger id to :func:`attach` later."""
    with store._write.begin() as s:
        stmt = insert(_RUN).values(
            owner_hash=owner_hash, kind=str(kind)[:20], host_paid=bool(host_paid), created_at=now()
        )
        res = cast(CursorResult[Any], s.execute(stmt))
        key = res.inserted_primary_key
        assert key is not None
        return int(key[0])


def attach(store: Store, run_id: int, experiment_id: str) -> None:
    """Link a ledger row to the experiment the run made (its calls are then its spend)."""
    with store._write.begin() as s:
        s.execute(update(_RUN).where(_RUN.c.id == run_id).values(experiment_id=experiment_id))


def _spent(s: Session, owner_hash: str | None) -> float:
    conds: list[ColumnElement[bool]] = [_RUN.c.host_paid.is_(True)]
    if owner_hash is not None:
        conds.append(_RUN.c.owner_hash == owner_hash)
    settled = s.execute(select(func.sum(_RUN.c.settled_usd)).where(*conds, _RUN.c.settled_usd.is_not(None))).scalar()
    live = s.execute(
        select(func.sum(_CALL.c.cost_usd)).where(
            _CALL.c.cache_hit.is_(False),
            _CALL.c.experiment_id.in_(
                select(_RUN.c.experiment_id).where(
                    *conds, _RUN.c.settled_usd.is_(None), _RUN.c.experiment_id.is_not(None)
                )
            ),
        )
    ).scalar()
    return float(settled or 0.0) + float(live or 0.0)


def usage(store: Store, owner_hash: str, *, at: datetime | None = None) -> Usage:
    """The visitor's and everyone's host-paid spend, and runs started in the last hour."""
    since = (at or now()) - timedelta(seconds=WINDOW_S)
    with store._read() as s:
        mine = s.execute(
            select(func.count()).select_from(_RUN).where(_RUN.c.owner_hash == owner_hash, _RUN.c.created_at >= since)
        ).scalar_one()
        everyone = s.execute(select(func.count()).select_from(_RUN).where(_RUN.c.created_at >= since)).scalar_one()
        return Usage(
            visitor_spent_usd=_spent(s, owner_hash),
            total_spent_usd=_spent(s, None),
            visitor_runs_last_hour=int(mine),
            total_runs_last_hour=int(everyone),
        )


def settle(store: Store, experiment_id: str) -> None:
    """Freeze the experiment's spend into its ledger (call before deleting it). A resumed experiment has
    several rows: the first carries the spend, the others 0, so nothing is counted twice."""
    with store._write.begin() as s:
        spent = s.execute(
            select(func.sum(_CALL.c.cost_usd)).where(
                _CALL.c.experiment_id == experiment_id, _CALL.c.cache_hit.is_(False)
            )
        ).scalar()
        open_rows = and_(_RUN.c.experiment_id == experiment_id, _RUN.c.settled_usd.is_(None))
        first = s.execute(select(func.min(_RUN.c.id)).where(open_rows)).scalar()
        if first is None:
            return
        s.execute(update(_RUN).where(_RUN.c.id == first).values(settled_usd=float(spent or 0.0)))
        s.execute(update(_RUN).where(open_rows, _RUN.c.id != first).values(settled_usd=0.0))


def delete_experiment(store: Store, experiment_id: str) -> bool:
    """Delete an experiment after freezing its spend in the ledger (what the app's Delete button does)."""
    settle(store, experiment_id)
    return store.delete(experiment_id)


def forget_older_than(store: Store, days: float) -> int:
    """Drop unpaid ledger rows older than ``days`` (rate limits only look at the last hour); host-paid rows
    are kept, they carry the spend caps."""
    cutoff = now() - timedelta(days=days)
    with store._write.begin() as s:
        stmt = delete(_RUN).where(_RUN.c.created_at < cutoff, _RUN.c.host_paid.is_(False))
        res = cast(CursorResult[Any], s.execute(stmt))
        return int(res.rowcount or 0)
