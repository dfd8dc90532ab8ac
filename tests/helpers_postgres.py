"""A throwaway PostgreSQL server for tests and the db benchmark (``bench/db_scale.py`` shares this code).

``initdb`` + ``pg_ctl`` from ``/usr/lib/postgresql/*/bin`` (or ``$PG_BIN``) in a temporary directory, on a
free port on 127.0.0.1 only, trust authentication, fsync off. PostgreSQL refuses to run as root, so under
root the server runs as the ``postgres`` system user (or ``nobody``) via ``runuser``. Stopped and deleted at
the end of the test session (and at interpreter exit, whichever comes first).

Fixtures (import them into a test module: ``from tests.helpers_postgres import pg_server, pg_url``):

* ``pg_server`` (session): the running :class:`ThrowawayPostgres`; skipped with a clear reason only when
  the PostgreSQL binaries are not installed.
* ``pg_url`` (function): a URL to a fresh, empty database on that server.
* ``pg_migrated_url`` (function): one shared database, migrated to head, with every table emptied before
  each test (much faster than a new database per test).
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

_counter = 0
_counter_lock = threading.Lock()


def find_pg_bin() -> Path | None:
    """The newest installed PostgreSQL ``bin`` directory with ``initdb`` and ``pg_ctl``, or None."""
    env = os.environ.get("PG_BIN")
    candidates = [env] if env else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for c in candidates:
        if c and (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as_user() -> str | None:
    """The unprivileged user to run the server as when we are root (None when we are not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


class ThrowawayPostgres:
    """One PostgreSQL server in a temp dir; :meth:`start`, :meth:`create_database`, :meth:`stop`."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.user = _run_as_user()
        self.tmp = Path(tempfile.mkdtemp(prefix="tale-pg-"))
        self.data = self.tmp / "data"
        self.log = self.tmp / "server.log"
        self.port = 0
        self.role = "tale"
        self.running = False

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user:
            runuser = shutil.which("runuser")
            if runuser:
                return [runuser, "-u", self.user, "--", *cmd]
            return ["su", self.user, "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in cmd)]
        return cmd

    def _run(self, *args: str, timeout: float = 120) -> None:
        res = subprocess.run(self._cmd(*args), cwd=self.tmp, capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({res.returncode}): {res.stderr[-2000:]} {log}")

    def start(self) -> ThrowawayPostgres:
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
        os.chmod(self.tmp, 0o700)
        self._run(
            "initdb", "-D", str(self.data), "-U", self.role, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"
        )
        self.port = _free_port()
        opts = (
            f"-p {self.port} -h 127.0.0.1 -k {self.tmp} -F -c fsync=off -c full_page_writes=off "
            f"-c synchronous_commit=off -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", "start")
        self.running = True
        atexit.register(self.stop)
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.role}@127.0.0.1:{self.port}/{database}"

    def _admin(self):
        import psycopg

        return psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.role} dbname=postgres", autocommit=True)

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        global _counter
        if name is None:
            with _counter_lock:
                _counter += 1
                name = f"tale_test_{os.getpid()}_{_counter}"
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database` (its files would otherwise pile up)."""
        name = url.rsplit("/", 1)[1]
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def empty_tables(self, url: str) -> None:
        """Delete every row of every table but alembic's (much faster than a new database per test)."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.role} dbname={name}", autocommit=True
        ) as conn:
            conn.execute("SET lock_timeout = '20s'")
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            ]
            if tables:
                conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")

    def stop(self) -> None:
        if self.running:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop", timeout=60)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            self.running = False
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_throwaway_postgres() -> ThrowawayPostgres | None:
    """Start a server, or return None when PostgreSQL is not installed."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        return None
    return ThrowawayPostgres(bin_dir).start()


@pytest.fixture(scope="session")
def pg_server():
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    server = ThrowawayPostgres(bin_dir).start()
    try:
        yield server
    finally:
        from db.engine import dispose_all

        dispose_all()
        server.stop()


@pytest.fixture
def pg_url(pg_server):
    url = pg_server.create_database()
    yield url
    from db.engine import dispose
    from db.migrate import forget_ready

    dispose(url)
    forget_ready(url)
    pg_server.drop_database(url)


@pytest.fixture(scope="session")
def _pg_shared_db(pg_server):
    from db.migrate import upgrade

    url = pg_server.create_database("tale_test")
    upgrade(url)
    return url


@pytest.fixture
def pg_migrated_url(pg_server, _pg_shared_db):
    pg_server.empty_tables(_pg_shared_db)
    return _pg_shared_db
