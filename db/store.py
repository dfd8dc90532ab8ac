"""The small store API the pages, the CLI and the recorder use. No SQL outside ``db/``.

``Store(url=None)`` connects to :func:`db.engine.database_url` (SQLite by default, ``TALE_DATABASE_URL`` to
switch) and migrates the schema on first use. It is thread-safe: one engine and sessionmaker per store, one
short session per operation, and every write commits at once (a call recorded is a call kept, even if the
process is killed the next moment).
"""

from __future__ import annotations

import hashlib
import os
import secrets as _secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table, and_, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tale_core import __version__
from tale_core.accounting.pricing import price_table_version
from tale_core.errors import TaleError
from tale_core.protocols import CallRecord

from .engine import DatabaseError, database_url, get_engine, redact_url, write_engine
from .migrate import ensure_schema
from .models import KINDS, STATUSES, CacheEntry, Dataset, Experiment, ModelCall
from .rows import StoredCall, clip_to_columns, now, record_to_row, utc
from .scrub import known_secrets, scrub

MAX_PAGE = 500

_EXP: Table = Experiment.__table__  # type: ignore[assignment]
_CALL: Table = ModelCall.__table__  # type: ignore[assignment]
_CACHE: Table = CacheEntry.__table__  # type: ignore[assignment]
_DATA: Table = Dataset.__table__  # type: ignore[assignment]


def _cursor(result: Result[Any]) -> CursorResult[Any]:
    """An UPDATE or DELETE's result, which carries ``rowcount`` (SQLAlchemy types ``execute`` generically)."""
    return cast("CursorResult[Any]", result)


class StoreError(TaleError):
    """A store operation got input it cannot use."""


class ExperimentNotFound(StoreError):
    def __init__(self, experiment_id: str):
        shown = experiment_id if len(experiment_id) <= 40 else experiment_id[:40] + "..."
        super().__init__(f"No experiment with id {shown!r}: it may have been deleted, or the link is wrong.")
        self.experiment_id = experiment_id


def new_id() -> str:
    """An unguessable 12-character id for share links (72 random bits, URL-safe).

    Never starts with ``-``: the CLI's argument parser would read such an id as an option
    (``experiments show -x3...`` failed about once in 64 ids)."""
    while True:
        eid = _secrets.token_urlsafe(9)
        if not eid.startswith("-"):
            return eid


def _env_seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment (tests shorten the heartbeat), else ``default``."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


#: a running experiment's process writes ``summary[HEARTBEAT_KEY]`` every ``HEARTBEAT_EVERY_S`` seconds
#: (``TALE_HEARTBEAT_S`` overrides it)
HEARTBEAT_KEY = "heartbeat_at"
HEARTBEAT_EVERY_S = _env_seconds("TALE_HEARTBEAT_S", 5.0)
#: a running experiment without a beat for this long is shown as interrupted (its process died)
#: (``TALE_STALE_AFTER_S`` overrides it; keep it several beats long)
HEARTBEAT_STALE_S = _env_seconds("TALE_STALE_AFTER_S", 30.0)


def effective_status(
    status: str, summary: dict[str, Any] | None, created_at: datetime | None, *, at: datetime | None = None
) -> str:
    """The status to show: ``interrupted`` for a ``running`` experiment whose process stopped beating
    (killed with -9, a crash, a redeploy) or that never beat at all (older runs) for ``HEARTBEAT_STALE_S``."""
    if status != "running":
        return status
    t = at or now()
    last: datetime | None = None
    raw = (summary or {}).get(HEARTBEAT_KEY)
    if isinstance(raw, str):
        try:
            last = utc(datetime.fromisoformat(raw))
        except ValueError:
            last = None
    last = last or utc(created_at)
    if last is None:
        return status
    return "interrupted" if (t - last).total_seconds() > HEARTBEAT_STALE_S else status


@dataclass
class ExperimentSummary:
    """One line of the experiment list."""

    id: str
    title: str
    kind: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    parent_id: str | None
    n_calls: int = 0
    n_errors: int = 0
    cost_usd: float = 0.0
    models: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "status": self.status,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "parent_id": self.parent_id,
            "n_calls": self.n_calls,
            "n_errors": self.n_errors,
            "cost_usd": self.cost_usd,
            "models": list(self.models),
        }


