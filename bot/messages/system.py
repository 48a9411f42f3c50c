"""Words for the system notifications (see bot/messages/__init__.py): standing alerts and their
clearing, the midnight summary, information and errors.

A standing alert's words depend on its condition: each area module (``inbox``, ``sending``,
``system``) may export ``ALERTS`` and ``CLEARS`` tables, condition -> function(payload) -> text;
:func:`alert_text` and :func:`cleared_text` look a condition up across the three. The payload is
the one given to ``engine.notify.raise_alert``/``clear_alert`` (the notification's payload also
carries ``condition``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.messages.stats import campaign_day_line
from engine.notify import Notification
from engine.states import AlertCondition, NoticeKind

if TYPE_CHECKING:
    from bot.messages import Rendered, Renderer

Words = Callable[[dict[str, Any]], str]
_JOBS = (
    AlertCondition.JOB_SEND,
    AlertCondition.JOB_MIDNIGHT,
    AlertCondition.JOB_OUTBOX,
    AlertCondition.JOB_MAINTENANCE,
)


def _imap_failing(p: dict[str, Any]) -> str:
    """The whole reply check failing (one mailbox), or one of several mailboxes (``mailbox``
    is its address)."""
    box = p.get("mailbox")
    check = f"The reply check of {box}" if box else "The reply check"
    replies = f"Replies to {box}" if box else "Replies"
    return (
        f"📭 {check} failed {p.get('failures')} times in a row ({p.get('error')}). "
        f"{replies} are not being read; it keeps retrying."
    )


def _imap_works(p: dict[str, Any]) -> str:
    box = p.get("mailbox")
    return f"📬 The reply check of {box} works again." if box else "📬 The reply check works again."


def _job_failing(p: dict[str, Any]) -> str:
    return (
        f"⚙️ The {p.get('job')} job failed {p.get('failures')} times in a row "
        f"({p.get('error')}). It keeps retrying; see /status."
    )


def _mailboxes_broken(p: dict[str, Any]) -> str:
    names = [str(m) for m in p.get("mailboxes") or []]
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    why = (
        "SECRET_KEY is not the key their passwords were saved with"
        if p.get("secret_key_set")
        else "SECRET_KEY is not set"
    )
    return (
        f"🔐 {len(names)} mailbox(es) cannot send: {shown}. Their stored passwords cannot be "
        f"decrypted: {why}. Set the SECRET_KEY they were saved with and restart, or add each "
        "again with /mailbox add EMAIL PASSWORD. The other mailboxes send as usual."
    )


def _mailboxes_readable(p: dict[str, Any]) -> str:
    names = [str(m) for m in p.get("mailboxes") or []]
    which = f" ({', '.join(names[:10])})" if names else ""
    return f"🔓 Every mailbox's password can be read again{which}."


ALERTS: dict[str, Words] = {
    AlertCondition.IMAP: _imap_failing,
    AlertCondition.MAILBOX_BROKEN: _mailboxes_broken,
    **dict.fromkeys(_JOBS, _job_failing),
}
CLEARS: dict[str, Words] = {
    AlertCondition.IMAP: _imap_works,
    AlertCondition.MAILBOX_BROKEN: _mailboxes_readable,
    **dict.fromkeys(_JOBS, lambda p: f"⚙️ The {p.get('job')} job works again."),
}


def _details(payload: dict[str, Any]) -> str:
    """A payload's fields, short, for words nobody wrote yet."""
    shown = [f"{k}: {str(v)[:100]}" for k, v in payload.items() if k not in ("condition", "event")][
        :6
    ]
    return f" ({', '.join(shown)})" if shown else ""


def _lookup(table: str, condition: str) -> Words | None:
    from bot.messages import inbox, sending

    for module in (inbox, sending):
        words = getattr(module, table, {}).get(condition)
        if words is not None:
            return words
    return (ALERTS if table == "ALERTS" else CLEARS).get(condition)


def _whose(payload: dict[str, Any], text: str) -> str:
    """A condition of one mailbox (with several) names it first, unless its words do."""
    mailbox = payload.get("mailbox")
    return f"📮 {mailbox}: " if mailbox and str(mailbox) not in text else ""


def alert_text(condition: str, payload: dict[str, Any]) -> str:
    """The words of a standing alert; an unknown condition still says which one it is."""
    words = _lookup("ALERTS", condition)
    shown = {k: v for k, v in payload.items() if k != "mailbox"}
    text = words(payload) if words else f"⚠️ Alert: {condition}{_details(shown)}"
    return _whose(payload, text) + text


def cleared_text(condition: str, payload: dict[str, Any]) -> str:
    words = _lookup("CLEARS", condition)
    shown = {k: v for k, v in payload.items() if k != "mailbox"}
    text = words(payload) if words else f"✅ Cleared: {condition}{_details(shown)}"
    return _whose(payload, text) + text


def _plain(text: str) -> Rendered:
    from bot.messages import Rendered

    return Rendered(text=text, line=text)


def _alert(n: Notification) -> Rendered:
    return _plain(alert_text(str(n.payload.get("condition", "")), n.payload))


def _cleared(n: Notification) -> Rendered:
    return _plain(cleared_text(str(n.payload.get("condition", "")), n.payload))


def _summary(n: Notification) -> Rendered:
    p = n.payload
    if "campaigns" not in p:  # one campaign (or a payload from before campaign lines)
        return _plain(
            f"🌙 Yesterday: {p.get('sent', 0)} sent, {p.get('replies', 0)} replies; "
            f"{p.get('bounced', 0)} bounced and {p.get('opted_out', 0)} opted out in total. "
            f"Daily counter reset; campaign is {p.get('campaign')}."
        )
    camps = list(p.get("campaigns") or [])
    lines = [campaign_day_line(c) for c in camps]
    sent = p.get("sent", sum(int(c.get("sent", 0)) for c in camps))
    replies = p.get("replies", sum(int(c.get("replies", 0)) for c in camps))
    text = f"🌙 Yesterday: {sent} sent, {replies} replies. Daily counter reset."
    text += "\n" + "\n".join(lines) if lines else " No campaign is running."
    from bot.messages import Rendered

    return Rendered(text=text, line=text.split("\n", 1)[0])


def _info(n: Notification) -> Rendered:
    return _plain(f"ℹ️ {n.payload.get('event', 'note')}{_details(n.payload)}")


def _error(n: Notification) -> Rendered:
    return _plain(f"❗ {n.payload.get('event', 'error')}{_details(n.payload)}")


RENDERERS: dict[str, Renderer] = {
    NoticeKind.ALERT: _alert,
    NoticeKind.CLEARED: _cleared,
    NoticeKind.SUMMARY: _summary,
    NoticeKind.INFO: _info,
    NoticeKind.ERROR: _error,
}
