"""/mailboxes, /mailbox pause|resume|remove|set and the buttons under a mailbox, through the real
Application and the fake Bot API, on SQLite and PostgreSQL: the overview's values, pausing and
resuming, removing with its two questions (stop the leads, or restart them from another mailbox
as new threads), and nothing for a stranger."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from engine import campaign, notify
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.reasons import Reason
from engine.sending.queue import run_send_queue
from engine.sending.smtp import Mailer
from engine.states import (
    AlertCondition,
    LeadStatus,
    MailboxStatus,
    OutboundState,
    StateReason,
)
from engine.storage.models import QUEUE_FOLLOWUP, QUEUE_NEW, Lead, Mailbox, OutboundMessage
from tests.conftest import BASE_ENV
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, STRANGER, RunningBot
from tests.integration.mailboxkit import BOX, KEY, PASSWORD, deleted_ids, mailbox
from tests.mailboxrows import chat_mailbox
from tests.waiting import handlers_idle, wait_until_async

running_bot = bot_harness.running_bot

PRIMARY = BASE_ENV["EMAIL_ADDRESS"]


def store_mailbox(ctx: EngineContext, **values: Any) -> int:
    """A mailbox as /mailbox add stores it (the add itself is tested in test_bot_mailbox_add)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        servers: dict[str, Any] = {
            "smtp_server": "127.0.0.1",
            "smtp_port": 2526,
            "imap_server": "127.0.0.1",
            "imap_port": 1144,
        }
        row = chat_mailbox(BOX, PASSWORD, key=KEY, now=now, **{**servers, **values})
        session.add(row)
        session.flush()
        return row.id


def in_its_thread(bot: RunningBot, mailbox_id: int, *emails: str) -> list[int]:
    """Leads whose first email went from ``mailbox_id`` (sent, waiting for a follow-up)."""
    bot.add_leads(*emails)
    now = bot.ctx.clock.now()
    with bot.ctx.db.transaction() as session:
        leads = list(session.scalars(select(Lead).where(Lead.email.in_(emails))))
        for n, lead in enumerate(leads):
            lead.status, lead.mailbox_id, lead.next_step = LeadStatus.SENT, mailbox_id, 1
            lead.queue, lead.next_send_at, lead.first_subject = QUEUE_FOLLOWUP, now, "Hello"
            session.add(
                OutboundMessage(
                    lead_id=lead.id,
                    kind="initial",
                    step=0,
                    message_id=f"<old{n}@acme.test>",
                    to_email=lead.email,
                    subject="Hello",
                    body="Hi",
                    state=OutboundState.SENT,
                    attempts=1,
                    attempted_at=now,
                    sent_at=now,
                    mailbox_id=mailbox_id,
                    created_at=now,
                )
            )
        return [lead.id for lead in leads]


def buttons(record: dict) -> list[str]:
    markup = record.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def press(bot: RunningBot, record: dict, data: str, expect: str) -> dict:
    mark = bot.fake.mark()
    bot.fake.press_button(ADMIN, record, data)
    return await bot.fake.wait_for_async(expect, chat_id=ADMIN, after=mark)


async def overview(bot: RunningBot, count: int) -> list[dict]:
    """/mailboxes: the header, then one message per mailbox."""
    mark = bot.fake.mark()
    bot.fake.send_text(ADMIN, "/mailboxes")
    await wait_until_async(
        lambda: len(bot.fake.sent(ADMIN)[mark:]) >= count + 1, 10, "/mailboxes answered"
    )
    return bot.fake.sent()[mark : mark + count + 1]


def state(bot: RunningBot, mailbox_id: int) -> tuple[str, str | None]:
    with bot.ctx.db.transaction() as session:
        row = session.get(Mailbox, mailbox_id)
        assert row is not None
        return row.state, row.hold