@dataclass
class ExperimentDetail:
    """Everything about one experiment, its calls included (oldest first)."""

    id: str
    title: str
    notes: str
    kind: str
    status: str
    config: dict[str, Any]
    summary: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None
    parent_id: str | None
    price_table: str | None
    app_version: str
    calls: list[StoredCall] = field(default_factory=list)

    @property
    def records(self) -> list[CallRecord]:
        """The calls as the engine's CallRecords."""
        return [c.to_record() for c in self.calls]

    @property
    def cost_usd(self) -> float:
        return sum(c.cost_usd or 0.0 for c in self.calls if not c.cache_hit)

    def to_dict(self, with_calls: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "notes": self.notes,
            "kind": self.kind,
            "status": self.status,
            "config": self.config,
            "summary": self.summary,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "parent_id": self.parent_id,
            "price_table": self.price_table,
            "app_version": self.app_version,
        }
        if with_calls:
            d["calls"] = [c.to_dict() for c in self.calls]
        return d


@dataclass
class DatasetInfo:
    id: str
    name: str
    format: str
    item_count: int
    sha256: str
    created_at: datetime
    content: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "format": self.format,
            "item_count": self.item_count,
            "sha256": self.sha256,
            "created_at": self.created_at.isoformat(),
            "content": self.content,
        }


def _like(text: str) -> str:
    esc = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{esc}%"


