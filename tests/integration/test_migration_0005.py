"""Migration 0005 (mailboxes) upgrades a populated database of revision 0004 in place, on SQLite
and PostgreSQL: the environment's mailbox becomes mailbox 1 and everything with a history belongs
to it; a lead never written to has no mailbox yet; alerts and the inbox mark keep their values."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from engine.storage.db import MIGRATIONS, Database
from tests.integration.test_migration_0004 import empty_url, upgrade

__all__ = ["empty_url"]  # the fixture, shared with the 0004 test

T0 = "2026-03-02 09:00:00"
T1 = "2026-03-02 09:01:30"


def populate_0004(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO leads (email, email_key, domain, first_name, last_name, company,"
                " custom, status, next_step, followups_sent, auto_replies, queue, next_send_at,"
                " first_subject, last_sent_at, created_at) VALUES"
                " ('Ana@acme.io', 'ana@acme.io', 'acme.io', 'Ana', '', 'Acme', '{}', 'sent',"
                " 1, 0, 0, 1, :t1, 'Hello Ana', :t0, :t0),"
                " ('bob@gmail.com', 'bob@gmail.com', 'gmail.com', '', '', '', '{}', 'pending',"
                " 0, 0, 0, 2, :t0, NULL, NULL, :t0)"
            ),
            {"t0": T0, "t1": T1},
        )
        conn.execute(
            text(
                "INSERT INTO outbound_messages (lead_id, kind, step, message_id, to_email,"
                " subject, body, state, attempts, attempted_at, sent_at, created_at) VALUES"
                " (1, 'initial', 0, '<a1@example.com>', 'Ana@acme.io', 'Hello Ana', 'Hi',"
                " 'sent', 1, :t0, :t0, :t0)"
            ),
            {"t0": T0},
        )
        conn.execute(
            text(
                "INSERT INTO inbound_messages (message_id, lead_id, kind, reason, from_email,"
                " subject, snippet, folder, uid, seen_at) VALUES"
                " ('<r1@acme.io>', 1, 'auto_reply', '', 'ana@acme.io', 'Out of office', '',"
                " 'INBOX', 7, :t1)"
            ),
            {"t1": T1},
        )
        conn.execute(
            text(
                "INSERT INTO imap_sync (folder, uidvalidity, last_uid, updated_at) VALUES"
                " ('INBOX', 3000000000, 7, :t1)"
            ),
            {"t1": T1},
        )
        conn.execute(
            text(
                "INSERT INTO alerts (condition, active, detail, count, since, updated_at) VALUES"
                " ('quota', true, '{\"error\": \"5.4.5\"}', 2, :t0, :t1),"
                " ('imap', false, '', 0, NULL, :t1)"
            ),
            {"t0": T0, "t1": T1},
        )
        conn.execute(
            text(
                "INSERT INTO mailbox_state (id, next_send_at, batch_count, blocked_until,"
                " blocked_reason, retry_failures, recipient_errors, sent_copy_check,"
                " updated_at) VALUES (1, :t1, 3, NULL, '', 0, '{}', 'kept', :t1)"
            ),
            {"t1": T1},
        )


def test_it_upgrades_a_populated_0004_database_in_place(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        upgrade(db, "0004")
        populate_0004(db)
        upgrade(db, "0005")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"
            box = conn.execute(
                text("SELECT id, source, state, hold, password_enc, ramp_started_at FROM mailboxes")
            ).all()
            assert len(box) == 1
            assert tuple(box[0])[:5] == (1, "env", "active", None, None)
            assert box[0][5] is not None  # its ramp-up counts from its first email
            leads = conn.execute(
                text("SELECT email_key, status, mailbox_id, queue FROM leads ORDER BY id")
            ).all()
            assert [tuple(r) for r in leads] == [
                ("ana@acme.io", "sent", 1, 1),  # in its thread: stays with mailbox 1
                ("bob@gmail.com", "pending", None, 2),  # never written to: rotation picks
            ]
            out = conn.execute(text("SELECT message_id, state, mailbox_id FROM outbound_messages"))
            assert [tuple(r) for r in out] == [("<a1@example.com>", "sent", 1)]
            inbound = conn.execute(text("SELECT message_id, mailbox_id FROM inbound_messages"))
            assert [tuple(r) for r in inbound] == [("<r1@acme.io>", 1)]
            marks = conn.execute(
                text("SELECT mailbox_id, folder, uidvalidity, last_uid FROM imap_marks")
            ).all()
            assert [tuple(r) for r in marks] == [(1, "INBOX", 3_000_000_000, 7)]
            alerts = conn.execute(
                text("SELECT condition, scope, active, detail, count FROM alerts ORDER BY 1")
            ).all()
            assert [tuple(r) for r in alerts] == [
                ("imap", "", False, "", 0),
                ("quota", "", True, '{"error": "5.4.5"}', 2),
            ]
            state = conn.execute(text("SELECT id, batch_count, sent_copy_check FROM mailbox_state"))
            assert [tuple(r) for r in state] == [(1, 3, "kept")]
    finally:
        db.dispose()


def test_it_downgrades_back_to_0004_keeping_the_rows(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        upgrade(db, "0004")
        populate_0004(db)
        upgrade(db, "0005")
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0004"
            marks = conn.execute(text("SELECT folder, last_uid FROM imap_sync")).all()
            assert [tuple(r) for r in marks] == [("INBOX", 7)]
            alerts = conn.execute(text("SELECT condition, active FROM alerts ORDER BY 1")).all()
            assert [tuple(r) for r in alerts] == [("imap", False), ("quota", True)]
            assert conn.execute(text("SELECT count(*) FROM leads")).scalar() == 2
    finally:
        db.dispose()


def test_the_models_match_the_migrated_schema(db_url: str) -> None:
    """Alembic's autogenerate finds nothing to change between the models and head."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from engine.storage.models import Base

    db = Database(db_url)
    try:
        db.migrate()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        if db.is_sqlite:  # SQLite's INTEGER is 64-bit: 0002's BIGINT widening is PostgreSQL's
            diff = [d for d in diff if not _integer_width_only(d)]
        assert diff == [], diff
    finally:
        db.dispose()


def _integer_width_only(diff: object) -> bool:
    from sqlalchemy import BigInteger, Integer

    if not (isinstance(diff, list) and len(diff) == 1 and diff[0][0] == "modify_type"):
        return False
    old, new = diff[0][-2], diff[0][-1]
    return isinstance(old, Integer) and isinstance(new, BigInteger)