async def test_it_shows_each_mailbox_with_its_values_and_buttons(running_bot: RunningBot) -> None:
    ctx = running_bot.ctx
    now = ctx.clock.now()
    box = store_mailbox(ctx, ramp_up="5,2", last_check_at=now, ramp_started_at=now)
    lead_ids = in_its_thread(running_bot, box, *(f"l{i}@corp{i}.io" for i in range(4)))
    with ctx.db.transaction() as session:
        session.get(Lead, lead_ids[0]).status = LeadStatus.BOUNCED  # type: ignore[union-attr]

    header, primary, added = await overview(running_bot, 2)

    assert "2 mailbox(es), 2 active" in header["text"]
    assert f"📮 {PRIMARY} (the environment's)" in primary["text"]
    assert "Sent today: 0/500" in primary["text"] and "Ramp-up: off" in primary["text"]
    assert buttons(primary) == ["mbpause:1"]  # the environment's cannot be removed
    text = added["text"]
    assert f"📮 {BOX}\nState: ▶️ active" in text
    assert "Sent today: 4/5 (daily limit 500)" in text
    assert "Ramp-up: day 1" in text
    assert "Bounce rate: 25.0% (1 of 4 first emails, 7 days)" in text
    assert f"Last reply check: {ctx.clock.now():%Y-%m-%d %H:%M}" in text
    assert "Servers: SMTP 127.0.0.1:2526, IMAP 127.0.0.1:1144" in text
    assert buttons(added) == [f"mbpause:{box}", f"mbrm:{box}"]


async def test_it_shows_why_a_fault_paused_a_mailbox_with_a_resume_button(
    running_bot: RunningBot,
) -> None:
    why = Reason.of(StateReason.BOUNCE_RATE, rate=7.5).encode()
    box = store_mailbox(
        running_bot.ctx, state=MailboxStatus.PAUSED, hold="bounce_rate", hold_detail=why
    )

    header, _primary, block = await overview(running_bot, 2)

    assert "2 mailbox(es), 1 active" in header["text"]
    assert "State: ⏸ paused (bounce rate 7.5%)" in block["text"]
    assert buttons(block) == [f"mbresume:{box}", f"mbrm:{box}"]


async def test_pause_and_resume_buttons_change_the_mailbox_and_its_block(
    running_bot: RunningBot,
) -> None:
    box = store_mailbox(running_bot.ctx)
    _header, _primary, block = await overview(running_bot, 2)

    await press(running_bot, block, f"mbpause:{box}", f"⏸ {BOX} paused")
    assert state(running_bot, box) == ("paused", "admin")
    edited = running_bot.fake.wait_for(
        lambda r: r["message_id"] == block["message_id"] and "paused (by an admin)" in r["text"]
    )
    assert buttons(edited) == [f"mbresume:{box}", f"mbrm:{box}"]

    await press(running_bot, edited, f"mbresume:{box}", f"▶️ {BOX} resumed")
    assert state(running_bot, box) == ("active", None)


async def test_resume_by_command_lifts_a_fault_hold_and_says_which(
    running_bot: RunningBot,
) -> None:
    ctx = running_bot.ctx
    box = store_mailbox(ctx, state=MailboxStatus.PAUSED, hold="auth")
    with ctx.db.transaction() as session:
        notify.raise_alert(
            session, ctx.clock.now(), AlertCondition.ACCOUNT, {}, scope=f"mailbox:{box}"
        )

    answer = await running_bot.say(f"/mailbox resume {BOX}")

    assert "resumed: it sends again (it was paused: the server refuses the login)" in answer["text"]
    assert "The campaign is stopped: /run starts sending." in answer["text"]
    assert state(running_bot, box) == ("active", None)
    with ctx.db.transaction() as session:
        assert [a.scope for a in notify.active_alerts(session)] == []
    paused = await running_bot.say(f"/mailbox pause {BOX.upper()}")
    assert "paused" in paused["text"] and state(running_bot, box) == ("paused", "admin")


