"""Words for the inbox notifications (see bot/messages/__init__.py): replies, bounces, opt-outs
and held (unverified) messages; the answers to "Apply anyway" and to the buttons under a reply
(its full text, "➕ Add" a contact it names, "📅 Send calendar link")."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import InlineKeyboardMarkup

from bot.messages import Rendered, Renderer
from bot.messages.buttons import (
    LABEL_WORDS,
    apply_anyway_button,
    reply_buttons,
    reply_tool_rows,
    with_rows,
)
from engine.inbox.reply_tools import CalendarOutcome, CalendarResult, ReferralOutcome, ReplyText
from engine.inbox.sync import ApplyOutcome, ApplyResult
from engine.leads.service import AddResult
from engine.notify import Notification
from engine.states import CalendarMode, InboundKind, NoticeKind

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
    calendar = _calendar_words(p)
    if calendar:
        text += f"\n\n{calendar}"
    referrals = [str(a) for a in p.get("referrals") or []]
    if referrals:
        text += (
            f"\n\n➕ The reply names {', '.join(referrals)}: ➕ Add makes one a lead of this "
            "campaign."
        )
    lead_id, inbound_id = p.get("lead_id"), p.get("inbound_id")
    buttons = None
    if lead_id is not None:
        inbound = int(inbound_id) if inbound_id is not None else None
        buttons = with_rows(
            reply_buttons(int(lead_id), inbound, label),
            reply_tool_rows(inbound, n.id, referrals, calendar=bool(p.get("calendar_offer"))),
        )
    return _rendered(text, line=head + tag, buttons=buttons, standalone=True)


def _calendar_words(p: dict[str, Any]) -> str:
    """What happened about the calendar answer, by CALENDAR_MODE (a notice stored before the
    mode existed was ``auto``); nothing when it is ``off`` or nothing is to be said."""
    if p.get("calendar_queued"):
        return "📅 Calendar link queued."
    mode = p.get("calendar_mode") or CalendarMode.AUTO
    if mode == CalendarMode.ASK and p.get("calendar_offer"):
        if not p.get("calendar_link_set"):
            return (
                "📅 Not sent: no calendar link is set. Set one with /settings calendar_link "
                "URL, then press 📅 Send calendar link."
            )
        return "📅 Calendar link not sent (calendar_mode ask): press 📅 Send calendar link."
    if mode == CalendarMode.AUTO and p.get("first") and not p.get("calendar_link_set"):
        return "(No CALENDAR_LINK set, so no calendar answer was sent — reply yourself.)"
    return ""


def full_text(reply_text: ReplyText) -> str:
    """ "📄 Full text": who wrote, the subject, then the whole new text (the caller splits it
    into messages)."""
    writer = who(reply_text.lead)
    if reply_text.writer:
        writer = f"{reply_text.writer}, who wrote in the thread with {writer}"
    body = reply_text.text.strip() or "(The reply has no text of its own.)"
    return f"📄 Reply from {writer}\nSubject: {reply_text.subject or '(no subject)'}\n\n{body}"


def referral_added(o: ReferralOutcome) -> str:
    """The answer to "➕ Add ADDRESS as a lead"."""
    a = o.added
    if a.result is AddResult.ADDED:
        return (
            f"➕ Added {a.email} to campaign {a.campaign}, referred by {o.referrer}; its first "
            "email goes like an imported lead's."
        )
    if a.result is AddResult.ALREADY_HERE:
        if a.referred_by and a.referred_by.lower() == o.referrer.lower():
            return f"{a.email} is already added (referred by {o.referrer}); nothing changed."
        return f"{a.email} is already a lead of campaign {a.campaign}; nothing was added."
    if a.result is AddResult.ELSEWHERE:
        why = "it replied or bounced there" if a.answered else "it is in its sequence there"
        return (
            f"{a.email} is a lead of campaign {a.other_campaign} ({why}); nothing was added, "
            "so it gets no second cold email."
        )
    return (
        f"{a.email} is on the suppression list ({a.suppressed}); nothing was added. "
        f"/unsuppress {a.suppressed} first if it should get emails."
    )


def calendar_sent(o: CalendarOutcome) -> str:
    """The answer to "📅 Send calendar link"."""
    if o.result is CalendarResult.ALREADY:
        return f"📅 {o.email} already has the calendar link (queued or sent); nothing changed."
    return f"📅 Calendar link queued for {o.email}, in the reply's thread."


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
