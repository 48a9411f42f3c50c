"""Answering a lead from the chat, through the real PTB Application, the fake Bot API, aiosmtpd
and Dovecot: a reply arrives → its notice has ✍️ Reply → the admin's text → a preview exactly
as it will go → 📨 Send. The lead gets it from its mailbox, in its thread; Send pressed twice
(at once) sends once; Cancel sends nothing; a Telegram reply on the notice works the same; a
paused mailbox holds the draft; a sticker or an empty draft gets a clear answer; a draft
expires after a day."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from sqlalchemy import select

from bot.handlers.hint import HINT
from bot.messages.buttons import LABEL_WORDS, LABELS
from bot.notifier import TelegramNotifier
from engine.delivery import deliver_notifications
from engine.inbox.sync import check_inbox
from engine.leads.service import find_lead
from engine.mailboxes import service as mailboxes
from engine.sending import answers
from engine.states import DraftState, MessageKind
from engine.storage.models import AnswerDraft, InboundMessage, OutboundMessage
from tests.integration.bot_harness import ADMIN, STRANGER, start_application, stop_application
from tests.integration.sendkit import mailbox_ctx
from tests.integration.test_inbox_sync import LEADS, reply, start
from tests.servers import files
from tests.servers.files import FilesServer
from tests.servers.telegram import FakeTelegram
from tests.waiting import wait_until_async

files_server = files.files_server

REPLY_TEXT = "Sounds interesting. Could you send me a price list?"
ANSWER = "Hi Ana,\n\nsure — our price list is attached to this thread next week. Tuesday 10:00?"


class Inbox:
    def __init__(self, ctx: Any, app: Any, fake: FakeTelegram, dovecot: Any, smtp: Any) -> None:
        self.ctx, self.app, self.fake, self.dovecot, self.smtp = ctx, app, fake, dovecot, smtp

    async def notice(self, name: str = "ana") -> tuple[dict, int]:
        """A reply from the lead, read and pushed: the notice and the reply's inbound id."""
        ours = await asyncio.to_thread(start, self.ctx, [name])
        self.dovecot.deliver(reply(name, ours[name], REPLY_TEXT))
        assert (await asyncio.to_thread(check_inbox, self.ctx)).kinds == {"human": 1}
        mark = self.fake.mark()
        await deliver_notifications(self.ctx, TelegramNotifier(self.app.bot, (ADMIN,)))
        notice = await self.fake.wait_for_async("💬 Reply from", chat_id=ADMIN, after=mark)
        data = [
            b["callback_data"] for row in notice["reply_markup"]["inline_keyboard"] for b in row
        ]
        [rpl] = [d for d in data if d.startswith("rpl:")]
        return notice, int(rpl.split(":")[1])

    async def press(self, message: dict, data: str, expect: str, user: int = ADMIN) -> dict:
        mark = self.fake.mark()
        self.fake.press_button(user, message, data)
        return await self.fake.wait_for_async(expect, chat_id=ADMIN, after=mark)

    async def write(self, text: str, expect: str, **kwargs: Any) -> dict:
        mark = self.fake.mark()
        self.fake.send_text(ADMIN, text, **kwargs)
        return await self.fake.wait_for_async(expect, chat_id=ADMIN, after=mark)

    def answers(self, name: str = "ana") -> list[Message]:
        return [
            m.message
            for m in self.smtp.by_recipient(LEADS[name])
            if "price list is attached" in str(m.message.get_body().get_content())
        ]

    def drafts(self) -> list[tuple[str, int | None]]:
        with self.ctx.db.transaction() as session:
            return [(d.state, d.outbound_id) for d in session.scalars(select(AnswerDraft))]


@pytest.fixture
async def inbox(
    fake_telegram: FakeTelegram, make_ctx: Any, dovecot: Any, smtp_server: Any
) -> AsyncIterator[Inbox]:
    ctx = mailbox_ctx(
        make_ctx,
        smtp_server,
        dovecot,
        TELEGRAM_API_URL=fake_telegram.url,
        FOLLOWUP_DELAYS="3d",
        SENDER_NAME="Sam Seller",
        SIGNATURE="Sam Seller\\nAcme Sales",
    )
    app = await start_application(ctx)
    try:
        yield Inbox(ctx, app, fake_telegram, dovecot, smtp_server)
    finally:
        await stop_application(app)


