"""Migration 0010 (the inbox in the chat) upgrades a populated database of revision 0009 in
place, on SQLite and PostgreSQL: leads and replies keep everything they had, an existing human
reply keeps its snippet as its text (with no label), drafts can be stored, and the engine runs
on as before."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from engine import campaign
from engine.context import EngineContext
from engine.states import DraftState
from engine.storage.db import Database
from engine.storage.models import AnswerDraft
from tests.conftest import make_settings
from tests.integration.test_migration_0004 import empty_url, upgrade
from tests.integration.test_migration_0005 import T1
from tests.integration.test_migration_0007 import populate_0006, rows

__all__ = ["empty_url"]


def populate_0009(db: Database) -> None:
    """Revision 0006's rows carried to 0009, and a human reply from Ana."""
    populate_0006(db)
    upgrade(db, "0009")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO inbound_messages (message_id, lead_id, kind, reason, from_email,"
                " subject, snippet, folder, uid, received_at, seen_at, mailbox_id, campaign_id,"
                " step, variant) VALUES ('<human@acme.io>', 1, 'human', '', 'ana@acme.io',"
                " 'Re: Hello Ana', 'Sounds good, call me Tuesday', 'INBOX', 9, :t1, :t1, 1, 1,"
                " 0, 'A')"
            ),
            {"t1": T1},
        )


def test_replies_keep_their_text_and_leads_their_data(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        populate_0009(db)
        before = rows(
            db, "SELECT id, email_key, status, campaign_id, variant FROM leads ORDER BY id"
        )
        upgrade(db, "0010")
        assert (
            rows(db, "SELECT id, email_key, status, campaign_id, variant FROM leads ORDER BY id")
            == before
        )
        assert rows(db, "SELECT away_until, referred_by FROM leads ORDER BY id") == [
            (None, None)
        ] * len(before)
        got = rows(
            db,
            "SELECT kind, body_text, label, label_by, thread_refs FROM inbound_messages"
            " ORDER BY id",
        )
        human = [r for r in got if r[0] == "human"]
        others = [r for r in got if r[0] != "human"]
        assert human == [("human", "Sounds good, call me Tuesday", None, None, None)]
        assert others and all(r[1] == "" for r in others)  # only replies carry their text
    finally:
        db.dispose()


def test_the_engine_runs_on_and_stores_a_draft_after_the_upgrade(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        populate_0009(db)
        db.migrate()  # to head, as the process does at start
        ctx = EngineContext(db=db, settings=make_settings())
        report = campaign.status(ctx)
        assert (report.state, report.total_leads) == ("running", 2)
        now = ctx.clock.now()
        with db.transaction() as session:
            session.add(
                AnswerDraft(
                    lead_id=1,
                    inbound_id=None,
                    admin_id=1001,
                    chat_id=1001,
                    state=DraftState.AWAITING,
                    body="",
                    created_at=now,
                    updated_at=now,
                    expires_at=now + timedelta(hours=24),
                )
            )
        assert rows(db, "SELECT lead_id, state FROM answer_drafts") == [(1, "awaiting")]
    finally:
        db.dispose()
