"""Words for why no email goes right now: the engine reports a ``Hold`` and the plain values its
words need (``engine.sending.pacing.Gate``, ``StatusReport.hold``); /status shows these."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.reasons import Reason
from engine.sending.pacing import DAY_NAMES
from engine.states import BlockReason, Hold, MailboxHold, MailboxStatus, StateReason

Words = Callable[[Mapping[str, Any]], str]

# Why the account is on hold, as stored on the mailbox.
BLOCK_WORDS: dict[BlockReason, str] = {
    BlockReason.TOO_MANY_LOGINS: "the server reported too many logins; backing off",
    BlockReason.QUOTA: "the provider's daily sending quota is used up",
}


# Why the campaign (or a mailbox) was paused or stopped, as stored (engine/reasons.py).
REASON_WORDS: dict[StateReason, Words] = {
    StateReason.ADMIN_PAUSE: lambda d: "paused by an admin",
    StateReason.ADMIN_STOP: lambda d: "stopped by an admin",
    StateReason.LOGIN_FAILED: lambda d: "the mailbox login failed",
    StateReason.CONTENT_BLOCKED: lambda d: "the server rejected our message",
    StateReason.RECIPIENT_STREAK: lambda d: "several recipients were refused in a row",
    StateReason.BOUNCE_RATE: lambda d: f"bounce rate {float(d.get('rate', 0)):.1f}%",
    StateReason.RECORD_FAILED: lambda d: "an email was sent but could not be recorded",
}


def reason_text(stored: str | None) -> str:
    """The words of a stored reason; an older release's sentence is shown as stored."""
    reason = Reason.decode(stored)
    if reason.why is None:
        return reason.stored
    return REASON_WORDS[reason.why](reason.detail)


def _campaign(d: Mapping[str, Any]) -> str:
    text = reason_text(d.get("reason"))
    why = f" ({text})" if text else ""
    return f"campaign is {d['state']}{why}"


def _blocked(d: Mapping[str, Any]) -> str:
    """A ``BlockReason``; a row written by an older release holds a sentence, shown as stored."""
    stored = str(d.get("reason") or "")
    try:
        return BLOCK_WORDS[BlockReason(stored)]
    except ValueError:
        return stored or "sending is on hold"


def window_text(d: Mapping[str, Any]) -> str:
    """A send window as the operator reads it, e.g. ``09:00-17:00 Mon-Fri``."""
    days = sorted(d["days"])
    if days == list(range(7)):
        on = "every day"
    elif days == list(range(5)):
        on = "Mon-Fri"
    else:
        on = ",".join(DAY_NAMES[day].title() for day in days)
    hours = "all day" if d["start"] == d["end"] else f"{d['start']}-{d['end']}"
    return f"{hours} {on}"


# Why a mailbox is paused (``MailboxHold``), after "paused".
MAILBOX_HOLD_WORDS: dict[str, str] = {
    MailboxHold.ADMIN: "by an admin",
    MailboxHold.AUTH: "the server refuses the login",
    MailboxHold.QUOTA: "its sending quota is used up",
    MailboxHold.CONTENT: "the server blocked the content",
    MailboxHold.BOUNCE_RATE: "too many hard bounces",
}


def _mailbox(d: Mapping[str, Any]) -> str:
    if d.get("state") == MailboxStatus.BROKEN:
        return f"mailbox {d['mailbox']} is broken (its password cannot be decrypted)"
    why = MAILBOX_HOLD_WORDS.get(str(d.get("hold") or ""), "")
    return f"mailbox {d['mailbox']} is paused" + (f" ({why})" if why else "")


WORDS: dict[Hold, Words] = {
    Hold.CAMPAIGN_NOT_RUNNING: _campaign,
    Hold.BLOCKED: _blocked,
    Hold.OUTSIDE_WINDOW: lambda d: f"outside the sending window ({window_text(d)}, {d['tz']})",
    Hold.DAILY_CAP: lambda d: f"daily limit reached ({d['sent']}/{d['limit']})",
    Hold.ROLLING_CAP: lambda d: f"{d['sent']} sent in the last 24 hours (limit {d['limit']})",
    Hold.PACING: lambda d: "pacing: waiting between emails",
    Hold.NOTHING_DUE: lambda d: "nothing is due (no pending leads or follow-ups)",
    Hold.BRAKE: lambda d: "the campaign was paused or stopped",
    Hold.MAILBOX_PAUSED: _mailbox,
    Hold.CAMPAIGN_LIMIT: lambda d: (
        f"the campaign's own daily limit is reached ({d['sent']}/{d['limit']}); more tomorrow"
    ),
    Hold.NO_MAILBOX: lambda d: (
        f"none of the campaign's mailboxes ({d['mailboxes']}) exists; change its mailboxes "
        "setting, or add them with /mailbox add"
    ),
}


def hold_text(hold: Hold, detail: Mapping[str, Any]) -> str:
    """Why nothing goes right now, in the words /status shows after "Not sending:"."""
    return WORDS[hold](detail)
