"""Where the database lives and how we connect to it.

SQLite file ``<TALE_DATA_DIR>/tale.db`` by default (``TALE_DATA_DIR`` defaults to ``data`` relative to the
current directory, created on first use). ``TALE_DATABASE_URL`` switches to any SQLAlchemy URL, for example
``postgresql+psycopg://user:pass@host:5432/tale``.

SQLite connections get WAL, a 30 s busy timeout and ``foreign_keys=ON``. Transactions that write are opened
with ``BEGIN IMMEDIATE`` (see :func:`write_engine`): a deferred transaction that reads first and writes
later can fail at once with "database is locked" instead of waiting, which is what several threads
recording calls at the same time would otherwise hit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from tale_core.errors import TaleError

DEFAULT_DB_FILE = "tale.db"
BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "tale_write"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


class DatabaseError(TaleError):
    """The database cannot be reached or its URL is wrong."""


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The directory for the default SQLite file (``TALE_DATA_DIR``, default ``./data``)."""
    env = os.environ if env is None else env
    return Path(env.get("TALE_DATA_DIR") or "data").resolve()


def database_url(env: Mapping[str, str] | None = None) -> str:
    """``TALE_DATABASE_URL`` if set, else the SQLite file under :func:`data_dir`."""
    env = os.environ if env is None else env
    url = (env.get("TALE_DATABASE_URL") or "").strip()
    if url:
        return url
    return f"sqlite:///{data_dir(env) / DEFAULT_DB_FILE}"


def redact_url(url: str) -> str:
    """The URL with its password hidden, safe to print."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL we cannot parse is shown as a placeholder
        return "<invalid database URL>"


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = url_or_engine.url if isinstance(url_or_engine, Engine) else make_url(url_or_engine)
    return url.get_backend_name() == "sqlite"


def _sqlite_file(url: str) -> Path | None:
    db = make_url(url).database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        # let SQLAlchemy's "begin" event own transactions (pysqlite's implicit BEGIN is deferred)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised by every test
        if conn.get_execution_options().get(_WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default :func:`database_url`), created once per URL."""
    url = url or database_url()
    with _lock:
        eng = _engines.get(url)
        if eng is not None:
            return eng
        try:
            parsed = make_url(url)
        except Exception:
            raise DatabaseError(f"TALE_DATABASE_URL is not a valid database URL: {redact_url(url)}") from None
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            path = _sqlite_file(url)
            connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                eng = create_engine(url, connect_args=connect_args, pool_size=8, max_overflow=16, pool_timeout=60)
            else:  # in-memory: one shared connection, or every connection would see its own empty database
                eng = create_engine(url, connect_args=connect_args, poolclass=StaticPool)
            _configure_sqlite(eng)
        elif backend == "postgresql":
            eng = create_engine(
                url, pool_size=8, max_overflow=8, pool_pre_ping=True, pool_timeout=60, pool_recycle=1800
            )
        else:
            try:
                eng = create_engine(url, pool_pre_ping=True)
            except Exception as e:  # missing driver and the like
                raise DatabaseError(f"Cannot use database {redact_url(url)}: {e}") from None
        _engines[url] = eng
        return eng


def write_engine(engine: Engine) -> Engine:
    """A view of ``engine`` whose transactions take the write lock up front (SQLite ``BEGIN IMMEDIATE``)."""
    return engine.execution_options(**{_WRITE_OPTION: True})


def dispose_all() -> None:
    """Close every pooled connection and forget every engine (tests and the benchmark use this)."""
    from .migrate import forget_ready

    with _lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()
    forget_ready(None)


def dispose(url: str) -> None:
    """Close and forget the engine of ``url``; the next use reconnects and checks the schema again."""
    from .migrate import forget_ready

    with _lock:
        eng = _engines.pop(url, None)
    if eng is not None:
        eng.dispose()
    forget_ready(url)
