"""An email the server accepted (250) whose outcome cannot be written is an alert, never silence,
and is never sent again. The recording is made to fail for real: Settings built directly with a
follow-up delay the loader refuses (3,000,000 days), so ``now + delay`` overflows a datetime
while the lead is moved on — on SQLite and PostgreSQL, against the real aiosmtpd."""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.messages.holds import reason_text
from engine import campaign
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.sending.claims import count_uncertain, expire_leases
from engine.sending.queue import UNRECORDED, run_send_queue
from engine.sending.smtp import SmtpMailer
from engine.states import AlertCondition, CampaignState, LeadStatus, NoticeKind, OutboundState
from engine.storage import store
from engine.storage.db import Database
from engine.storage.models import Alert
from tests.conftest import make_settings
from tests.integration.sendkit import NO_PACING, add_leads, lead, outbound, outbox, smtp_env, words
from tests.servers.smtp import SmtpServer

BEYOND_A_DATETIME = (timedelta(days=3_000_000),)


def _ctx(database: Database, clock: FakeClock, smtp: SmtpServer, **env: str) -> EngineContext:
    settings = make_settings(**smtp_env(smtp, **env))
    bad = dataclasses.replace(settings, followup_delays=BEYOND_A_DATETIME)  # bypasses the loader
    return EngineContext(db=database, settings=bad, clock=clock, rng=random.Random(7))


def _send(ctx: EngineContext) -> list[str]:
    mailer = SmtpMailer(ctx.smtp_settings())
    try:
        return run_send_queue(ctx, mailer).events
    finally:
        mailer.close()


def _alert(ctx: EngineContext) -> Alert | None:
    with ctx.db.transaction() as session:
        row = session.get(Alert, (AlertCondition.RECORD_FAILED, ""))
        if row is not None:
            session.expunge(row)
        return row


@pytest.mark.parametrize("pacing", ["off", "on"])
def test_it_alerts_when_a_delivered_email_cannot_be_recorded(
    database: Database,
    clock: FakeClock,
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
    pacing: str,
) -> None:
    env = NO_PACING if pacing == "off" else {}
    ctx = _ctx(database, clock, smtp_server, **env)
    emails = ["ana@acme.io", "bob@beta.io", "cy@gamma.io"]
    add_leads(ctx, *emails)
    campaign.run(ctx)

    with caplog.at_level(logging.ERROR, logger="engine.sending.outcomes"):
        events = _send(ctx)

    delivered = [r for m in smtp_server.messages for r in m.rcpt_tos]
    # Pacing off: the batch went out and its record failed at the end; pacing on: the first.
    assert delivered == (emails if pacing == "off" else emails[:1])
    assert events[-1] == UNRECORDED
    assert "could not be recorded" in caplog.text and "OverflowError" in caplog.text

    # The alert, in the outbox for the admins, naming what failed and what to do.
    alert = _alert(ctx)
    assert alert is not None and alert.active
    (item,) = outbox(ctx, NoticeKind.ALERT)
    assert item.text == ""  # the engine writes no words: a condition and its facts
    assert item.payload["condition"] == AlertCondition.RECORD_FAILED
    assert item.payload["cause"] == "marked_sent" and item.payload["emails"] == delivered
    assert "accepted by the mail server but could not be recorded" in words(item)
    assert "OverflowError" in words(item) and "/run" in words(item)

    # Each delivered email is recorded as sent (not left `sending`), its lead untouched.
    rows = outbound(ctx)
    assert [(r.to_email, r.state) for r in rows] == [(e, OutboundState.SENT) for e in delivered]
    assert all("recording failed" in (r.error or "") for r in rows)
    assert all(lead(ctx, e).status == LeadStatus.PENDING for e in delivered)

    # The campaign is paused, so nothing more goes out unrecorded.
    with ctx.db.transaction() as session:
        assert store.campaign(session, clock.now()).state == CampaignState.PAUSED
    assert "could not be recorded" in reason_text(campaign.status(ctx).reason)
    assert _send(ctx) == []

    # Recovery finds nothing uncertain to resend, even after every lease is given up.
    clock.advance(timedelta(hours=1))
    assert expire_leases(ctx, everything=True) == 0
    with ctx.db.transaction() as session:
        assert count_uncertain(session) == 0

    # Resumed (with the same broken setting, for the test's sake): no email is sent twice.
    campaign.run(ctx)
    assert _alert(ctx) is not None and not _alert(ctx).active  # type: ignore[union-attr]
    _send(ctx)
    again = [r for m in smtp_server.messages for r in m.rcpt_tos]
    assert len(again) == len(set(again))


def test_it_records_normally_with_a_delay_the_loader_accepts(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    ctx = make_ctx(**smtp_env(smtp_server, FOLLOWUP_DELAYS="365d", **NO_PACING))
    add_leads(ctx, "ana@acme.io")
    campaign.run(ctx)

    assert _send(ctx) == ["sent"]
    assert lead(ctx, "ana@acme.io").next_send_at is not None
    with ctx.db.transaction() as session:
        assert (
            session.scalars(
                select(Alert).where(Alert.condition == AlertCondition.RECORD_FAILED)
            ).all()
            == []
        )
