"""Migration 0006 makes a lead's steps unique per mailbox (a lead restarted from another mailbox
gets a new thread beside the old one), keeps a step from going twice within one mailbox and the
calendar answer once per lead, on SQLite and PostgreSQL, and downgrades back."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from engine.storage.db import MIGRATIONS, Database
from tests.integration.test_migration_0004 import empty_url, upgrade
from tests.integration.test_migration_0005 import T0, populate_0004

__all__ = ["empty_url"]

INSERT = (
    "INSERT INTO outbound_messages (lead_id, kind, step, message_id, to_email, subject, body,"
    " state, attempts, mailbox_id, created_at) VALUES (1, :kind, :step, :mid, 'Ana@acme.io',"
    " 'Hello', 'Hi', 'sent', 1, :mailbox, :t0)"
)


def add_row(db: Database, step: int, mailbox: int | None, mid: str, kind: str = "initial") -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(INSERT), {"kind": kind, "step": step, "mid": mid, "mailbox": mailbox, "t0": T0}
        )


def migrated(url: str) -> Database:
    db = Database(url)
    upgrade(db, "0004")
    populate_0004(db)  # lead 1 has step 0 from mailbox 1 (after 0005)
    upgrade(db, "0006")
    return db


def test_it_lets_a_lead_start_a_new_thread_from_another_mailbox(empty_url: str) -> None:
    db = migrated(empty_url)
    try:
        add_row(db, 0, 2, "<a2@example.com>")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT step, mailbox_id FROM outbound_messages ORDER BY id"))
            assert [tuple(r) for r in rows] == [(0, 1), (0, 2)]
    finally:
        db.dispose()


def test_it_still_refuses_a_step_twice_within_one_mailbox(empty_url: str) -> None:
    db = migrated(empty_url)
    try:
        with pytest.raises(IntegrityError):
            add_row(db, 0, 1, "<again@example.com>")
    finally:
        db.dispose()


def test_it_still_refuses_a_second_calendar_answer_to_a_lead(empty_url: str) -> None:
    db = migrated(empty_url)
    try:
        add_row(db, 100, None, "<c1@example.com>", "calendar")
        with pytest.raises(IntegrityError):
            add_row(db, 100, 2, "<c2@example.com>", "calendar")
    finally:
        db.dispose()


def test_it_downgrades_back_to_0005(empty_url: str) -> None:
    db = migrated(empty_url)
    try:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
        with pytest.raises(IntegrityError):
            add_row(db, 0, 2, "<a2@example.com>")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"
    finally:
        db.dispose()
