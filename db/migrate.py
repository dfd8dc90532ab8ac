"""Alembic migrations, driven from code (no alembic.ini needed): upgrade, current revision, drift check.

:func:`ensure_schema` runs on the first use of a database in a process (``Store`` calls it), so the app, the
CLI and tests never meet a missing table. It holds the database's write lock while it migrates (SQLite
``BEGIN IMMEDIATE``, PostgreSQL an advisory lock), so two processes starting at once do not race.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from .engine import database_url, get_engine, is_sqlite, write_engine
from .models import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_ID = 7_361_524_001  # arbitrary, constant: "TALE migrations"

_ready: set[str] = set()
_ready_lock = threading.Lock()


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An alembic Config pointing at ``db/migrations`` for ``url`` (or an open ``connection``)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str | None = None, revision: str = "head") -> str | None:
    """Migrate the database to ``revision`` under the write lock; returns the revision it ends at."""
    eng = get_engine(url)
    with write_engine(eng).connect() as conn:
        with conn.begin():
            if eng.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_ID})
            current = MigrationContext.configure(conn).get_current_revision()
            if not (revision == "head" and current == head_revision()):
                command.upgrade(alembic_config(str(eng.url), conn), revision)
        return MigrationContext.configure(conn).get_current_revision()


def downgrade(url: str | None = None, revision: str = "-1") -> str | None:
    """Migrate the database down to ``revision`` ("base" removes every table); returns where it ends."""
    eng = get_engine(url)
    with write_engine(eng).connect() as conn:
        with conn.begin():
            if eng.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_ID})
            command.downgrade(alembic_config(str(eng.url), conn), revision)
        forget_ready(url)
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(url: str | None = None) -> None:
    """Upgrade to head once per database per process (cheap after the first call)."""
    key = _key(url)
    if key in _ready:
        return
    with _ready_lock:
        if key in _ready:
            return
        if current_revision(url) != head_revision():
            upgrade(url)
        _ready.add(key)


def _key(url: str | None) -> str:
    return make_url(url or database_url()).render_as_string(hide_password=False)


def forget_ready(url: str | None = None) -> None:
    """Make the next :func:`ensure_schema` look again (tests that drop a database use this)."""
    with _ready_lock:
        if url is None:
            _ready.clear()
        else:
            _ready.discard(_key(url))


def schema_drift(url: str | None = None) -> list:
    """Differences between the models and the migrated database (empty when they agree)."""
    with get_engine(url).connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": is_sqlite(conn.engine)})
        return list(compare_metadata(ctx, Base.metadata))
