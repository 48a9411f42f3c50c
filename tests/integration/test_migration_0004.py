"""Migration 0004 upgrades a populated database of revision 0003 in place, on SQLite and
PostgreSQL: every row survives, undelivered notifications stay deliverable, imports can be
recorded."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from engine.storage.db import MIGRATIONS, Database
from tests import conftest

T0 = "2026-03-02 09:00:00"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    conftest._pg_template()  # noqa: SLF001 - tells whether PostgreSQL is reachable
    if "skip" in conftest._pg_state:  # noqa: SLF001
        pytest.skip(str(conftest._pg_state["skip"]))  # noqa: SLF001
    name = f"{conftest._RUN}_m{secrets.token_hex(3)}"  # noqa: SLF001
    admin = conftest._pg_admin()  # noqa: SLF001
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    conftest._pg_state.setdefault("made", []).append(name)  # type: ignore[union-attr]  # noqa: SLF001
    admin.dispose()
    yield conftest.PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def upgrade(db: Database, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    db.engine.dispose()  # as Database.migrate: the next connections enforce foreign keys


def populate_0003(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO leads (email, email_key, domain, first_name, last_name, company,"
                " custom, status, next_step, followups_sent, auto_replies, created_at) VALUES"
                " ('Ana@acme.io', 'ana@acme.io', 'acme.io', 'Ana', '', 'Acme', '{}', 'sent',"
                " 1, 0, 0, :t), ('bob@gmail.com', 'bob@gmail.com', 'gmail.com', '', '', '',"
                " '{}', 'pending', 0, 0, 0, :t)"
            ),
            {"t": T0},
        )
        conn.execute(
            text(
                "INSERT INTO outbox (kind, text, payload, created_at, delivered_at, attempts)"
                " VALUES ('reply', 'ana replied', '{\"lead_id\": 1}', :t, NULL, 2),"
                " ('info', 'old news', '{}', :t, :t, 1)"
            ),
            {"t": T0},
        )
        conn.execute(
            text(
                "INSERT INTO suppressions (value, kind, reason, created_at) VALUES"
                " ('acme.io', 'domain', 'stopped', :t)"
            ),
            {"t": T0},
        )


def test_it_upgrades_a_populated_0003_database_in_place(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        upgrade(db, "0003")
        populate_0003(db)
        upgrade(db, "0004")  # what `python -m bot` of that release did on start
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0004"
            leads = conn.execute(text("SELECT email_key, status FROM leads ORDER BY id")).all()
            assert [tuple(r) for r in leads] == [
                ("ana@acme.io", "sent"),
                ("bob@gmail.com", "pending"),
            ]
            rows = conn.execute(
                text(
                    "SELECT text, attempts, delivered_at IS NULL, claim_owner, claim_expires_at"
                    " FROM outbox ORDER BY id"
                )
            ).all()
            assert [tuple(r) for r in rows] == [
                ("ana replied", 2, True, None, None),
                ("old news", 1, False, None, None),
            ]
            value = conn.execute(text("SELECT value FROM suppressions")).scalar()
            assert value == "acme.io"
        with db.transaction() as session:
            from engine.storage.models import ImportRun

            session.add(
                ImportRun(
                    file_name="leads.csv",
                    chat_id=-1_000_000_000_123,
                    message_id=2**40,
                    owner="host:1:abc",
                    started_at=datetime(2026, 3, 2, tzinfo=UTC),
                )
            )
        with db.transaction() as session:
            row = session.query(ImportRun).one()
            assert (row.chat_id, row.message_id, row.finished_at) == (
                -1_000_000_000_123,
                2**40,
                None,
            )
    finally:
        db.dispose()


def test_it_downgrades_back_to_0003_keeping_the_rows(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        upgrade(db, "0003")
        populate_0003(db)
        upgrade(db, "0004")
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM outbox")).scalar() == 2
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    finally:
        db.dispose()