def preview_data(preview: dict) -> tuple[str, str]:
    [[send, cancel]] = preview["reply_markup"]["inline_keyboard"]
    assert send["text"].startswith("📨 Send") and cancel["text"].startswith("✖️ Cancel")
    return send["callback_data"], cancel["callback_data"]


async def test_reply_preview_send_goes_once_from_the_leads_mailbox_in_its_thread(
    inbox: Inbox,
) -> None:
    notice, inbound_id = await inbox.notice()
    [first] = inbox.smtp.by_recipient(LEADS["ana"])  # the campaign's first email
    our_id = first.message["Message-ID"]
    prompt = await inbox.press(notice, f"rpl:{inbound_id}", "✍️ Write your answer")
    assert LEADS["ana"] in prompt["text"] and inbox.dovecot.user in prompt["text"]

    preview = await inbox.write(ANSWER, "📝 Your answer")
    text = preview["text"]
    assert ANSWER in text and "Subject: Re: Quick question" in text
    assert "Sam Seller\nAcme Sales" in text  # the signature
    assert f"> {REPLY_TEXT}" in text  # the reply quoted (ANSWER_QUOTE defaults to on)
    send, _ = preview_data(preview)

    # Pressed twice at once: one email.
    mark = inbox.fake.mark()
    inbox.fake.press_button(ADMIN, preview, send)
    inbox.fake.press_button(ADMIN, preview, send)
    await inbox.fake.wait_for_async("✅ Sent to ana@acme.io", chat_id=ADMIN, after=mark)
    await wait_until_async(
        lambda: len(inbox.fake.calls("answerCallbackQuery")) >= 3, 10, "both presses answered"
    )
    [answer] = inbox.answers()
    assert answer["Subject"] == "Re: Quick question"
    assert answer["In-Reply-To"] == "<reply-ana@mail.gmail.com>"
    assert answer["References"].split() == [our_id, "<reply-ana@mail.gmail.com>"]
    assert email.utils.parseaddr(answer["From"]) == ("Sam Seller", inbox.dovecot.user)
    [sent] = [m for m in inbox.smtp.by_recipient(LEADS["ana"]) if m.message is answer]
    assert sent.login == inbox.dovecot.user  # the lead's own mailbox sent it

    # The preview message itself now says it was sent (edited in place, no buttons).
    edits = [
        c
        for c in inbox.fake.calls("editMessageText")
        if c["params"].get("message_id") == preview["message_id"]
    ]
    assert edits and edits[-1]["params"]["text"].startswith("✅ Sent to ana@acme.io at ")
    assert inbox.drafts() == [(DraftState.SENT, inbox.drafts()[0][1])]

    # Sent again from a stale view (another admin's chat still showing Send): nothing goes.
    again = await asyncio.to_thread(answers.send, inbox.ctx, int(send.split(":")[1]))
    assert again.outcome == answers.Outcome.ALREADY_SENT
    assert len(inbox.answers()) == 1
    # /lead lists it; the lead stays replied (an answer is no step of the sequence).
    view = await asyncio.to_thread(find_lead, inbox.ctx, LEADS["ana"], None)
    assert view.lead.status == "replied"
    assert [m.kind for m in view.outbound].count(MessageKind.ANSWER) == 1


async def test_a_telegram_reply_on_the_notice_is_the_draft_and_cancel_sends_nothing(
    inbox: Inbox,
) -> None:
    notice, _ = await inbox.notice()
    preview = await inbox.write(ANSWER, "📝 Your answer", reply_to=notice)
    assert ANSWER in preview["text"]
    _, cancel = preview_data(preview)
    cancelled = await inbox.press(preview, cancel, "✖️ Cancelled; nothing was sent.")
    assert cancelled["message_id"] == preview["message_id"]  # the preview, edited
    assert not cancelled.get("reply_markup")  # no Send left to press
    assert inbox.answers() == []
    assert [s for s, _ in inbox.drafts()] == [DraftState.CANCELLED]
    # The next plain text is no draft: a hint.
    hint = await inbox.write("hello?", HINT)
    assert "/help" in hint["text"]


