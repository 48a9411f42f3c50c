"""The database: engine and sessions, one transaction per state change, migrations at start."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import ConfigError, DatabaseUnavailable

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """Owns the SQLAlchemy engine. ``transaction()`` is the only way state changes are written."""

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = url
        u = make_url(url)
        self.is_sqlite = u.get_backend_name() == "sqlite"
        self.is_postgres = u.get_backend_name() == "postgresql"
        self._lock_file: IO[str] | None = None
        if self.is_sqlite:
            if u.database and u.database != ":memory:":
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                url, connect_args={"timeout": 30, "check_same_thread": False}
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(
                url,
                pool_size=pool_size,
                max_overflow=10,
                pool_pre_ping=True,
                pool_recycle=1800,
                connect_args={"connect_timeout": 5, "application_name": "outreach"},
            )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._claim_lock = threading.Lock()

    def serialised(self) -> contextlib.AbstractContextManager[object]:
        """Around a transaction that reads rows and then takes them (a send claim): on SQLite
        the threads of this process take turns, since its reads are not locked and only one
        process ever uses the file; on PostgreSQL row locks (SKIP LOCKED) do it."""
        return self._claim_lock if self.is_sqlite else contextlib.nullcontext()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error.

        Connection-level failures are re-raised as DatabaseUnavailable so jobs can fail softly.
        """
        try:
            with self.sessions.begin() as session:
                yield session
        except OperationalError as e:
            if _is_connection_error(e):
                raise DatabaseUnavailable(_short(e)) from e
            raise
        except DBAPIError as e:
            if e.connection_invalidated:
                raise DatabaseUnavailable(_short(e)) from e
            raise

    def migrate(self) -> None:
        """Create or upgrade the schema with Alembic; safe to run from several replicas at once."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            if self.is_postgres:
                # Replicas starting together take turns; the loser finds the schema up to date.
                conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        if self.is_sqlite:  # the migration's connection had foreign keys off (see env.py)
            self.engine.dispose()

    def claim_single_process(self) -> None:
        """SQLite serves one process: a second one is refused with a clear message."""
        if not self.is_sqlite:
            return
        path = make_url(self.url).database
        if not path or path == ":memory:":
            return
        lock_path = f"{path}.lock"
        f = open(lock_path, "a+")  # noqa: SIM115 - held for the life of the process
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise ConfigError(
                [
                    f"another process is already using the SQLite database {path}. "
                    "SQLite supports one process only: stop the other one, or set DATABASE_URL "
                    "to a PostgreSQL database to run several replicas."
                ]
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._lock_file = f

    def dispose(self) -> None:
        self.engine.dispose()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _is_connection_error(e: OperationalError) -> bool:
    if e.connection_invalidated:
        return True
    msg = str(e.orig).lower()
    return any(
        s in msg
        for s in (
            "could not connect",
            "connection refused",
            "server closed the connection",
            "terminating connection",
            "connection not open",
            "connection already closed",
            "the database system is",
            "timeout expired",
            "no connection to the server",
            "ssl connection has been closed",
        )
    )


def _short(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e
    return str(orig).strip().splitlines()[0][:200] if str(orig).strip() else type(orig).__name__
