"""Shared fixtures. The real servers live in ``tests/servers/``, registered here.

Databases: every engine test runs on SQLite and on PostgreSQL. PostgreSQL is the machine's
(127.0.0.1:5432, user postgres, trust auth, or TEST_POSTGRES_URL); each test gets a fresh
database cloned from a migrated template made once per run. Where no PostgreSQL is reachable the
PostgreSQL variants skip with a visible reason.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.clock import FakeClock
from engine.config import Settings, load_settings
from engine.context import EngineContext
from engine.storage.db import Database

pytest_plugins = [
    "tests.servers.smtp",
    "tests.servers.dovecot",
    "tests.servers.telegram",
    "tests.servers.dns",
]

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
_RUN = f"outreach_t_{os.getpid()}_{secrets.token_hex(3)}"
_pg_state: dict[str, object] = {}


def _pg_admin():  # type: ignore[no-untyped-def]
    return create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )


def _pg_template() -> str:
    """A migrated template database, made once per run; the reason to skip if impossible."""
    if "template" in _pg_state or "skip" in _pg_state:
        return str(_pg_state.get("template", ""))
    try:
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{_RUN}_tpl"'))
        admin.dispose()
    except Exception as e:  # noqa: BLE001
        _pg_state["skip"] = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(e).__name__}"
        return ""
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{_RUN}_tpl"
    db = Database(url)
    db.migrate()
    db.dispose()
    _pg_state["template"] = f"{_RUN}_tpl"
    return f"{_RUN}_tpl"


def fresh_pg_url() -> str:
    tpl = _pg_template()
    if not tpl:
        pytest.skip(str(_pg_state["skip"]))
    name = f"{_RUN}_{secrets.token_hex(4)}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"'))
    admin.dispose()
    _pg_state.setdefault("made", []).append(name)  # type: ignore[union-attr]
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from engine.inbox import budget

    budget.shutdown()  # the classifier's child process, if a test started it
    made = list(_pg_state.get("made", []))  # type: ignore[call-overload]
    if "template" in _pg_state:
        made.append(_pg_state["template"])
    if not made:
        return
    try:
        admin = _pg_admin()
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    except Exception:  # noqa: BLE001 - cleanup is best effort
        pass


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'outreach.db'}"
    return fresh_pg_url()


_sqlite_template: list[Path] = []


def _sqlite_copy(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Put a copy of a migrated SQLite file (made once per run) where ``db_url`` points.

    Migrating an empty file from scratch costs ~25 ms of CPU; copying one costs ~1 ms, and the
    suite makes some 700 SQLite databases. ``migrate()`` still runs on the copy (a no-op)."""
    if not _sqlite_template:
        path = tmp_path_factory.mktemp("sqlite_template") / "template.db"
        db = Database(f"sqlite:///{path}")
        db.migrate()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.dispose()
        _sqlite_template.append(path)
    target = Path(db_url.removeprefix("sqlite:///"))
    if not target.exists():
        shutil.copyfile(_sqlite_template[0], target)


@pytest.fixture
def database(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    if db_url.startswith("sqlite:///"):
        _sqlite_copy(db_url, tmp_path_factory)
    db = Database(db_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


BASE_ENV = {
    "TELEGRAM_BOT_TOKEN": "123456:TEST-token_abcdef",
    "TELEGRAM_ADMIN_IDS": "1001",
    "EMAIL_ADDRESS": "sender@example.com",
    "EMAIL_PASSWORD": "app-password-123",
    "SENDER_NAME": "Sam Sender",
    "SMTP_SERVER": "127.0.0.1",
    "SMTP_PORT": "2525",
    "SMTP_SECURITY": "none",
    "IMAP_SERVER": "127.0.0.1",
    "IMAP_PORT": "1143",
    "IMAP_SECURITY": "none",
    "DAILY_EMAIL_LIMIT": "500",
    "MIN_DELAY_SECONDS": "60",
    "MAX_DELAY_SECONDS": "120",
    "PAUSE_EVERY_N_EMAILS": "20",
    "PAUSE_MIN_MINUTES": "5",
    "PAUSE_MAX_MINUTES": "8",
    "FOLLOWUP_DELAYS": "3d,4d",
    "CALENDAR_LINK": "https://cal.example.com/sam",
    "TIMEZONE": "UTC",
    # No test asks the machine's DNS: those that verify lists point DNS_NAMESERVERS at the
    # local server of tests/servers/dns.py and turn this on.
    "VERIFY_EMAILS": "off",
}


def make_settings(**env: str) -> Settings:
    """Settings from BASE_ENV plus overrides (environment names)."""
    return load_settings({**BASE_ENV, **env})


@pytest.fixture
def make_ctx(database: Database, clock: FakeClock):  # type: ignore[no-untyped-def]
    """Factory: an EngineContext on the test database with a FakeClock and seeded randomness."""

    def make(**env: str) -> EngineContext:
        return EngineContext(
            db=database, settings=make_settings(**env), clock=clock, rng=random.Random(7)
        )

    return make