class Store:
    """Experiments, model calls, datasets and the call cache in one database (see the module docstring)."""

    def __init__(self, url: str | None = None, *, auto_upgrade: bool = True):
        self.url = url or database_url()
        self.engine = get_engine(self.url)
        if auto_upgrade:
            try:
                ensure_schema(self.url)
            except OperationalError as e:
                raise DatabaseError(f"Cannot open the database {redact_url(self.url)}: {e.orig}") from None
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(write_engine(self.engine), expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Store({redact_url(self.url)!r})"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- helpers -------------------------------------------------------------------------------------------

    def _insert_ignore(self, session: Session, table: Table, rows: list[dict[str, Any]]) -> int:
        """Insert rows, silently skipping those that clash with a primary key or unique constraint."""
        if not rows:
            return 0
        stmt: sqlite.Insert | postgresql.Insert
        if self.dialect == "sqlite":
            stmt = sqlite.insert(table).on_conflict_do_nothing()
        elif self.dialect == "postgresql":
            stmt = postgresql.insert(table).on_conflict_do_nothing()
        else:  # other databases: one by one in savepoints
            n = 0
            for r in rows:
                try:
                    with session.begin_nested():
                        session.execute(insert(table), [r])
                    n += 1
                except IntegrityError:
                    pass
            return n
        # row counts after ON CONFLICT DO NOTHING are unreliable across drivers (psycopg reports -1):
        # count the rows RETURNING hands back instead
        pk = list(table.primary_key.columns)[0]
        return len(session.execute(stmt.returning(pk), rows[0] if len(rows) == 1 else rows).all())

    def _require(self, session: Session, experiment_id: str) -> None:
        if not isinstance(experiment_id, str) or session.get(Experiment, experiment_id) is None:
            raise ExperimentNotFound(str(experiment_id))

    # -- experiments ---------------------------------------------------------------------------------------

    def create_experiment(
        self,
        kind: str,
        title: str,
        config: dict[str, Any] | None = None,
        parent_id: str | None = None,
        *,
        notes: str = "",
        status: str = "running",
        price_table: str | None = None,
        experiment_id: str | None = None,
    ) -> str:
        """Create an experiment and return its new id. ``config`` is the full configuration (JSON)."""
        if kind not in KINDS:
            raise StoreError(f"Unknown experiment kind {kind!r}; use one of {', '.join(KINDS)}")
        if status not in STATUSES:
            raise StoreError(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}")
        secrets = known_secrets()
        row = {
            "title": scrub(str(title or ""), secrets).strip() or f"Untitled {kind}",
            "notes": scrub(str(notes or ""), secrets),
            "kind": kind,
            "config": scrub(dict(config or {}), secrets),
            "status": status,
            "created_at": now(),
            "finished_at": None if status == "running" else now(),
            "parent_id": parent_id,
            "summary": None,
            "price_table": price_table or price_table_version(),
            "app_version": __version__,
        }
        clip_to_columns(_EXP, row)
        with self._write.begin() as s:
            if parent_id is not None and s.get(Experiment, parent_id) is None:
                raise ExperimentNotFound(parent_id)
            for _ in range(5):
                eid = experiment_id if experiment_id and s.get(Experiment, experiment_id) is None else new_id()
                experiment_id = None
                if s.get(Experiment, eid) is None:
                    s.execute(insert(_EXP), [{**row, "id": eid}])
                    return eid
        raise StoreError("Could not allocate an experiment id")  # pragma: no cover - 72 random bits

    def finish_experiment(
        self, experiment_id: str, status: str = "done", summary: dict[str, Any] | None = None
    ) -> None:
        """Mark an experiment done / cancelled / failed, with its summary (JSON)."""
        if status not in STATUSES:
            raise StoreError(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}")
        values: dict[str, Any] = {"status": status, "finished_at": None if status == "running" else now()}
        if summary is not None:
            values["summary"] = scrub(summary)
        with self._write.begin() as s:
            res = _cursor(s.execute(update(_EXP).where(_EXP.c.id == experiment_id).values(**values)))
            if res.rowcount == 0:
                raise ExperimentNotFound(experiment_id)

    def add_batch(self, experiment_id: str, info: dict[str, Any]) -> None:
        """Remember a provider batch submitted for this experiment (``config["batch"]["batches"]``), so a
        restarted run can collect its results instead of paying for it again."""
        with self._write.begin() as s:
            row = s.execute(select(_EXP.c.config).where(_EXP.c.id == experiment_id)).first()
            if row is None:
                raise ExperimentNotFound(experiment_id)
            config = dict(row[0] or {})
            batch = dict(config.get("batch") or {})
            batch["batches"] = [*list(batch.get("batches") or []), scrub(dict(info))]
            config["batch"] = batch
            s.execute(update(_EXP).where(_EXP.c.id == experiment_id).values(config=config))

    def set_status(self, experiment_id: str, status: str) -> None:
        self.finish_experiment(experiment_id, status)

    def heartbeat(self, experiment_id: str) -> bool:
        """Say that the process running this experiment is alive (kept in its summary while it runs).

        Only a running experiment beats; returns whether it did. See :func:`effective_status`.
        """
        beat = {HEARTBEAT_KEY: now().isoformat(), "pid": os.getpid()}
        with self._write.begin() as s:
            res = _cursor(
                s.execute(
                    update(_EXP).where(_EXP.c.id == experiment_id, _EXP.c.status == "running").values(summary=beat)
                )
            )
            return bool(res.rowcount)

    def rename(self, experiment_id: str, title: str) -> None:
        title = scrub(str(title or "")).strip()
        if not title:
            raise StoreError("A title cannot be empty")
        self._update(experiment_id, title=title[:500])

    def annotate(self, experiment_id: str, notes: str) -> None:
        """Replace the experiment's notes."""
        self._update(experiment_id, notes=scrub(str(notes or "")))

    def _update(self, experiment_id: str, **values: Any) -> None:
        with self._write.begin() as s:
            res = _cursor(s.execute(update(_EXP).where(_EXP.c.id == experiment_id).values(**values)))
            if res.rowcount == 0:
                raise ExperimentNotFound(experiment_id)

    def delete(self, experiment_id: str) -> bool:
        """Delete an experiment and its calls; returns False when there was none."""
        with self._write.begin() as s:
            res = _cursor(s.execute(delete(_EXP).where(_EXP.c.id == experiment_id)))
            return bool(res.rowcount)

    def rerun(self, experiment_id: str, title: str | None = None) -> str:
        """A new experiment with the same kind and configuration and ``parent_id`` set; running it is the
        caller's job (the call cache makes deterministic calls free)."""
        d = self.get_experiment(experiment_id, with_calls=False)
        return self.create_experiment(d.kind, title or f"{d.title} (rerun)", d.config, parent_id=d.id)

    def exists(self, experiment_id: str) -> bool:
        with self._read() as s:
            return isinstance(experiment_id, str) and s.get(Experiment, experiment_id) is not None

    def get_experiment(self, experiment_id: str, with_calls: bool = True) -> ExperimentDetail:
        """Full detail of one experiment; raises :class:`ExperimentNotFound`."""
        with self._read() as s:
            e = s.get(Experiment, experiment_id) if isinstance(experiment_id, str) else None
            if e is None:
                raise ExperimentNotFound(str(experiment_id))
            detail = ExperimentDetail(
                id=e.id,
                title=e.title,
                notes=e.notes,
                kind=e.kind,
                status=effective_status(e.status, e.summary, e.created_at),
                config=e.config or {},
                summary=e.summary,
                created_at=utc(e.created_at),
                finished_at=utc(e.finished_at),
                parent_id=e.parent_id,
                price_table=e.price_table,
                app_version=e.app_version,
            )
            if with_calls:
                detail.calls = self._calls(s, experiment_id)
            return detail

    def _calls(self, s: Session, experiment_id: str) -> list[StoredCall]:
        rows = s.execute(
            select(_CALL).where(_CALL.c.experiment_id == experiment_id).order_by(_CALL.c.created_at, _CALL.c.id)
        )
        return [StoredCall.from_row(r) for r in rows]

    def calls_for(self, experiment_id: str) -> list[StoredCall]:
        """The experiment's calls, oldest first (``.to_record()`` rebuilds a CallRecord)."""
        with self._read() as s:
            self._require(s, experiment_id)
            return self._calls(s, experiment_id)

    def list_experiments(
        self,
        search: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
        *,
        owner_hash: str | None = None,
    ) -> list[ExperimentSummary]:
        """Experiments newest first, with call counts, cost and model specs; ``search`` matches title,
        notes and the questions asked (case-insensitive substring). ``owner_hash`` (hosted mode) keeps only
        that owner's experiments; None lists everyone's."""
        if kind is not None and kind not in KINDS:
            raise StoreError(f"Unknown experiment kind {kind!r}; use one of {', '.join(KINDS)}")
        if status is not None and status not in STATUSES:
            raise StoreError(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}")
        limit = max(1, min(int(limit), MAX_PAGE))
        offset = max(0, int(offset))
        q = select(
            _EXP.c.id,
            _EXP.c.title,
            _EXP.c.kind,
            _EXP.c.status,
            _EXP.c.created_at,
            _EXP.c.finished_at,
            _EXP.c.parent_id,
            _EXP.c.summary,
        )
        q = q.where(*self._filters(search, kind, status, owner_hash))
        q = q.order_by(_EXP.c.created_at.desc(), _EXP.c.id.desc()).limit(limit).offset(offset)
        with self._read() as s:
            out = [
                ExperimentSummary(
                    id=r.id,
                    title=r.title,
                    kind=r.kind,
                    status=effective_status(r.status, r.summary, r.created_at),
                    created_at=utc(r.created_at),
                    finished_at=utc(r.finished_at),
                    parent_id=r.parent_id,
                )
                for r in s.execute(q)
            ]
            if not out:
                return out
            by_id = {e.id: e for e in out}
            agg = (
                select(
                    _CALL.c.experiment_id,
                    _CALL.c.spec,
                    func.count(),
                    func.sum(case((_CALL.c.status == "error", 1), else_=0)),
                    func.sum(case((_CALL.c.cache_hit.is_(False), _CALL.c.cost_usd), else_=None)),
                )
                .where(_CALL.c.experiment_id.in_(list(by_id)))
                .group_by(_CALL.c.experiment_id, _CALL.c.spec)
            )
            for eid, spec, n, n_err, cost in s.execute(agg):
                e = by_id[eid]
                e.n_calls += int(n or 0)
                e.n_errors += int(n_err or 0)
                e.cost_usd += float(cost or 0.0)
                if spec:
                    e.models.append(spec)
            for e in out:
                e.models.sort()
            return out

    def count_experiments(
        self,
        search: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        *,
        owner_hash: str | None = None,
    ) -> int:
        with self._read() as s:
            return int(
                s.execute(
                    select(func.count()).select_from(_EXP).where(*self._filters(search, kind, status, owner_hash))
                ).scalar_one()
            )

    def search(self, text: str, limit: int = 50) -> list[ExperimentSummary]:
        """Experiments whose title, notes or questions contain ``text``."""
        return self.list_experiments(search=text, limit=limit)

    @staticmethod
    def _filters(search: str | None, kind: str | None, status: str | None, owner_hash: str | None = None) -> list:
        conds = []
        if owner_hash is not None:
            conds.append(_EXP.c.owner_hash == owner_hash)
        if kind:
            conds.append(_EXP.c.kind == kind)
        if status:
            conds.append(_EXP.c.status == status)
        if search and search.strip():
            pat = _like(search.strip()[:200])
            in_calls = exists(
                select(1).where(
                    and_(_CALL.c.experiment_id == _EXP.c.id, func.lower(_CALL.c.question).like(pat, escape="\\"))
                )
            )
            conds.append(
                or_(
                    func.lower(_EXP.c.title).like(pat, escape="\\"),
                    func.lower(_EXP.c.notes).like(pat, escape="\\"),
                    in_calls,
                )
            )
        return conds

    # -- calls ---------------------------------------------------------------------------------------------

    def record_call(self, experiment_id: str, record: CallRecord) -> bool:
        """Store one call and commit at once. Idempotent: a call id or a cell (``extra["cell_id"]`` + role)
        already stored is ignored and False returned. Raises :class:`ExperimentNotFound`."""
        return self._insert_calls(experiment_id, [record]) > 0

    def record_calls(self, experiment_id: str, records: Iterable[CallRecord]) -> int:
        """Store many calls in one transaction (imports, bulk tools); returns how many were new."""
        return self._insert_calls(experiment_id, list(records))

    def _insert_calls(self, experiment_id: str, records: list[CallRecord]) -> int:
        rows = [clip_to_columns(_CALL, record_to_row(experiment_id, r)) for r in records]
        try:
            with self._write.begin() as s:
                return self._insert_ignore(s, _CALL, rows)
        except IntegrityError as e:
            # "do nothing" absorbs key clashes; what is left is the experiment foreign key (or a bad row)
            if not self.exists(experiment_id):
                raise ExperimentNotFound(str(experiment_id)) from None
            raise StoreError(f"Could not store the call: {e.orig}") from None

    def done_cell_ids(self, experiment_id: str, include_errors: bool = False) -> set[str]:
        """Cell ids (``CallRecord.extra["cell_id"]``) whose final call succeeded: what a resumed run skips.

        A cell whose calls all failed is not done (a resume retries it) unless ``include_errors``. A TALE-EP
        cell with only its estimate stored is not done either.
        """
        conds = [_CALL.c.experiment_id == experiment_id, _CALL.c.cell_id.is_not(None), _CALL.c.role != "estimate"]
        if not include_errors:
            conds.append(_CALL.c.status == "ok")
        with self._read() as s:
            return {r[0] for r in s.execute(select(_CALL.c.cell_id).where(*conds).distinct())}

    def spend(self, experiment_id: str) -> float:
        """Dollars spent on this experiment's calls (cache hits cost nothing)."""
        with self._read() as s:
            v = s.execute(
                select(func.sum(_CALL.c.cost_usd)).where(
                    _CALL.c.experiment_id == experiment_id, _CALL.c.cache_hit.is_(False)
                )
            ).scalar()
            return float(v or 0.0)

    def import_experiment(self, experiment: dict[str, Any], calls: list[dict[str, Any]]) -> str:
        """Insert an experiment and its call rows in one transaction (used by bundle import).

        ``experiment`` holds the experiment columns; its ``id`` is kept only when free, else a new id is made.
        Call rows get fresh call ids. Returns the experiment id used.
        """
        secrets = known_secrets()
        exp = {
            k: experiment.get(k)
            for k in ("title", "notes", "kind", "config", "status", "summary", "price_table", "app_version")
        }
        exp = scrub(exp, secrets)
        exp["created_at"] = utc(experiment.get("created_at")) or now()
        exp["finished_at"] = utc(experiment.get("finished_at"))
        exp["parent_id"] = None
        exp["config"] = exp.get("config") or {}
        exp["notes"] = exp.get("notes") or ""
        exp["app_version"] = exp.get("app_version") or ""
        wanted = experiment.get("id")
        with self._write.begin() as s:
            eid = wanted if isinstance(wanted, str) and wanted and s.get(Experiment, wanted) is None else new_id()
            while s.get(Experiment, eid) is not None:  # pragma: no cover - 72 random bits
                eid = new_id()
            s.execute(insert(_EXP), [clip_to_columns(_EXP, {**exp, "id": eid})])
            rows = []
            for c in calls:
                r = scrub({k: v for k, v in c.items() if k != "created_at"}, secrets)
                r["created_at"] = utc(c.get("created_at")) or exp["created_at"]
                r["experiment_id"] = eid
                r["id"] = new_id() + new_id()
                rows.append(clip_to_columns(_CALL, r))
            self._insert_ignore(s, _CALL, rows)
        return eid

    # -- call cache ----------------------------------------------------------------------------------------

    def cache_get(self, key: str) -> dict[str, Any] | None:
        """The stored Completion dict for a cache key, or None."""
        if not key:
            return None
        with self._read() as s:
            return s.execute(select(_CACHE.c.completion).where(_CACHE.c.key == key)).scalar()

    def cache_put(
        self, key: str, completion: dict[str, Any], *, provider: str = "", model: str = "", call_id: str | None = None
    ) -> bool:
        """Remember a successful completion under ``key`` (the first one stored wins)."""
        if not key:
            return False
        row = clip_to_columns(
            _CACHE,
            {
                "key": key,
                "provider": provider,
                "model": model,
                "completion": scrub(completion),
                "call_id": call_id,
                "created_at": now(),
            },
        )
        with self._write.begin() as s:
            return self._insert_ignore(s, _CACHE, [row]) > 0

    def cache_size(self) -> int:
        with self._read() as s:
            return int(s.execute(select(func.count()).select_from(_CACHE)).scalar_one())

    def clear_cache(self) -> int:
        with self._write.begin() as s:
            return int(_cursor(s.execute(delete(_CACHE))).rowcount or 0)

    # -- datasets ------------------------------------------------------------------------------------------

    def save_dataset(self, name: str, format: str, content: str, item_count: int) -> str:
        """Store a dataset's normalised content; the same name and content is stored once."""
        content = scrub(str(content))
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        name = (str(name or "").strip() or "dataset")[:200]
        with self._write.begin() as s:
            found = s.execute(select(_DATA.c.id).where(_DATA.c.sha256 == digest, _DATA.c.name == name)).scalar()
            if found:
                return found
            did = new_id()
            s.execute(
                insert(_DATA),
                [
                    clip_to_columns(
                        _DATA,
                        {
                            "id": did,
                            "name": name,
                            "format": str(format)[:20],
                            "item_count": int(item_count),
                            "content": content,
                            "sha256": digest,
                            "created_at": now(),
                        },
                    )
                ],
            )
            return did

    def list_datasets(self) -> list[DatasetInfo]:
        with self._read() as s:
            rows = s.execute(
                select(
                    _DATA.c.id, _DATA.c.name, _DATA.c.format, _DATA.c.item_count, _DATA.c.sha256, _DATA.c.created_at
                ).order_by(_DATA.c.created_at.desc())
            )
            return [DatasetInfo(r.id, r.name, r.format, r.item_count, r.sha256, utc(r.created_at)) for r in rows]

    def get_dataset(self, dataset_id: str) -> DatasetInfo:
        with self._read() as s:
            d = s.get(Dataset, dataset_id)
            if d is None:
                raise StoreError(f"No dataset with id {dataset_id!r}")
            return DatasetInfo(d.id, d.name, d.format, d.item_count, d.sha256, utc(d.created_at), d.content)

    def delete_dataset(self, dataset_id: str) -> bool:
        with self._write.begin() as s:
            return bool(_cursor(s.execute(delete(_DATA).where(_DATA.c.id == dataset_id))).rowcount)
