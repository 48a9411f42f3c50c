"""Faults kept to one mailbox: a login refused, content blocked, a bounce rate tripped pause THAT
mailbox, with one alert naming it, and the campaign goes on with the others. Only when no other
mailbox can send does the campaign pause as well, with the reason — which is exactly what a
single-mailbox setup always did, so it sees no change.

The environment's mailbox keeps the unscoped alerts it always had; another mailbox's alerts
are scoped ``mailbox:N``, so one mailbox's alert neither hides nor clears another's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.reasons import Reason
from engine.states import CampaignState, MailboxHold, MailboxStatus
from engine.storage import store
from engine.storage.models import PRIMARY_MAILBOX, Campaign, Mailbox

# The holds a fault puts on a mailbox, which an admin's /run says are fixed.
FAULT_HOLDS = (MailboxHold.AUTH, MailboxHold.CONTENT, MailboxHold.BOUNCE_RATE)


def scope_of(mailbox_id: int | None) -> str:
    """The alert scope of a mailbox's condition."""
    return "" if mailbox_id in (None, PRIMARY_MAILBOX) else f"mailbox:{mailbox_id}"


def _others(session: Session, mailbox_id: int) -> int:
    """Mailboxes other than this one that are not removed."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Mailbox)
            .where(Mailbox.id != mailbox_id, Mailbox.state != MailboxStatus.REMOVED)
        )
        or 0
    )


def named(session: Session, mailbox_id: int | None, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with the mailbox's address when there is more than one mailbox (a
    single-mailbox setup's alerts read as they always did)."""
    mid = mailbox_id or PRIMARY_MAILBOX
    if not _others(session, mid):
        return payload
    box = session.get(Mailbox, mid)
    # "The campaign paused too": none runs now, and one is paused (a single campaign's words).
    paused = not store.running_campaigns(session) and bool(
        session.scalar(select(Campaign.id).where(Campaign.state == CampaignState.PAUSED).limit(1))
    )
    return {
        **payload,
        "mailbox": box.email if box is not None else str(mid),
        "primary": mid == PRIMARY_MAILBOX,
        "campaign_paused": paused,
    }


def another_can_send(session: Session, mailbox_id: int | None) -> bool:
    """Is another mailbox active (its leads not yet started can go there)?"""
    mid = mailbox_id or PRIMARY_MAILBOX
    return bool(
        session.scalar(
            select(Mailbox.id)
            .where(Mailbox.id != mid, Mailbox.state == MailboxStatus.ACTIVE)
            .limit(1)
        )
    )


def hold(
    session: Session, now: datetime, mailbox_id: int | None, why: MailboxHold, reason: Reason
) -> bool:
    """Pause the mailbox for ``why``; pause the campaign too (with ``reason``) when no other
    mailbox is active. True if the campaign paused."""
    mid = mailbox_id or PRIMARY_MAILBOX
    # Every mailbox row, locked in id order: two mailboxes failing at once must not each see
    # the other still active (and leave the campaign running with none that can send).
    boxes = {
        b.id: b for b in session.scalars(select(Mailbox).order_by(Mailbox.id).with_for_update())
    }
    box = boxes.get(mid)
    if box is not None and box.state == MailboxStatus.ACTIVE:
        box.state, box.hold, box.hold_detail, box.updated_at = (
            MailboxStatus.PAUSED,
            why,
            reason.encode(),
            now,
        )
    if any(b.state == MailboxStatus.ACTIVE for i, b in boxes.items() if i != mid):
        return False
    store.pause_running(session, now, reason)  # nothing can send: every campaign pauses
    return True


def release_faults(session: Session, now: datetime) -> list[int]:
    """/run: the admin says the causes are fixed; every mailbox a fault paused is active
    again (an admin's own pause stays). The ids released."""
    ids = list(
        session.scalars(
            select(Mailbox.id).where(
                Mailbox.state == MailboxStatus.PAUSED, Mailbox.hold.in_(list(FAULT_HOLDS))
            )
        )
    )
    if ids:
        session.execute(
            update(Mailbox)
            .where(Mailbox.id.in_(ids))
            .values(state=MailboxStatus.ACTIVE, hold=None, hold_detail="", updated_at=now)
        )
    return ids
