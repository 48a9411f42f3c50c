"""The outbox: notifications written in the engine's transactions reach the admins through the
real Bot API client, grouped, with buttons on replies, and none is lost while Telegram is down."""

from __future__ import annotations

from sqlalchemy import delete, select

from bot.notifier import TelegramNotifier
from engine import notify
from engine.delivery import deliver_notifications
from engine.states import AlertCondition, LeadStatus, NoticeKind
from engine.storage.models import Alert, Lead, PendingNotification, Suppression
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, RunningBot
from tests.integration.sendkit import stored_notice

running_bot = bot_harness.running_bot


def enqueue(bot: RunningBot, kind: str, text: str, payload: dict | None = None) -> None:
    ctx = bot.ctx
    with ctx.db.transaction() as session:
        stored_notice(session, ctx.clock.now(), kind, text, payload)


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
    enqueue(bot, NoticeKind.REPLY, f"💬 {email} replied\n\nThanks!", {"lead_id": lead.id})
    assert await deliver(bot) == 1
    return await bot.fake.wait_for_async(f"{email} replied", chat_id=ADMIN)


async def test_it_delivers_a_queued_notification_to_the_admin(running_bot: RunningBot) -> None:
    enqueue(running_bot, NoticeKind.INFO, "hello operator")
    assert await deliver(running_bot) == 1
    await running_bot.fake.wait_for_async("hello operator", chat_id=ADMIN)
    assert undelivered(running_bot) == []


async def test_it_keeps_notifications_while_telegram_is_unreachable(
    running_bot: RunningBot,
) -> None:
    enqueue(running_bot, NoticeKind.ALERT, "the account is broken")
    enqueue(running_bot, NoticeKind.BOUNCE, "ana@acme.io bounced")
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
    enqueue(running_bot, NoticeKind.ALERT, "the account is broken")
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
        enqueue(running_bot, NoticeKind.BOUNCE, f"📭 lead{i}@acme.io bounced")
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
    assert (lead.status, lead.queue, lead.next_send_at) == (LeadStatus.STOPPED, None, None)


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
    assert running_bot.lead("bob@acme.io").status == LeadStatus.STOPPED  # type: ignore[union-attr]
    assert running_bot.lead("cleo@beta.io").status == LeadStatus.PENDING  # type: ignore[union-attr]
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


# --- events, not words: the engine stores a condition and a payload, the bot words it ----------
async def test_it_words_a_structured_alert_and_shows_it_in_status(running_bot: RunningBot) -> None:
    ctx = running_bot.ctx
    with ctx.db.transaction() as session:
        notify.raise_alert(
            session, ctx.clock.now(), AlertCondition.IMAP, {"failures": 3, "error": "EOF"}
        )
    words = (
        "📭 The reply check failed 3 times in a row (EOF). "
        "Replies are not being read; it keeps retrying."
    )

    assert await deliver(running_bot) == 1
    record = await running_bot.fake.wait_for_async("reply check failed", chat_id=ADMIN)
    assert record["text"] == words
    status = await running_bot.say("/status", expect="📊")
    assert f"🔔 {words}" in status["text"].splitlines()


async def test_it_still_shows_an_alert_stored_as_text_by_an_older_release(
    running_bot: RunningBot,
) -> None:
    ctx = running_bot.ctx
    text = "⛔ Sending quota used up.\nmore"
    now = ctx.clock.now()
    with ctx.db.transaction() as session:  # the rows an older release wrote: text, no payload
        session.add(
            Alert(condition="quota", active=True, detail=text, count=1, since=now, updated_at=now)
        )
        stored_notice(session, now, NoticeKind.ALERT, text, {"condition": "quota"})

    assert await deliver(running_bot) == 1
    await running_bot.fake.wait_for_async("⛔ Sending quota used up.\nmore", chat_id=ADMIN)
    status = await running_bot.say("/status", expect="📊")
    assert "🔔 ⛔ Sending quota used up." in status["text"].splitlines()


async def test_it_groups_a_burst_of_replies_but_keeps_an_unverified_notice_apart(
    running_bot: RunningBot,
) -> None:
    ids = running_bot.add_leads(*(f"lead{i}@acme.io" for i in range(6)))
    for i, lead_id in enumerate(ids):
        enqueue(
            running_bot,
            NoticeKind.REPLY,
            f"💬 lead{i}@acme.io replied\n\nbody {i}",
            {"lead_id": lead_id},
        )
    enqueue(running_bot, NoticeKind.UNVERIFIED, "⚠️ unverified sender x@evil.io\n\ndetails")
    mark = running_bot.fake.mark()

    assert await deliver(running_bot) == 7

    messages = running_bot.fake.sent(ADMIN)[mark:]
    assert len(messages) == 2
    held, group = messages
    assert held["text"] == "⚠️ unverified sender x@evil.io\n\ndetails"
    (button,) = [b for row in held["reply_markup"]["inline_keyboard"] for b in row]
    assert button["callback_data"].startswith("apply:")
    assert group["text"] == "\n\n".join(f"💬 lead{i}@acme.io replied" for i in range(6))
    assert group.get("reply_markup") is None


def emit_reply(bot: RunningBot, lead_id: int, email: str, snippet: str) -> None:
    with bot.ctx.db.transaction() as session:
        notify.emit(
            session,
            bot.ctx.clock.now(),
            NoticeKind.REPLY,
            {
                "lead_id": lead_id,
                "email": email,
                "name": "",
                "company": "",
                "domain": email.split("@")[1],
                "first": False,
                "writer": None,
                "subject": "Re: Quick question",
                "snippet": snippet,
                "calendar_queued": False,
                "calendar_link_set": True,
            },
        )


async def test_it_words_a_structured_reply_and_puts_its_buttons_on_it(
    running_bot: RunningBot,
) -> None:
    (lead_id,) = running_bot.add_leads("ana@acme.io")
    emit_reply(running_bot, lead_id, "ana@acme.io", "Sounds good")
    assert await deliver(running_bot) == 1
    record = await running_bot.fake.wait_for_async("Sounds good", chat_id=ADMIN)
    assert record["text"] == "💬 Reply from ana@acme.io\nSubject: Re: Quick question\n\nSounds good"
    buttons = {b["callback_data"] for row in record["reply_markup"]["inline_keyboard"] for b in row}
    assert buttons == {f"stop:{lead_id}", f"dom:{lead_id}", f"int:{lead_id}", f"notint:{lead_id}"}


async def test_a_burst_of_structured_replies_is_grouped_by_their_first_lines(
    running_bot: RunningBot,
) -> None:
    emails = [f"lead{i}@acme.io" for i in range(6)]
    ids = running_bot.add_leads(*emails)
    for lead_id, email in zip(ids, emails, strict=True):
        emit_reply(running_bot, lead_id, email, f"snippet of {email}")
    assert await deliver(running_bot) == 6
    record = await running_bot.fake.wait_for_async("lead5@acme.io", chat_id=ADMIN)
    assert all(f"💬 Reply from {e}\nSubject: Re: Quick question" in record["text"] for e in emails)
    assert "snippet of" not in record["text"]
