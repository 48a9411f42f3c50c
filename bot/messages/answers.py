"""Words for answers written in the chat: the prompt after ✍️ Reply, the preview with
📨 Send and ✖️ Cancel, and what Send or Cancel came to."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.messages.holds import MAILBOX_HOLD_WORDS
from engine.sending.answers import Outcome, Preview, Prompt, Result
from engine.states import MailboxStatus

NOT_TEXT = (
    "An answer must be text: stickers, photos, voice messages and files cannot be sent as one. "
    "Write your answer as a text message, or press ✖️ Cancel."
)


def _who(name: str, email: str) -> str:
    return f"{name} <{email}>" if name else email


def _when(at: datetime | None, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%d %b %H:%M") if at is not None else "?"


def prompt_text(p: Prompt, tz: ZoneInfo) -> str:
    return (
        f"✍️ Write your answer to {_who(p.to_name, p.to_email)} as your next message.\n"
        f"It goes from {p.from_email}, in their thread ({p.subject}). You will see it before "
        f"it is sent. The draft expires at {_when(p.expires_at, tz)}."
    )


def cancel_only(draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("✖️ Cancel", callback_data=f"dcancel:{draft_id}")]]
    )


def preview_buttons(draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("📨 Send", callback_data=f"dsend:{draft_id}"),
                InlineKeyboardButton("✖️ Cancel", callback_data=f"dcancel:{draft_id}"),
            ]
        ]
    )


def _email(p: Preview) -> str:
    sender = _who(p.from_name, p.from_email)
    return f"From: {sender}\nTo: {_who(p.to_name, p.to_email)}\nSubject: {p.subject}\n\n{p.body}"


def preview_text(p: Preview) -> str:
    """The draft exactly as it will go."""
    return f"📝 Your answer, exactly as it will be sent:\n\n{_email(p)}"


def _held(r: Result) -> str:
    if r.detail == MailboxStatus.BROKEN:
        why = "is broken (its password cannot be decrypted: check SECRET_KEY)"
    elif r.detail == MailboxStatus.REMOVED:
        why = "was removed"
    else:
        words = MAILBOX_HOLD_WORDS.get(r.detail, "")
        why = f"is paused ({words})" if words else "is paused"
    return (
        f"⏸ Not sent: the lead's mailbox {r.mailbox} {why}. Its leads' emails wait, and so does "
        "this draft: resume the mailbox (/mailboxes) and press 📨 Send again."
    )


def result_text(r: Result, tz: ZoneInfo) -> str:
    """What Send or Cancel came to, as the preview message is edited to say."""
    p = r.preview
    email = _email(p)
    if r.outcome in (Outcome.SENT, Outcome.ALREADY_SENT):
        head = f"✅ Sent to {p.to_email} at {_when(p.sent_at, tz)} from {p.from_email}."
        return f"{head}\n\n{email}"
    if r.outcome == Outcome.IN_FLIGHT:
        return (
            "⏳ This answer is being sent (or its outcome is being checked in the Sent folder); "
            f"it goes at most once.\n\n{email}"
        )
    if r.outcome == Outcome.RETRYING:
        return (
            "🔁 The server asked to try later; the answer waits in the send queue and goes "
            f"once the mailbox may send.\n\n{email}"
        )
    if r.outcome == Outcome.FAILED:
        return f"❌ Not sent: the server refused it ({r.detail or 'no reason given'}).\n\n{email}"
    if r.outcome == Outcome.CANCELLED:
        return "✖️ Cancelled; nothing was sent."
    if r.outcome == Outcome.EXPIRED:
        return (
            "⌛ This draft expired (drafts last 24 hours); nothing was sent. Press ✍️ Reply again."
        )
    if r.outcome == Outcome.NO_TEXT:
        return "This draft has no text yet: write your answer as a message first."
    if r.outcome == Outcome.HELD:
        return f"{_held(r)}\n\n{email}"
    return f"🚫 Not sent: {p.to_email} {r.detail}, so it may not be written to.\n\n{email}"


def keeps_buttons(r: Result) -> bool:
    """A draft refused for now (its mailbox paused, the lead suppressed) keeps Send/Cancel."""
    return r.outcome in (Outcome.HELD, Outcome.REFUSED)
