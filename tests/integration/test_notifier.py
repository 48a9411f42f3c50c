"""The outbox: notifications written in the engine's transactions reach the admins through the
real Bot API client, grouped, with buttons on replies, and none is lost while Telegram is down."""

from __future__ import annotations

from sqlalchemy import delete, select

from bot.notifier import TelegramNotifier
from engine import notify
from engine.delivery import deliver_notifications
from engine.storage.models import STOPPED_LEAD, Lead, PendingNotification, Suppression
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, RunningBot

running_bot = bot_harness.running_bot


def enqueue(bot: RunningBot, kind: str, text: str, payload: dict | None = None) -> None:
    ctx = bot.ctx
    with ctx.db.transaction() as session:
        notify.enqueue(session, ctx.clock.now(), kind, text, payload)


def undelivered(bot: RunningBot) -> list[PendingNotification]:
    with bot.ctx.db.transaction() as session:
        rows = list(
            session.scalars(
                select(PendingNotification).where(PendingNotification.delivered_at.is_(None))
            )
        )
        session.expunge_all()
        return rows


def notifier(bot: RunningBot) -> TelegramNotifier:
    return TelegramNotifier(bot.app.bot, bot.ctx.settings.admin_ids)


async def deliver(bot: RunningBot) -> int:
    return await deliver_notifications(bot.ctx, notifier(bot))


async def reply_notification(bot: RunningBot, email: str) -> dict:
    """A stored lead replied: the admins get the notification; returns the Telegram record."""
    lead = bot.lead(email)
    assert lead is not None
    enqueue(bot, notify.REPLY, f"💬 {email} replied\n\nThanks!", {"lead_id": lead.id})
    assert await deliver(bot) == 1
    return await bot.fake.wait_for_async(f"{email} replied", chat_id=ADMIN)


async def test_it_delivers_a_queued_notification_to_the_admin(running_bot: RunningBot) -> None:
    enqueue(running_bot, notify.INFO, "hello operator")
    assert await deliver(running_bot) == 1
    await running_bot.fake.wait_for_async("hello operator", chat_id=ADMIN)
    assert undelivered(running_bot) == []


async def test_it_keeps_notifications_while_telegram_is_unreachable(
    running_bot: RunningBot,
) -> None:
    enqueue(running_bot, notify.ALERT, "the account is broken")
    enqueue(running_bot, notify.BOUNCE, "ana@acme.io bounced")
    running_bot.fake.set_unreachable(True)
    try:
        assert await deliver(running_bot) == 0
    finally:
        running_bot.fake.set_unreachable(False)
    rows = undelivered(running_bot)
    assert [r.text for r in rows] == ["the account is broken", "ana@acme.io bounced"]
    assert all(r.attempts == 1 and r.last_error for r in rows)


async def test_it_delivers_kept_notifications_once_telegram_is_back(
    running_bot: RunningBot,
) -> None:
    enqueue(running_bot, notify.ALERT, "the account is broken")
    running_bot.fake.set_unreachable(True)
    try:
        assert await deliver(running_bot) == 0
    finally:
        running_bot.fake.set_unreachable(False)
    assert await deliver(running_bot) == 1
    await running_bot.fake.wait_for_async("the account is broken", chat_id=ADMIN)
    assert undelivered(running_bot) == []


async def test_it_groups_a_burst_of_bounces_into_one_message(running_bot: RunningBot) -> None:
    for i in range(10):
        enqueue(running_bot, notify.BOUNCE, f"📭 lead{i}@acme.io bounced")
    mark = running_bot.fake.mark()
    assert await deliver(running_bot) == 10  # returns once every message was sent
    messages = running_bot.fake.sent(ADMIN)[mark:]
    assert len(messages) == 1
    assert all(f"lead{i}@acme.io" in messages[0]["text"] for i in range(10))


async def test_it_puts_buttons_on_a_reply_notification(running_bot: RunningBot) -> None:
    (lead_id,) = running_bot.add_leads("ana@acme.io")
    record = await reply_notification(running_bot, "ana@acme.io")
    buttons = {b["callback_data"] for row in record["reply_markup"]["inline_keyboard"] for b in row}
    assert buttons == {f"stop:{lead_id}", f"dom:{lead_id}", f"int:{lead_id}", f"notint:{lead_id}"}


async def test_it_stops_a_lead_from_its_reply_notification(running_bot: RunningBot) -> None:
    (lead_id,) = running_bot.add_leads("ana@acme.io")
    record = await reply_notification(running_bot, "ana@acme.io")
    mark = running_bot.fake.mark()
    running_bot.fake.press_button(ADMIN, record, f"stop:{lead_id}")
    await running_bot.fake.wait_for_async("Nothing more will be sent to ana@acme.io", after=mark)
    lead = running_bot.lead("ana@acme.io")
    assert lead is not None
    assert (lead.status, lead.queue, lead.next_send_at) == (STOPPED_LEAD, None, None)


async def test_it_marks_interest_from_a_reply_notification(running_bot: RunningBot) -> None:
    (lead_id,) = running_bot.add_leads("ana@acme.io")
    record = await reply_notification(running_bot, "ana@acme.io")
    mark = running_bot.fake.mark()
    running_bot.fake.press_button(ADMIN, record, f"int:{lead_id}")
    await running_bot.fake.wait_for_async("as interested", after=mark)
    assert running_bot.lead("ana@acme.io").interest == "interested"  # type: ignore[union-attr]
    running_bot.fake.press_button(ADMIN, record, f"notint:{lead_id}")
    await running_bot.fake.wait_for_async("as not interested", after=mark)
    assert running_bot.lead("ana@acme.io").interest == "not interested"  # type: ignore[union-attr]


async def test_it_stops_a_whole_domain_from_a_reply_notification(
    running_bot: RunningBot,
) -> None:
    ana, _, _ = running_bot.add_leads("ana@acme.io", "bob@acme.io", "cleo@beta.io")
    record = await reply_notification(running_bot, "ana@acme.io")
    mark = running_bot.fake.mark()
    running_bot.fake.press_button(ADMIN, record, f"dom:{ana}")
    ask = await running_bot.fake.wait_for_async("Stop everyone at acme.io?", after=mark)
    running_bot.fake.press_button(ADMIN, ask, f"domyes:{ana}")
    await running_bot.fake.wait_for_async("anyone at acme.io (2 lead(s))", after=mark)
    assert running_bot.lead("bob@acme.io").status == STOPPED_LEAD  # type: ignore[union-attr]
    assert running_bot.lead("cleo@beta.io").status == "pending"  # type: ignore[union-attr]
    with running_bot.ctx.db.transaction() as session:
        values = set(session.scalars(select(Suppression.value)))
    assert "acme.io" in values
    running_bot.add_leads("dan@acme.io")
    assert running_bot.lead("dan@acme.io") is None


async def test_it_answers_clearly_when_a_buttons_lead_was_deleted(running_bot: RunningBot) -> None:
    (lead_id,) = running_bot.add_leads("ana@acme.io")
    record = await reply_notification(running_bot, "ana@acme.io")
    with running_bot.ctx.db.transaction() as session:
        session.execute(delete(Lead))
    mark = running_bot.fake.mark()
    running_bot.fake.press_button(ADMIN, record, f"stop:{lead_id}")
    answer = await running_bot.fake.wait_for_async(lambda r: True, chat_id=ADMIN, after=mark)
    assert answer["text"] == "❌ That lead no longer exists."
    assert len(running_bot.fake.calls("answerCallbackQuery")) == 1