async def test_remove_asks_twice_and_stops_the_leads_in_sequence(running_bot: RunningBot) -> None:
    box = store_mailbox(running_bot.ctx)
    lead_ids = in_its_thread(running_bot, box, "ana@corp.io", "bob@corp.io")
    _header, _primary, block = await overview(running_bot, 2)

    confirm = await press(running_bot, block, f"mbrm:{box}", f"Remove {BOX}?")
    assert "its 2 lead(s) still in sequence" in confirm["text"]
    assert state(running_bot, box) == ("active", None)
    question = await press(running_bot, confirm, f"mbrmyes:{box}", "2 lead(s) still in sequence")
    assert buttons(question) == [f"mbrmstop:{box}", f"mbrmnew:{box}", f"mbrmno:{box}"]
    await press(running_bot, question, f"mbrmstop:{box}", f"🗑 {BOX} removed")

    assert state(running_bot, box)[0] == "removed"
    for lead_id in lead_ids:
        with running_bot.ctx.db.transaction() as session:
            lead = session.get(Lead, lead_id)
            assert lead is not None
            assert (lead.status, lead.queue, lead.mailbox_id) == ("stopped", None, box)
    _header, primary = await overview(running_bot, 1)
    assert "1 mailbox(es)" in _header["text"]


async def test_remove_by_command_can_restart_the_leads_from_another_mailbox_as_new_threads(
    running_bot: RunningBot, smtp_server: Any, mailers: Callable[[EngineContext], Mailer]
) -> None:
    ctx = running_bot.ctx
    box = store_mailbox(ctx)
    (lead_id,) = in_its_thread(running_bot, box, "ana@corp.io")

    confirm = await running_bot.say(f"/mailbox remove {BOX}", expect=f"Remove {BOX}?")
    question = await press(running_bot, confirm, f"mbrmyes:{box}", "still in sequence")
    done = await press(running_bot, question, f"mbrmnew:{box}", "removed")

    assert "1 lead(s) start again from another mailbox, as new threads" in done["text"]
    with ctx.db.transaction() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        assert (lead.status, lead.next_step, lead.mailbox_id, lead.queue) == (
            "pending",
            0,
            None,
            QUEUE_NEW,
        )
    await asyncio.to_thread(campaign.run, ctx)
    report = await asyncio.to_thread(run_send_queue, ctx, mailers(ctx), max_sends=1)
    assert report.events == ["sent"]
    with ctx.db.transaction() as session:
        rows = list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))
        assert [(r.step, r.mailbox_id, r.state) for r in rows] == [
            (0, box, "sent"),  # the old thread stays in the history
            (0, 1, "sent"),  # a new first email from the environment's mailbox
        ]
        assert rows[1].in_reply_to is None
        assert session.get(Lead, lead_id).mailbox_id == 1  # type: ignore[union-attr]
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ana@corp.io"]]


async def test_remove_of_a_mailbox_without_leads_needs_one_confirmation_and_cancel_keeps_it(
    running_bot: RunningBot,
) -> None:
    box = store_mailbox(running_bot.ctx)
    confirm = await running_bot.say(f"/mailbox remove {BOX}", expect="Remove")
    await press(running_bot, confirm, f"mbrmno:{box}", "Cancelled")
    assert state(running_bot, box)[0] == "active"

    confirm = await running_bot.say(f"/mailbox remove {BOX}", expect="Remove")
    await press(running_bot, confirm, f"mbrmyes:{box}", f"🗑 {BOX} removed")
    assert state(running_bot, box)[0] == "removed"
    again = await running_bot.say(f"/mailbox resume {BOX}")
    assert f"{BOX} was removed. To use it again, add it again" in again["text"]


async def test_the_environments_mailbox_cannot_be_removed(running_bot: RunningBot) -> None:
    answer = await running_bot.say(f"/mailbox remove {PRIMARY}")

    assert "is the environment's mailbox and cannot be removed" in answer["text"]
    assert "change EMAIL_ADDRESS" in answer["text"]
    assert state(running_bot, 1)[0] == "active"


