"""The brake: once /pause or /stop is answered, no email starts that was not already inside its
SMTP transaction — with pacing off and a claimed batch of up to 50, through the real bot, the
real aiosmtpd and both databases."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from engine import campaign
from engine.context import EngineContext
from engine.sending.gate import send_counts
from engine.sending.pacing import Gate
from engine.sending.queue import CLAIM_BATCH, run_send_queue
from engine.sending.smtp import SmtpMailer
from engine.states import Hold, OutboundState
from engine.storage import store
from engine.storage.models import QUEUE_NEW, Lead, OutboundMessage
from tests.integration import bot_harness
from tests.integration.bot_harness import RunningBot
from tests.integration.sendkit import NO_PACING, add_leads, smtp_env
from tests.servers.smtp import Received, SmtpServer

running_bot = bot_harness.running_bot
Ctx = Callable[..., EngineContext]

LEADS = 300
HOLD_AT = 20  # the server holds this message (stored, no 250 yet) until the brake is answered


def _in_flight(answer: str) -> int:
    m = re.search(r"(\d+) emails? (?:was|were) already being handed", answer)
    return int(m.group(1)) if m else 0


def _hold_message(server: SmtpServer, n: int) -> tuple[threading.Event, threading.Event]:
    """The server stores message ``n`` and then waits (the sender is inside that SMTP
    transaction) until the returned ``release`` is set; ``held`` says it got there."""
    held, release = threading.Event(), threading.Event()
    stored = 0

    def on_store(_: Received) -> None:
        nonlocal stored
        stored += 1
        if stored == n:
            held.set()
            release.wait(timeout=30)

    server.on_store = on_store
    return held, release


@pytest.mark.parametrize(("command", "word"), [("/pause", "paused"), ("/stop", "stopped")])
async def test_no_email_starts_after_the_brake_is_answered(
    running_bot: RunningBot, make_ctx: Ctx, smtp_server: SmtpServer, command: str, word: str
) -> None:
    sender = make_ctx(**smtp_env(smtp_server, **NO_PACING))  # the send job, pacing off
    emails = [f"lead{i}@domain{i}.io" for i in range(LEADS)]
    await asyncio.to_thread(add_leads, sender, *emails)
    await running_bot.say("/run", expect="Campaign")
    held, release = _hold_message(smtp_server, HOLD_AT)
    mailer = SmtpMailer(sender.smtp_settings())
    sending = asyncio.ensure_future(asyncio.to_thread(run_send_queue, sender, mailer))
    try:
        assert await asyncio.to_thread(held.wait, 30), "the sender never reached the server"

        answer = await running_bot.say(command, expect=word)
        received_at_answer = len(smtp_server.messages)
        release.set()
        report = await sending
    finally:
        release.set()
        await asyncio.wait_for(sending, 60)
        mailer.close()

    in_flight = _in_flight(answer["text"])
    after_answer = len(smtp_server.messages) - received_at_answer
    assert after_answer <= in_flight <= 1, (answer["text"], after_answer)
    assert in_flight == 1  # the held message was inside its SMTP transaction, and said so
    assert HOLD_AT <= report.sent < CLAIM_BATCH  # the brake, not the batch's end, stopped it
    assert report.stopped_by == Gate(Hold.BRAKE)

    # The claimed-but-unstarted rows were released: none left `sending`, none counted.
    with sender.db.transaction() as session:
        states = dict(
            session.execute(
                select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state)
            ).all()
        )
        queued_again = session.scalar(
            select(func.count()).select_from(Lead).where(Lead.queue == QUEUE_NEW)
        )
        counts = send_counts(session, sender.clock.now(), sender.settings)
        batch_count = store.mailbox(session, sender.clock.now()).batch_count
    delivered = len(smtp_server.messages)
    assert OutboundState.SENDING not in states
    assert states == {OutboundState.SENT: delivered}
    assert counts.sent_today == delivered
    assert batch_count == delivered  # towards the batch pause, only what went out counts
    assert queued_again == LEADS - delivered

    # Resumed, the released leads are sent later — each lead exactly once.
    smtp_server.on_store = None
    assert campaign.run(sender) != "running"
    mailer = SmtpMailer(sender.smtp_settings())
    try:
        await asyncio.to_thread(run_send_queue, sender, mailer)
    finally:
        mailer.close()
    recipients = sorted(r for m in smtp_server.messages for r in m.rcpt_tos)
    assert recipients == sorted(emails)


async def test_no_email_starts_after_pause_while_the_sender_runs_free(
    running_bot: RunningBot, make_ctx: Ctx, smtp_server: SmtpServer
) -> None:
    """No held message this time: the pause lands wherever the sender happens to be."""
    sender = make_ctx(**smtp_env(smtp_server, **NO_PACING))
    emails = [f"lead{i}@domain{i}.io" for i in range(400)]
    await asyncio.to_thread(add_leads, sender, *emails)
    await running_bot.say("/run", expect="Campaign")
    mailer = SmtpMailer(sender.smtp_settings())
    sending = asyncio.ensure_future(asyncio.to_thread(run_send_queue, sender, mailer))
    try:
        await asyncio.to_thread(smtp_server.wait_for, 10, 30)
        answer = await running_bot.say("/pause", expect="paused")
        received_at_answer = len(smtp_server.messages)
        report = await asyncio.wait_for(sending, 60)
    finally:
        await asyncio.wait_for(sending, 60)
        mailer.close()

    after_answer = len(smtp_server.messages) - received_at_answer
    assert after_answer <= _in_flight(answer["text"]) <= 1, (answer["text"], after_answer)
    assert report.sent < len(emails), "the run ended before the pause; nothing was tested"
    with sender.db.transaction() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(OutboundMessage)
                .where(OutboundMessage.state == OutboundState.SENDING)
            )
            == 0
        )
