"""Words for the inbox notifications (see bot/messages/__init__.py): replies, bounces, opt-outs
and held (unverified) messages, and the answer to "Apply anyway"."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import InlineKeyboardMarkup

from bot.messages import Rendered, Renderer
from bot.messages.buttons import LABEL_WORDS, apply_anyway_button, reply_buttons
from engine.inbox.sync import ApplyOutcome, ApplyResult
from engine.notify import Notification
from engine.states import InboundKind, NoticeKind

WOULD_BE = {
    InboundKind.BOUNCE: "a bounce",
    InboundKind.AUTO_REPLY: "an auto-reply",
    InboundKind.OPT_OUT: "an opt-out",
    InboundKind.HUMAN: "a reply",
}


def who(p: dict[str, Any]) -> str:
    """ "Ana Diaz <ana@acme.io> (Acme)", or just the address when there is no name."""
    name, email = str(p.get("name") or ""), str(p.get("email") or "")
    parts = [name or email]
    if name:
        parts.append(f"<{email}>")
    if p.get("company"):
        parts.append(f"({p['company']})")
    return " ".join(parts)


def _rendered(
    text: str,
    *,
    line: str | None = None,
    buttons: InlineKeyboardMarkup | None = None,
    standalone: bool = False,
) -> Rendered:
    return Rendered(text, text if line is None else line, buttons, standalone)


def reply(n: Notification) -> Rendered:
    p = n.payload
    writer = who(p)
    if p.get("writer"):
        writer = f"{p['writer']}, who wrote in the thread with {writer}"
    head = f"💬 Reply from {writer}\nSubject: {p.get('subject') or '(no subject)'}"
    label = str(p["label"]) if p.get("label") else None
    tag = f"\n🏷 {LABEL_WORDS.get(label, label)}" if label is not None else ""
    text = f"{head}{tag}\n\n{p.get('snippet') or ''}"
    if p.get("calendar_queued"):
        text += "\n\n📅 Calendar link queued."
    elif p.get("first") and not p.get("calendar_link_set"):
        text += "\n\n(No CALENDAR_LINK set, so no calendar answer was sent — reply yourself.)"
    lead_id, inbound_id = p.get("lead_id"), p.get("inbound_id")
    buttons = (
        reply_buttons(int(lead_id), int(inbound_id) if inbound_id is not None else None, label)
        if lead_id is not None
        else None
    )
    return _rendered(text, line=head + tag, buttons=buttons, standalone=True)


def bounce(n: Notification) -> Rendered:
    p = n.payload
    if p.get("hard"):
        return _rendered(f"❌ Bounced ({p['status']}): {p['email']} — no more emails to it.")
    return _rendered(f"↩️ Soft bounce ({p['status']}) from {p['email']}; it keeps its place.")


def opt_out(n: Notification) -> Rendered:
    p = n.payload
    writer = who(p)
    if p.get("writer"):
        writer = f"{p['writer']} wrote in the thread with {writer}"
    return _rendered(
        f"🚫 Opt-out: {writer} asked to be removed; {p['email']} is added to the suppression list."
    )


def unverified(n: Notification) -> Rendered:
    p = n.payload
    would_be = WOULD_BE[InboundKind(str(p["would_be"]))]
    text = (
        f"⚠️ unverified sender: {p.get('from_email') or '(no address)'} ({p.get('verdict')}) — "
        f"would be {would_be} for {who(p)}; nothing was changed."
    )
    return _rendered(text, buttons=apply_anyway_button(n.id), standalone=True)


def applied(outcome: ApplyOutcome) -> str:
    """The answer to "Apply anyway"."""
    if outcome.result is ApplyResult.ALREADY_APPLIED:
        return f"Already applied to {outcome.email}."
    return f"✅ Applied: {WOULD_BE[outcome.would_be]} for {outcome.email}."


def _day(iso: str) -> str:
    """ "2027-01-12" → "12 Jan" (the year is the coming one: dates are at most 6 months on)."""
    d = date.fromisoformat(iso)
    return f"{d.day} {d:%b}"


def away(n: Notification) -> Rendered:
    """An out-of-office reply with a return date, as one line of the grouped message."""
    p = n.payload
    name = str(p.get("name") or "").split(" ")[0] or str(p.get("email") or "")
    line = f"🏖 {name} is away until {_day(str(p['until']))}"
    if p.get("moved_to"):
        what = "follow-up" if p.get("followup") else "first email"
        line += f": {what} moved to {_day(str(p['moved_to']))}"
    return _rendered(line + ".")


RENDERERS: dict[str, Renderer] = {
    NoticeKind.REPLY: reply,
    NoticeKind.BOUNCE: bounce,
    NoticeKind.OPT_OUT: opt_out,
    NoticeKind.UNVERIFIED: unverified,
    NoticeKind.AWAY: away,
}