async def test_a_paused_mailbox_holds_the_draft_until_it_is_resumed(inbox: Inbox) -> None:
    notice, inbound_id = await inbox.notice()
    await inbox.press(notice, f"rpl:{inbound_id}", "✍️ Write your answer")
    preview = await inbox.write(ANSWER, "📝 Your answer")
    send, _ = preview_data(preview)
    await asyncio.to_thread(mailboxes.pause, inbox.ctx, inbox.dovecot.user)
    held = await inbox.press(preview, send, "⏸ Not sent")
    assert "paused (by an admin)" in held["text"] and inbox.answers() == []
    assert [s for s, _ in inbox.drafts()] == [DraftState.READY]  # kept for later
    await asyncio.to_thread(mailboxes.resume, inbox.ctx, inbox.dovecot.user)
    await inbox.press(held, send, "✅ Sent to ana@acme.io")
    assert len(inbox.answers()) == 1


async def test_stickers_empty_drafts_expiry_and_strangers_are_refused(inbox: Inbox) -> None:
    notice, inbound_id = await inbox.notice()
    rpl = f"rpl:{inbound_id}"
    inbox.fake.press_button(STRANGER, notice, rpl)
    await wait_until_async(
        lambda: any(
            c["params"].get("text") == "Not allowed."
            for c in inbox.fake.calls("answerCallbackQuery")
        ),
        10,
        "the stranger refused",
    )
    assert inbox.drafts() == []
    await inbox.press(notice, rpl, "✍️ Write your answer")
    mark = inbox.fake.mark()
    inbox.fake.send_other(ADMIN, "sticker")
    refused = await inbox.fake.wait_for_async("An answer must be text", chat_id=ADMIN, after=mark)
    assert "✖️ Cancel" in refused["text"]
    inbox.fake.send_other(ADMIN, "voice")
    await inbox.fake.wait_for_async("An answer must be text", chat_id=ADMIN, after=mark + 1)
    assert [s for s, _ in inbox.drafts()] == [DraftState.AWAITING]  # still waiting for text

    preview = await inbox.write(ANSWER, "📝 Your answer")
    send, _ = preview_data(preview)
    inbox.ctx.clock.advance(timedelta(hours=24, seconds=1))
    await inbox.press(preview, send, "⌛ This draft expired")
    assert inbox.answers() == [] and [s for s, _ in inbox.drafts()] == [DraftState.EXPIRED]
    with inbox.ctx.db.transaction() as session:
        assert (
            session.scalars(
                select(OutboundMessage).where(OutboundMessage.kind == MessageKind.ANSWER)
            ).all()
            == []
        )


async def test_the_notice_shows_the_replys_label_and_an_admin_corrects_it(inbox: Inbox) -> None:
    notice, inbound_id = await inbox.notice()
    with inbox.ctx.db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        assert row is not None and row.label is not None and row.label_by is None
        rules_label = row.label
    assert f"🏷 {LABEL_WORDS[rules_label]}" in notice["text"]
    assert inbox.fake.sent(ADMIN)  # the notice carries the change button:
    choice = await inbox.press(notice, f"lbl:{inbound_id}", "Which intent does this reply have?")
    meeting = f"lblset:{inbound_id * 8 + LABELS.index('meeting')}"
    inbox.fake.press_button(STRANGER, choice, meeting)  # a stranger changes nothing
    done = await inbox.press(choice, meeting, "🏷 ana@acme.io's reply is now labelled")
    assert "meeting" in done["text"]
    with inbox.ctx.db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        assert row is not None and (row.label, row.label_by) == ("meeting", ADMIN)
    ana = await asyncio.to_thread(find_lead, inbox.ctx, LEADS["ana"], None)
    assert ana.lead.interest == "meeting"  # /stats counts it as positive


async def test_a_link_in_a_draft_stays_a_draft_and_is_not_downloaded(
    inbox: Inbox, files_server: FilesServer
) -> None:
    notice, inbound_id = await inbox.notice()
    await inbox.press(notice, f"rpl:{inbound_id}", "✍️ Write your answer")
    text = f"Hi Ana, the price list: {files_server.url}/leads.csv — Tuesday 10:00?"
    preview = await inbox.write(text, "📝 Your answer")
    assert text in preview["text"]
    assert files_server.paths == []  # nothing was fetched, nothing imported
    assert [s for s, _ in inbox.drafts()] == [DraftState.READY]
