"""The buttons under a reply notification that act on the reply itself, through the real bot
and the fake Bot API, on SQLite and PostgreSQL: 📄 Full text, ➕ Add a contact the reply names,
and 📅 Send calendar link with CALENDAR_MODE=ask (and what auto and off do).

Mail flows for real: the first emails go through aiosmtpd, replies are delivered into Dovecot
and read by ``check_inbox``, and the calendar answer a button queues is sent to aiosmtpd.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from bot.notifier import TelegramNotifier
from bot.textsplit import units
from engine import campaign
from engine.campaigns import registry
from engine.context import EngineContext
from engine.delivery import deliver_notifications
from engine.inbox.sync import check_inbox
from engine.leads import service as leads
from engine.sending.queue import run_send_queue
from engine.storage import store
from engine.storage.models import (
    CALENDAR_STEP,
    DEFAULT_CAMPAIGN,
    InboundMessage,
    Lead,
    OutboundMessage,
    PendingNotification,
)
from tests import mailshapes
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, STRANGER, RunningBot
from tests.integration.sendkit import mailbox_ctx
from tests.waiting import handlers_idle, wait_until_async

running_bot = bot_harness.running_bot

ANA = "ana@acme.io"
CALENDAR_LINK = "https://cal.example.com/sam"


@pytest.fixture
def inbox(make_ctx, dovecot, smtp_server) -> EngineContext:  # type: ignore[no-untyped-def]
    """The engine's side: sends through aiosmtpd and reads Dovecot, on the bot's database."""
    return mailbox_ctx(make_ctx, smtp_server, dovecot, CALENDAR_LINK=CALENDAR_LINK)


def start(ctx: EngineContext, rows: str, campaign_id: int = DEFAULT_CAMPAIGN) -> dict[str, str]:
    """Import ``rows`` (email,first_name,company lines) into the campaign, run it and send the
    first emails; address -> the Message-ID we sent it."""
    data = f"email,first_name,company\n{rows}".encode()
    report = leads.import_csv(ctx, data, campaign_id=campaign_id)
    campaign.run(ctx, campaign_id)
    assert send_all(ctx) == report.imported
    with ctx.db.transaction() as session:
        return {
            email: str(mid)
            for email, mid in session.execute(
                select(Lead.email_key, OutboundMessage.message_id)
                .join(OutboundMessage, OutboundMessage.lead_id == Lead.id)
                .where(OutboundMessage.step == 0, Lead.campaign_id == campaign_id)
            )
        }


def send_all(ctx: EngineContext) -> int:
    mailer = ctx.new_mailer()
    try:
        return run_send_queue(ctx, mailer).sent
    finally:
        mailer.close()


def reply(
    ctx: EngineContext, dovecot: Any, sender: str, ours: str, body: str, message_id: str
) -> None:
    """``sender`` answers our email ``ours`` (Gmail-style, our email quoted); one reply check."""
    dovecot.deliver(
        mailshapes.threaded_reply(
            sender,
            dovecot.user,
            ours,
            [ours],
            body,
            mailshapes.default_original_body(),
            message_id=message_id,
        )
    )
    assert check_inbox(ctx).kinds == {"human": 1}


async def notice(bot: RunningBot, sender: str) -> dict:
    """The reply notification for ``sender``, delivered to the admin."""
    mark = bot.fake.mark()
    await deliver_notifications(bot.ctx, TelegramNotifier(bot.app.bot, (ADMIN,)))
    return await bot.fake.wait_for_async(
        lambda m: "Reply from" in (m.get("text") or "") and sender in m["text"],
        chat_id=ADMIN,
        after=mark,
    )


def buttons(record: dict) -> dict[str, str]:
    """Button text -> callback data."""
    return {
        b["text"]: b["callback_data"]
        for row in record["reply_markup"]["inline_keyboard"]
        for b in row
    }


def button(record: dict, starts: str) -> str:
    [data] = [d for text, d in buttons(record).items() if text.startswith(starts)]
    return data


async def press(
    bot: RunningBot, record: dict, data: str, expect: str | Callable[[dict], bool]
) -> dict:
    mark = bot.fake.mark()
    bot.fake.press_button(ADMIN, record, data)
    return await bot.fake.wait_for_async(expect, chat_id=ADMIN, after=mark)


def count(ctx: EngineContext, model: type, *where: object) -> int:
    with ctx.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def calendar_rows(ctx: EngineContext) -> list[OutboundMessage]:
    with ctx.db.transaction() as session:
        rows = list(
            session.scalars(select(OutboundMessage).where(OutboundMessage.step == CALENDAR_STEP))
        )
        session.expunge_all()
        return rows


def find_lead(ctx: EngineContext, email: str) -> Lead | None:
    with ctx.db.transaction() as session:
        row = session.scalars(select(Lead).where(Lead.email_key == email)).first()
        if row is not None:
            session.expunge(row)
        return row


# --- 📄 Full text ---------------------------------------------------------------------------------


async def test_full_text_shows_a_long_reply_whole_in_several_messages(
    running_bot: RunningBot, inbox: EngineContext, dovecot
) -> None:  # type: ignore[no-untyped-def]
    ours = await asyncio.to_thread(start, inbox, f"{ANA},Ana,Acme\n")
    lines = [
        f"Line {i:03d}: we would like to hear more about the plan, part {i}." for i in range(160)
    ]
    body = "\n".join(lines)
    assert 9_500 < len(body) < 11_000
    await asyncio.to_thread(reply, inbox, dovecot, ANA, ours[ANA], body, "<long@mail.gmail.com>")

    record = await notice(running_bot, ANA)
    assert "📅 Calendar link queued." in record["text"]  # auto, the default: as before
    assert not any(d.startswith("cal:") for d in buttons(record).values())
    mark = running_bot.fake.mark()
    running_bot.fake.press_button(ADMIN, record, button(record, "📄 Full text"))
    await running_bot.fake.wait_for_async(lines[-1], chat_id=ADMIN, after=mark)

    parts = [m["text"] for m in running_bot.fake.sent(ADMIN)[mark:]]
    assert len(parts) >= 3
    assert all(units(p) <= 4096 for p in parts)
    assert parts[0].startswith(
        "📄 Reply from Ana <ana@acme.io> (Acme)\nSubject: Re: Quick question"
    )
    shown = "\n".join(parts).splitlines()
    assert [ln for ln in shown if ln.startswith("Line ")] == lines
    whole = "\n".join(parts)
    assert "wrote:" not in whole and "I noticed Acme is hiring" not in whole  # the quote


async def test_full_text_of_a_reply_no_longer_stored_says_so(
    running_bot: RunningBot, inbox: EngineContext, dovecot
) -> None:  # type: ignore[no-untyped-def]
    ours = await asyncio.to_thread(start, inbox, f"{ANA},Ana,Acme\n")
    await asyncio.to_thread(reply, inbox, dovecot, ANA, ours[ANA], "Tell me more.", "<r@x.io>")
    record = await notice(running_bot, ANA)
    with inbox.db.transaction() as session:
        session.execute(delete(InboundMessage))

    await press(
        running_bot, record, button(record, "📄 Full text"), "That reply is no longer stored"
    )


# --- ➕ Add a contact the reply names ---------------------------------------------------------------


async def test_add_makes_a_named_address_a_lead_of_the_repliers_campaign_once(
    running_bot: RunningBot, inbox: EngineContext, dovecot, clock
) -> None:  # type: ignore[no-untyped-def]
    saas = registry.create(inbox, None, "saas")
    ours = await asyncio.to_thread(start, inbox, f"{ANA},Ana,Acme\n", saas.id)
    body = (
        "Hi Sam,\n\nI'm not the right person: maria.lopez@acme.io runs purchasing.\n\n"
        "Best,\nAna\nana.private@acme.io\nT: +1 555 123 4567 | info@acme.io"
    )
    await asyncio.to_thread(reply, inbox, dovecot, ANA, ours[ANA], body, "<ref@mail.gmail.com>")

    record = await notice(running_bot, ANA)
    adds = [t for t in buttons(record) if t.startswith("➕ Add")]
    assert adds == ["➕ Add maria.lopez@acme.io as a lead"]
    data = button(record, "➕ Add")
    await press(running_bot, record, data, "➕ Added maria.lopez@acme.io to campaign saas")

    maria = find_lead(inbox, "maria.lopez@acme.io")
    assert maria is not None
    assert (maria.campaign_id, maria.referred_by, maria.company) == (saas.id, ANA, "Acme")
    assert (maria.first_name, maria.last_name, maria.status) == ("Maria", "Lopez", "pending")
    assert maria.next_send_at == clock.now()  # due now: the campaign has no send window

    await press(running_bot, record, data, "maria.lopez@acme.io is already added")
    assert count(inbox, Lead, Lead.email_key == "maria.lopez@acme.io") == 1


async def test_add_refuses_a_suppressed_address_one_held_elsewhere_and_one_already_here(
    running_bot: RunningBot, inbox: EngineContext, dovecot
) -> None:  # type: ignore[no-untyped-def]
    ours = await asyncio.to_thread(start, inbox, f"{ANA},Ana,Acme\nlee@acme.io,Lee,Acme\n")
    other = registry.create(inbox, None, "other")
    leads.import_csv(inbox, b"email\nkim@gamma.io\n", campaign_id=other.id)
    with inbox.db.transaction() as session:
        store.suppress(session, inbox.clock.now(), "bob@beta.io", "email", "asked to be removed")
    body = "Hi,\nTry bob@beta.io, kim@gamma.io or lee@acme.io.\n"
    await asyncio.to_thread(reply, inbox, dovecot, ANA, ours[ANA], body, "<refs@mail.gmail.com>")
    record = await notice(running_bot, ANA)
    by_address = {t.split()[2]: d for t, d in buttons(record).items() if t.startswith("➕ Add")}
    assert set(by_address) == {"bob@beta.io", "kim@gamma.io", "lee@acme.io"}
    before = count(inbox, Lead)

    await press(
        running_bot,
        record,
        by_address["bob@beta.io"],
        "bob@beta.io is on the suppression list (bob@beta.io); nothing was added.",
    )
    await press(
        running_bot, record, by_address["kim@gamma.io"], "kim@gamma.io is a lead of campaign other"
    )
    await press(
        running_bot,
        record,
        by_address["lee@acme.io"],
        "lee@acme.io is already a lead of campaign default; nothing was added.",
    )
    assert count(inbox, Lead) == before


async def test_add_refuses_an_address_the_stored_reply_does_not_name(
    running_bot: RunningBot, inbox: EngineContext, dovecot
) -> None:  # type: ignore[no-untyped-def]
    ours = await asyncio.to_thread(start, inbox, f"{ANA},Ana,Acme\n")
    body = "Hi,\nplease ask maria.lopez@acme.io.\n"
    await asyncio.to_thread(reply, inbox, dovecot, ANA, ours[ANA], body, "<forged@x.io>")
    record = await notice(running_bot, ANA)
    with inbox.db.transaction() as session:  # the notice's list no longer matches the reply
        item = session.scalars(
            select(PendingNotification).where(PendingNotification.kind == "reply")
        ).one()
        item.payload = {**item.payload, "referrals": ["evil@attacker.io"]}

    await press(
        running_bot,
        record,
        button(record, "➕ Add"),
        "evil@attacker.io is not among the new contacts that reply names now",
    )
    assert find_lead(inbox, "evil@attacker.io") is None
    assert find_lead(inbox, "maria.lopez@acme.io") is None


# --- 📅 CALENDAR_MODE --------------------------------------------------------------------------


async def test_ask_queues_nothing_until_the_button_then_one_answer_in_the_reply_thread(
    running_bot: RunningBot, inbox: EngineContext, dovecot, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    await running_bot.say("/settings calendar_mode ask", expect="calendar_mode is now ask")
    ours = await asyncio.to_thread(start, inbox, f"{ANA},Ana,Acme\n")
    await asyncio.to_thread(
        reply, inbox, dovecot, ANA, ours[ANA], "Sounds good, send times.", "<ask@mail.gmail.com>"
    )
    assert calendar_rows(inbox) == []

    record = await notice(running_bot, ANA)
    assert "press 📅 Send calendar link" in record["text"]
    data = button(record, "📅 Send calendar link")
    # Two presses at once: one queues, the other finds it queued.
    mark = running_bot.fake.mark()
    running_bot.fake.press_button(ADMIN, record, data)
    running_bot.fake.press_button(ADMIN, record, data)
    await running_bot.fake.wait_for_async(
        "📅 Calendar link queued for ana@acme.io", chat_id=ADMIN, after=mark
    )
    await running_bot.fake.wait_for_async(
        "📅 ana@acme.io already has the calendar link", chat_id=ADMIN, after=mark
    )
    await press(running_bot, record, data, "📅 ana@acme.io already has the calendar link")
    [row] = calendar_rows(inbox)
    assert row.in_reply_to == "<ask@mail.gmail.com>"

    assert await asyncio.to_thread(send_all, inbox) == 1
    [first, answer] = smtp_server.by_recipient(ANA)
    assert answer.message["In-Reply-To"] == "<ask@mail.gmail.com>"
    assert answer.message["References"].split() == [ours[ANA], "<ask@mail.gmail.com>"]
    assert CALENDAR_LINK in answer.message.get_body(("plain",)).get_content()


async def test_ask_without_a_calendar_link_says_to_set_one(
    running_bot: RunningBot, inbox: EngineContext, dovecot
) -> None:  # type: ignore[no-untyped-def]
    campaign.change_setting(inbox, "calendar_mode", "ask")
    campaign.change_setting(inbox, "calendar_link", "")
    ours = await asyncio.to_thread(start, inbox, f"{ANA},Ana,Acme\n")
    await asyncio.to_thread(reply, inbox, dovecot, ANA, ours[ANA], "Interested.", "<nl@x.io>")

    record = await notice(running_bot, ANA)
    assert "no calendar link is set" in record["text"]
    await press(
        running_bot,
        record,
        button(record, "📅 Send calendar link"),
        lambda m: (
            "No calendar link is set for campaign default" in (m.get("text") or "")
            and "/settings calendar_link" in m["text"]
        ),
    )
    assert calendar_rows(inbox) == []


async def test_off_never_queues_the_calendar_answer_nor_offers_it(
    running_bot: RunningBot, inbox: EngineContext, dovecot
) -> None:  # type: ignore[no-untyped-def]
    await running_bot.say("/settings calendar_mode off", expect="calendar_mode is now off")
    ours = await asyncio.to_thread(start, inbox, f"{ANA},Ana,Acme\n")
    await asyncio.to_thread(reply, inbox, dovecot, ANA, ours[ANA], "Interested!", "<off@x.io>")

    record = await notice(running_bot, ANA)
    assert "📅" not in record["text"] and "calendar" not in record["text"].lower()
    assert not any(d.startswith("cal:") for d in buttons(record).values())
    assert calendar_rows(inbox) == []


# --- strangers ---------------------------------------------------------------------------------


async def test_a_stranger_pressing_the_reply_buttons_gets_nothing(
    running_bot: RunningBot, inbox: EngineContext, dovecot, clock
) -> None:  # type: ignore[no-untyped-def]
    campaign.change_setting(inbox, "calendar_mode", "ask")
    ours = await asyncio.to_thread(start, inbox, f"{ANA},Ana,Acme\n")
    body = "Hi,\nplease ask maria.lopez@acme.io.\n"
    await asyncio.to_thread(reply, inbox, dovecot, ANA, ours[ANA], body, "<str@x.io>")
    record = await notice(running_bot, ANA)
    leads_before = count(inbox, Lead)
    sent_before = len(running_bot.fake.sent())

    for i, start_of in enumerate(("📄 Full text", "➕ Add", "📅 Send calendar link")):
        clock.advance(timedelta(seconds=61))  # past the refusal limit: every press is answered
        running_bot.fake.press_button(STRANGER, record, button(record, start_of), chat_id=ADMIN)
        await wait_until_async(
            lambda n=i + 1: len(running_bot.fake.calls("answerCallbackQuery")) >= n,
            10,
            "the refusal",
        )
    await wait_until_async(lambda: handlers_idle(running_bot.app), 10, "the handlers to finish")

    answers = [a["params"].get("text") for a in running_bot.fake.calls("answerCallbackQuery")]
    assert answers == ["Not allowed."] * 3
    assert count(inbox, Lead) == leads_before
    assert calendar_rows(inbox) == []
    assert len(running_bot.fake.sent()) == sent_before  # no text, no answer, to anyone
