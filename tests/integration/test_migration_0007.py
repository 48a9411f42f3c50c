"""Migration 0007 (campaigns) upgrades a populated database of revision 0006 in place, on SQLite
and PostgreSQL: the one campaign becomes ``default`` with every lead, email, template and
campaign-level setting; a template that wrote ``{{a|b}}`` literally still renders it; the same
address may then be in two campaigns; and the engine runs on as before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from engine import campaign
from engine.context import EngineContext
from engine.storage import store
from engine.storage.db import MIGRATIONS, Database
from engine.templates import render_template
from tests.conftest import make_settings
from tests.integration.test_migration_0004 import empty_url, upgrade
from tests.integration.test_migration_0005 import T0, T1, populate_0004

__all__ = ["empty_url"]

LITERAL = "Pick one: {{yes|no}} — {first_name|there}"


def populate_0006(db: Database) -> None:
    """Revision 0004's rows (two leads: Ana sent step 0, Bob pending; one email; one
    auto-reply), carried to 0006, and the campaign, a template and overrides."""
    upgrade(db, "0004")
    populate_0004(db)
    upgrade(db, "0006")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO campaign (id, state, reason, changed_at) VALUES"
                " (1, 'running', '', :t0)"
            ),
            {"t0": T0},
        )
        conn.execute(
            text(
                "INSERT INTO templates (name, subject, body, updated_at) VALUES"
                " ('initial', 'Hello {first_name}', :body, :t0)"
            ),
            {"t0": T0, "body": LITERAL},
        )
        conn.execute(
            text(
                "INSERT INTO setting_overrides (key, value, updated_at) VALUES"
                " ('followup_delays', '2d', :t0), ('timezone', 'Europe/Berlin', :t0),"
                " ('daily_limit', '40', :t0), ('min_delay', '90', :t0)"
            ),
            {"t0": T0},
        )


def migrated(url: str) -> Database:
    db = Database(url)
    populate_0006(db)
    upgrade(db, "0007")
    return db


def rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_the_one_campaign_becomes_default_with_everything_it_had(empty_url: str) -> None:
    db = migrated(empty_url)
    try:
        assert rows(db, "SELECT id, name, name_key, state FROM campaign") == [
            (1, "default", "default", "running")
        ]
        assert rows(db, "SELECT email_key, campaign_id, variant FROM leads ORDER BY id") == [
            ("ana@acme.io", 1, "A"),  # written to: its emails were variant A's
            ("bob@gmail.com", 1, None),  # not yet: dealt at its first email
        ]
        assert rows(db, "SELECT campaign_id, variant FROM outbound_messages") == [(1, "A")]
        assert rows(db, "SELECT campaign_id, step, variant FROM inbound_messages") == [
            (1, 0, "A")  # the auto-reply answered step 0
        ]
        assert sorted(rows(db, "SELECT campaign_id, key, value FROM campaign_settings")) == [
            (1, "followup_delays", "2d"),
            (1, "timezone", "Europe/Berlin"),
        ]
        assert sorted(rows(db, "SELECT key, value FROM setting_overrides")) == [
            ("daily_limit", "40"),  # the mailboxes' cap stays global
            ("min_delay", "90"),
        ]
    finally:
        db.dispose()


def test_a_template_that_wrote_braces_literally_renders_the_same_after(empty_url: str) -> None:
    db = migrated(empty_url)
    try:
        ((subject, body),) = rows(
            db, "SELECT subject, body FROM campaign_templates WHERE name = 'initial'"
        )
        assert body != LITERAL  # rewritten to the escape
        with db.transaction() as session:
            t = store.template(session, "initial")
        assert render_template(t, {"first_name": "Ana"}) == (
            "Hello Ana",
            "Pick one: {yes|no} — Ana",  # what 0006 rendered: braces and bar as text
        )
    finally:
        db.dispose()


def test_the_same_address_may_then_be_in_two_campaigns_but_once_in_each(
    empty_url: str,
) -> None:
    db = migrated(empty_url)
    insert = (
        "INSERT INTO leads (campaign_id, email, email_key, domain, first_name, last_name,"
        " company, custom, status, next_step, followups_sent, auto_replies, created_at) VALUES"
        " (:c, 'Ana@acme.io', 'ana@acme.io', 'acme.io', '', '', '', '{}', 'pending', 0, 0, 0,"
        " :t)"
    )
    try:
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO campaign (name, name_key, state, reason, changed_at, created_at)"
                    " VALUES ('b', 'b', 'stopped', '', :t, :t)"
                ),
                {"t": T1},
            )
            conn.execute(text(insert), {"c": 2, "t": T1})
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text(insert), {"c": 1, "t": T1})
    finally:
        db.dispose()


def test_the_engine_reads_the_migrated_campaign_as_before(empty_url: str) -> None:
    db = migrated(empty_url)
    try:
        ctx = EngineContext(db=db, settings=make_settings(DATABASE_URL=empty_url))
        report = campaign.status(ctx)
        assert (report.campaign, report.state, report.total_leads) == ("default", "running", 2)
        view = {line.key: line for line in campaign.settings_view(ctx)}
        assert view["followup_delays"].value == "2d" and view["followup_delays"].changed
        assert view["timezone"].value == "Europe/Berlin"
        with db.transaction() as session:  # still the day's boundary
            assert str(store.effective_settings(session, ctx.settings).tz) == "Europe/Berlin"
        assert report.now <= datetime.now(UTC)
    finally:
        db.dispose()


def test_it_downgrades_back_to_0006(empty_url: str) -> None:
    db = migrated(empty_url)
    try:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0006")
        assert sorted(rows(db, "SELECT key FROM setting_overrides")) == [
            ("daily_limit",),
            ("followup_delays",),
            ("min_delay",),
            ("timezone",),
        ]
        assert rows(db, "SELECT name FROM templates") == [("initial",)]
        assert len(rows(db, "SELECT id FROM leads")) == 2
    finally:
        db.dispose()


def test_sqlite_enforces_foreign_keys_again_after_migrating(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The migration turns them off to rebuild tables (env.py); the next connections have them."""
    db = Database(f"sqlite:///{tmp_path / 'fk.db'}")
    try:
        db.migrate()
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO leads (campaign_id, email, email_key, domain, first_name,"
                    " last_name, company, custom, status, next_step, followups_sent,"
                    " auto_replies, created_at) VALUES (99, 'a@b.io', 'a@b.io', 'b.io', '', '',"
                    " '', '{}', 'pending', 0, 0, 0, :t)"
                ),
                {"t": T1},
            )
    finally:
        db.dispose()
