"""Words for the sending notifications and alerts (see bot/messages/__init__.py): the engine
sends a condition or kind plus a payload (``engine.sending.outcomes``, ``bounce_guard``,
``recovery``, ``engine.campaign``); the operator reads these sentences."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.messages import Rendered
from engine.states import AlertCondition, NoticeKind

if TYPE_CHECKING:
    from bot.messages import Renderer
    from engine.notify import Notification

Words = Callable[[dict[str, Any]], str]


def _paused(p: dict[str, Any]) -> str:
    """What a fault paused: with one mailbox the campaign; with several that mailbox (and the
    campaign only when no other mailbox can send)."""
    if "mailbox" not in p:
        return "the campaign is paused"
    if p.get("campaign_paused"):
        return "this mailbox is paused, and so is the campaign: no other mailbox can send"
    return "this mailbox is paused; the other mailboxes go on"


def _fix_login(p: dict[str, Any]) -> str:
    if p.get("primary", True):
        return "Check EMAIL_ADDRESS / EMAIL_PASSWORD (for Gmail use an app password), then /run."
    return (
        f"Fix it with /mailbox add {p['mailbox']} NEW_PASSWORD (for Gmail an app password), "
        "then /run."
    )


def _account(p: dict[str, Any]) -> str:
    if p.get("cause") == "recipients":
        return (
            f"⚠️ {p['recipients']} recipients on {p['domains']} different domains were refused "
            f"in a row; that points at the mailbox, not the leads. {_paused(p).capitalize()} "
            f"and those leads keep their place.\nLast server answer: {p['server']}"
        )
    return (
        f"⚠️ The mailbox refused to log in, so {_paused(p)}. No lead was touched.\n"
        f"Server said: {p['server']}\n{_fix_login(p)}"
    )


def _too_many_logins(p: dict[str, Any]) -> str:
    return (
        f"⏳ The mail server reported too many logins; sending waits {p.get('minutes', 15)} "
        "minutes. Is another program using this mailbox?"
    )


def _quota(p: dict[str, Any]) -> str:
    return (
        "⛔ The provider says the daily sending quota is used up. Sending stops for 24 hours "
        f"and resumes by itself; no lead was touched.\nServer said: {p['server']}\n"
        "Consider lowering the daily limit: /settings daily_limit N"
    )


def _content(p: dict[str, Any]) -> str:
    return (
        "🛑 The mail server rejected the message as content or reputation "
        f"(policy/spam), so {_paused(p)}.\nServer said: {p['server']}\n"
        "Review your templates (/templates) and your domain's SPF/DKIM/DMARC, then /run."
    )


def _server_busy(p: dict[str, Any]) -> str:
    return (
        f"⏳ The mail server keeps asking us to try later ({p['times']} times in a "
        f"row). Emails are retried with backoff; nothing is lost.\nServer said: {p['server']}"
    )


def _bounce_rate(p: dict[str, Any]) -> str:
    return (
        f"🛡 {p['bounced']} of the last {p['sent']} first emails bounced ({p['rate']:.1f}%, "
        f"limit {p['limit']:g}%). {_paused(p).capitalize()} to protect your mailbox's reputation. "
        "Clean the list (verify the addresses), then /run. /settings max_bounce_rate changes "
        "the limit."
    )


def _uncertain(p: dict[str, Any]) -> str:
    why = (
        "this mail server keeps no Sent copy to check"
        if p.get("sent_copies") == "none"
        else "it is not yet known whether this mail server keeps Sent copies"
    )
    emails = f"Some emails from {p['mailbox']}" if p.get("mailbox") else "Some emails"
    return (
        f"❔ {emails} may or may not have gone out before a crash, and {why}. "
        "They are NOT resent without your word: see /uncertain."
    )


def _uncertain_settled(p: dict[str, Any]) -> str:
    if p.get("mailbox"):
        return f"✅ No email from {p['mailbox']} has an unknown delivery now."
    return "✅ No email has an unknown delivery now."


def _record_failed(p: dict[str, Any]) -> str:
    n, why = p["count"], p["error"]
    shown = ", ".join(p.get("emails", [])) + (f" and {p['more']} more" if p.get("more") else "")
    head = f"🚨 {n} email(s) were accepted by the mail server but could not be recorded"
    if p.get("cause") == "unreachable":
        return (
            f"{head} because the database was unreachable ({why}): {shown}. They are settled "
            "from the Sent folder once it is back (see /uncertain), not sent again blindly."
        )
    if p.get("cause") == "marked_sent":
        return (
            f"{head} ({why}). They are marked sent and will not be sent again, but their leads "
            f"did not move on ({shown}). The campaign is paused; fix the cause (check "
            "/settings), then /run."
        )
    return (
        f"{head} ({why}): {shown}. They stay 'sending' and are settled from the Sent folder "
        "(see /uncertain), not sent again blindly. The campaign is paused; fix the cause, "
        "then /run."
    )


ALERTS: dict[str, Words] = {
    AlertCondition.ACCOUNT: _account,
    AlertCondition.TOO_MANY_LOGINS: _too_many_logins,
    AlertCondition.QUOTA: _quota,
    AlertCondition.CONTENT: _content,
    AlertCondition.SERVER_BUSY: _server_busy,
    AlertCondition.BOUNCE_RATE: _bounce_rate,
    AlertCondition.UNCERTAIN: _uncertain,
    AlertCondition.RECORD_FAILED: _record_failed,
}

# Cleared by an email the server accepted ({"by": "send"}).
_BY_A_SEND = {
    AlertCondition.ACCOUNT: "Sending works again: the mailbox accepted an email.",
    AlertCondition.SERVER_BUSY: "The mail server is accepting emails again.",
    AlertCondition.QUOTA: "The sending quota is available again: emails are going out.",
    AlertCondition.TOO_MANY_LOGINS: "The mailbox accepts logins again: emails are going out.",
    AlertCondition.RECORD_FAILED: "Sent emails are recorded again.",
}
_BY_ADMIN = "The campaign was resumed by an admin."


def _cleared_by(condition: AlertCondition) -> Words:
    def words(p: dict[str, Any]) -> str:
        if p.get("by") == "admin" or condition not in _BY_A_SEND:
            return _BY_ADMIN
        return _BY_A_SEND[condition]

    return words


CLEARS: dict[str, Words] = {
    **{
        c: _cleared_by(c) for c in (*_BY_A_SEND, AlertCondition.CONTENT, AlertCondition.BOUNCE_RATE)
    },
    AlertCondition.UNCERTAIN: _uncertain_settled,
}


def _bad_address(n: Notification) -> Rendered:
    p = n.payload
    text = f"⚠️ {p['email']!r} cannot be emailed ({p['reason']}); lead marked failed."
    return Rendered(text=text, line=text)


RENDERERS: dict[str, Renderer] = {NoticeKind.BAD_ADDRESS: _bad_address}
