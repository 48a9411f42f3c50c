"""Notifications reach the admins exactly once: delivery is single-flight in a process (the
outbox job and the reply check share one path) and across deliveries (rows are claimed,
committed, before the Telegram call). Counted at the fake Bot API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.notifier import TelegramNotifier
from engine import campaign
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.delivery import deliver_notifications
from engine.leads import service as leads
from engine.scheduler import Scheduler
from engine.sending.queue import run_send_queue
from engine.states import NoticeKind
from engine.storage.models import Lead, OutboundMessage, PendingNotification
from tests import mailshapes
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, RunningBot
from tests.integration.sendkit import mailbox_ctx, stored_notice

running_bot = bot_harness.running_bot

NAMES = ["ana", "bob", "cleo", "dan", "eve", "finn"]


def address(name: str) -> str:
    return f"{name}@{name}-corp.io"


@pytest.fixture
def mail_ctx(running_bot: RunningBot, make_ctx, dovecot, smtp_server) -> EngineContext:  # type: ignore[no-untyped-def]
    return mailbox_ctx(make_ctx, smtp_server, dovecot, TELEGRAM_API_URL=running_bot.fake.url)


def first_emails(ctx: EngineContext) -> dict[str, str]:
    rows = ["email,first_name"] + [f"{address(n)},{n.title()}" for n in NAMES]
    leads.import_csv(ctx, ("\n".join(rows) + "\n").encode())
    campaign.run(ctx)
    mailer = ctx.new_mailer()
    try:
        assert run_send_queue(ctx, mailer).sent == len(NAMES)
    finally:
        mailer.close()
    with ctx.db.transaction() as session:
        pairs = session.execute(
            select(Lead.email_key, OutboundMessage.message_id).join(
                OutboundMessage, OutboundMessage.lead_id == Lead.id
            )
        ).all()
    return {key.split("@")[0]: str(mid) for key, mid in pairs}


def reply(name: str, our_id: str) -> bytes:
    return mailshapes.threaded_reply(
        address(name),
        "sender@example.com",
        our_id,
        [our_id],
        "Sounds interesting, tell me more.",
        mailshapes.default_original_body(),
        message_id=f"<reply-{name}@mail.gmail.com>",
    )


def reply_notices(bot: RunningBot) -> list[dict]:
    return [r for r in bot.fake.sent(ADMIN) if "Reply from" in (r.get("text") or "")]


async def test_six_replies_over_three_checks_give_six_admin_messages(
    running_bot: RunningBot, mail_ctx: EngineContext, dovecot, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    ids = await asyncio.to_thread(first_emails, mail_ctx)
    engine = Scheduler(mail_ctx, TelegramNotifier(running_bot.app.bot, (ADMIN,)))
    mark = running_bot.fake.mark()
    stop = asyncio.Event()

    async def outbox_job() -> None:  # the 2-second job, as tight as it can run
        while not stop.is_set():
            await engine.notifications_tick()
            await asyncio.sleep(0)

    job = asyncio.create_task(outbox_job())
    try:
        for pair in (NAMES[0:2], NAMES[2:4], NAMES[4:6]):
            for name in pair:
                dovecot.deliver(reply(name, ids[name]))
            clock.advance(timedelta(minutes=5))
            assert await engine.reply_tick()
        await running_bot.fake.wait_for_async(
            lambda r: len(reply_notices(running_bot)) >= len(NAMES), chat_id=ADMIN, after=mark
        )
        await engine.notifications_tick()  # one more pass: nothing is left to send twice
    finally:
        stop.set()
        await job
    texts = [r["text"] for r in running_bot.fake.sent(ADMIN)[mark:]]
    assert len(texts) == len(NAMES), texts
    for name in NAMES:
        assert len([t for t in texts if address(name) in t]) == 1, (name, texts)
    with mail_ctx.db.transaction() as session:
        left = session.scalars(
            select(PendingNotification).where(PendingNotification.delivered_at.is_(None))
        ).all()
    assert left == []


def enqueue(ctx: EngineContext, text: str) -> None:
    with ctx.db.transaction() as session:
        stored_notice(session, ctx.clock.now(), NoticeKind.INFO, text)


async def test_concurrent_deliveries_send_each_notification_once(
    running_bot: RunningBot,
) -> None:
    ctx = running_bot.ctx
    for i in range(3):
        enqueue(ctx, f"note {i}")
    notifier = TelegramNotifier(running_bot.app.bot, (ADMIN,))
    mark = running_bot.fake.mark()
    sent = await asyncio.gather(*(deliver_notifications(ctx, notifier, limit=1) for _ in range(6)))
    assert sum(sent) == 3
    texts = [r["text"] for r in running_bot.fake.sent(ADMIN)[mark:]]
    assert sorted(texts) == ["note 0", "note 1", "note 2"]


async def test_it_leaves_rows_claimed_by_a_live_delivery_alone(running_bot: RunningBot) -> None:
    ctx = running_bot.ctx
    enqueue(ctx, "claimed elsewhere")
    with ctx.db.transaction() as session:
        session.execute(
            update(PendingNotification).values(
                claim_owner="other:1:abc", claim_expires_at=ctx.clock.now() + timedelta(minutes=2)
            )
        )
    notifier = TelegramNotifier(running_bot.app.bot, (ADMIN,))
    mark = running_bot.fake.mark()
    assert await deliver_notifications(ctx, notifier) == 0
    assert running_bot.fake.sent(ADMIN)[mark:] == []


async def test_it_delivers_a_crashed_claimants_rows_once_the_claim_expires(
    running_bot: RunningBot, clock: FakeClock
) -> None:
    ctx = running_bot.ctx
    enqueue(ctx, "left by a crash")
    with ctx.db.transaction() as session:
        session.execute(
            update(PendingNotification).values(
                claim_owner="gone:1:abc", claim_expires_at=ctx.clock.now() + timedelta(seconds=60)
            )
        )
    notifier = TelegramNotifier(running_bot.app.bot, (ADMIN,))
    assert await deliver_notifications(ctx, notifier, claim_ttl=60) == 0
    clock.advance(timedelta(seconds=61))
    mark = running_bot.fake.mark()
    assert await deliver_notifications(ctx, notifier, claim_ttl=60) == 1
    record = await running_bot.fake.wait_for_async("left by a crash", chat_id=ADMIN, after=mark)
    assert record["text"] == "left by a crash"
    with ctx.db.transaction() as session:
        row = session.scalars(select(PendingNotification)).one()
        assert (row.delivered_at is not None, row.claim_owner) == (True, None)


async def test_a_failed_delivery_releases_its_claim_for_the_next_try(
    running_bot: RunningBot,
) -> None:
    ctx = running_bot.ctx
    enqueue(ctx, "try again")
    notifier = TelegramNotifier(running_bot.app.bot, (ADMIN,))
    running_bot.fake.set_unreachable(True)
    try:
        assert await deliver_notifications(ctx, notifier) == 0
    finally:
        running_bot.fake.set_unreachable(False)
    with ctx.db.transaction() as session:
        row = session.scalars(select(PendingNotification)).one()
        assert (row.claim_owner, row.delivered_at, row.attempts) == (None, None, 1)
    assert await deliver_notifications(ctx, notifier) == 1


async def test_a_replica_taking_over_the_lease_mid_delivery_sends_nothing_twice(
    running_bot: RunningBot, make_ctx, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    ids = running_bot.add_leads(*(address(n) for n in NAMES[:3]))
    a_ctx = make_ctx(TELEGRAM_API_URL=running_bot.fake.url)
    b_ctx = make_ctx(TELEGRAM_API_URL=running_bot.fake.url)
    assert a_ctx.owner != b_ctx.owner
    with a_ctx.db.transaction() as session:
        for name, lead_id in zip(NAMES[:3], ids, strict=True):
            stored_notice(
                session,
                clock.now(),
                NoticeKind.REPLY,
                f"💬 Reply from {address(name)}",
                {"lead_id": lead_id},
            )
    a = Scheduler(a_ctx, TelegramNotifier(running_bot.app.bot, (ADMIN,)))
    b = Scheduler(b_ctx, TelegramNotifier(running_bot.app.bot, (ADMIN,)))
    mark = running_bot.fake.mark()
    first = asyncio.create_task(a.notifications_tick())  # three messages, a second apart
    await running_bot.fake.wait_for_async("Reply from", chat_id=ADMIN, after=mark)
    clock.advance(timedelta(seconds=61))  # replica A's lease lapses while it still sends
    await b.notifications_tick()
    await first
    texts = [r["text"] for r in running_bot.fake.sent(ADMIN)[mark:]]
    assert sorted(texts) == sorted(f"💬 Reply from {address(n)}" for n in NAMES[:3])
