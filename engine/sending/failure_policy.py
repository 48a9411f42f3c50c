"""What to do about a failed send: a table from what the failure means (the ``SendError``
types of ``engine.errors``, decided by ``engine.sending.smtp_errors``) to an action. Pure: deciding
here, writing in ``engine.sending.outcomes.apply_failure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from engine.errors import (
    AccountBroken,
    ContentBlocked,
    QuotaExceeded,
    RecipientRejected,
    SendError,
    TooManyLogins,
    Uncertain,
)
from engine.sending.pacing import ROLLING_WINDOW
from engine.states import AlertCondition, BlockReason, MailboxHold, StateReason

ACCOUNT_BACKOFF = timedelta(minutes=15)
# Recipient errors in a row across this many domains mean the account, not the leads.
RECIPIENT_STREAK = 3
# Retries in a row before the admins hear that the server keeps asking us to wait.
BUSY_ALERT_AFTER = 5


class Action(StrEnum):
    UNCERTAIN = "uncertain"  # the server may have it: settled from the Sent folder, never resent
    PAUSE = "pause"  # the message waits, its mailbox pauses (the campaign too, if it was the last)
    BACK_OFF = "back_off"  # the message waits, the account sends nothing for a while
    BOUNCE = "bounce"  # the recipient is bad: the lead bounces (unless a streak says account)
    RETRY = "retry"  # the same message again later, with backoff; no lead is touched


@dataclass(frozen=True)
class FailureDecision:
    action: Action
    outcome: str  # what the send queue reports (and stops on)
    alert: AlertCondition | None = None
    pause_reason: StateReason | None = None  # why the mailbox (or campaign) paused
    back_off: timedelta | None = None
    block_reason: BlockReason | None = None  # stored on the mailbox, worded in /status
    alert_after: int = 1  # failures in a row before the alert is raised
    mailbox_hold: MailboxHold | None = None  # PAUSE: why the mailbox that failed is paused


# Checked in order; the first type the error is an instance of decides.
POLICY: tuple[tuple[type[SendError], FailureDecision], ...] = (
    (Uncertain, FailureDecision(Action.UNCERTAIN, "uncertain")),
    (
        AccountBroken,
        FailureDecision(
            Action.PAUSE,
            "paused",
            AlertCondition.ACCOUNT,
            StateReason.LOGIN_FAILED,
            mailbox_hold=MailboxHold.AUTH,
        ),
    ),
    (
        TooManyLogins,
        FailureDecision(
            Action.BACK_OFF,
            "backoff",
            AlertCondition.TOO_MANY_LOGINS,
            back_off=ACCOUNT_BACKOFF,
            block_reason=BlockReason.TOO_MANY_LOGINS,
        ),
    ),
    (
        QuotaExceeded,
        FailureDecision(
            Action.BACK_OFF,
            "quota",
            AlertCondition.QUOTA,
            back_off=ROLLING_WINDOW,
            block_reason=BlockReason.QUOTA,
        ),
    ),
    (
        ContentBlocked,
        FailureDecision(
            Action.PAUSE,
            "paused",
            AlertCondition.CONTENT,
            StateReason.CONTENT_BLOCKED,
            mailbox_hold=MailboxHold.CONTENT,
        ),
    ),
    (RecipientRejected, FailureDecision(Action.BOUNCE, "bounced")),
)
# TryLater and anything unexpected.
OTHERWISE = FailureDecision(
    Action.RETRY, "retry", AlertCondition.SERVER_BUSY, alert_after=BUSY_ALERT_AFTER
)
# A streak of refused recipients that points at the account.
STREAK_PAUSE = FailureDecision(
    Action.PAUSE,
    "paused",
    AlertCondition.ACCOUNT,
    StateReason.RECIPIENT_STREAK,
    mailbox_hold=MailboxHold.AUTH,
)


def decide(err: SendError) -> FailureDecision:
    """The action for this failure."""
    for kind, decision in POLICY:
        if isinstance(err, kind):
            return decision
    return OTHERWISE


def streak_points_at_account(streak: Sequence[dict[str, Any]]) -> bool:
    """Recipients refused in a row (oldest first, each with its ``domain``): so many, on so
    many different domains, that the mailbox is the problem and not the leads."""
    domains = {e["domain"] for e in streak}
    return len(streak) >= RECIPIENT_STREAK and len(domains) >= RECIPIENT_STREAK