async def test_set_changes_one_value_checked_like_the_environment(
    running_bot: RunningBot,
) -> None:
    box = store_mailbox(running_bot.ctx)

    ok = await running_bot.say(f'/mailbox set {BOX} sender_name "Ana Bell"')
    bad = await running_bot.say(f"/mailbox set {BOX} smtp_port 0")
    env = await running_bot.say(f"/mailbox set {PRIMARY} smtp_port 25")
    limit = await running_bot.say(f"/mailbox set {PRIMARY} daily_limit 40")

    assert ok["text"] == f"✅ {BOX}: sender_name is now Ana Bell."
    assert "smtp_port=0 is out of range; use 1..65535" in bad["text"]
    assert "its servers are SMTP_*/IMAP_* in the environment" in env["text"]
    assert limit["text"] == f"✅ {PRIMARY}: daily_limit is now 40."
    with running_bot.ctx.db.transaction() as session:
        assert session.get(Mailbox, box).sender_name == "Ana Bell"  # type: ignore[union-attr]
        assert session.get(Mailbox, box).smtp_port == 2526  # type: ignore[union-attr]
        assert session.get(Mailbox, 1).daily_limit == 40  # type: ignore[union-attr]


async def test_an_unknown_form_with_a_possible_password_is_deleted(running_bot: RunningBot) -> None:
    mark = running_bot.fake.mark()
    message = running_bot.fake.send_text(ADMIN, f"/mailbox {BOX} {PASSWORD}")
    answer = await running_bot.fake.wait_for_async("Mailboxes:", chat_id=ADMIN, after=mark)

    assert "I deleted your message in case it held a password" in answer["text"]
    assert message["message_id"] in deleted_ids(running_bot)
    help_only = await running_bot.say("/mailbox")
    assert "/mailbox add EMAIL PASSWORD" in help_only["text"]


async def test_a_stranger_pressing_the_mailbox_buttons_gets_nothing_done(
    running_bot: RunningBot,
) -> None:
    box = store_mailbox(running_bot.ctx)
    in_its_thread(running_bot, box, "ana@corp.io")
    fake = running_bot.fake
    prefixes = ("mbpause", "mbresume", "mbrm", "mbrmyes", "mbrmstop", "mbrmnew", "mbrmno")
    data = [f"{p}:{box}" for p in prefixes]
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d)] for d in data])
    await running_bot.app.bot.send_message(STRANGER, "buttons", reply_markup=markup)
    record = await fake.wait_for_async("buttons", chat_id=STRANGER)
    before = (mailbox(running_bot.ctx).state, running_bot.lead("ana@corp.io"))
    clock: FakeClock = running_bot.ctx.clock  # type: ignore[assignment]
    mark = fake.mark()
    for i, d in enumerate(data):
        clock.advance(timedelta(seconds=61))  # past the refusal limit: every press is answered
        fake.press_button(STRANGER, record, d)
        await wait_until_async(
            lambda n=i + 1: len(fake.calls("answerCallbackQuery")) >= n, 10, "the refusal"
        )
    await wait_until_async(lambda: handlers_idle(running_bot.app), 10, "the handlers to finish")

    answers = [a["params"].get("text") for a in fake.calls("answerCallbackQuery")]
    assert answers == ["Not allowed."] * len(data)
    assert fake.sent()[mark:] == []
    lead = running_bot.lead("ana@corp.io")
    assert lead is not None and before[1] is not None
    assert (mailbox(running_bot.ctx).state, lead.status, lead.mailbox_id) == (
        before[0],
        before[1].status,
        box,
    )


@pytest.mark.parametrize("command", ["/mailboxes", f"/mailbox remove {BOX}"])
async def test_a_stranger_gets_no_mailbox_address(running_bot: RunningBot, command: str) -> None:
    store_mailbox(running_bot.ctx)
    running_bot.fake.send_text(STRANGER, command)
    await running_bot.fake.wait_for_async("private bot", chat_id=STRANGER)
    await running_bot.say("/leads", expect="leads")
    await wait_until_async(lambda: handlers_idle(running_bot.app), 10, "the handlers to finish")
    assert BOX not in repr(running_bot.fake.sent(STRANGER))
