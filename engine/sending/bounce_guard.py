"""Mailbox protection: a high bounce rate burns the sender's reputation, so the campaign pauses
before it does. Hard bounces are counted against the first emails sent in the last 7 days."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine import notify
from engine.config import Settings
from engine.mailboxes import faults
from engine.reasons import Reason
from engine.states import (
    AlertCondition,
    LeadStatus,
    MailboxHold,
    MailboxStatus,
    MessageKind,
    OutboundState,
    StateReason,
)
from engine.storage import store
from engine.storage.models import PRIMARY_MAILBOX, Lead, Mailbox, OutboundMessage

BOUNCE_WINDOW = timedelta(days=7)
MIN_BOUNCES = 5  # below this a rate says nothing yet (1 of 10 is not a trend)


def recent_bounces(
    session: Session, now: datetime, mailbox_id: int | None = None
) -> tuple[int, int]:
    """(hard-bounced leads, first emails attempted) over the last 7 days: from one mailbox, or
    from all with ``mailbox_id=None``.

    Only verified bounces make a lead ``bounced``: a recipient refused in our own SMTP
    transaction (engine.sending.outcomes), or a DSN citing a Message-ID we sent to that lead
    (engine.inbox.sync). A report naming an address but citing none of our messages changes no
    lead, so anyone who knows the sender's address cannot trip this guard."""
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Lead.status == LeadStatus.BOUNCED, 1), else_=0)), 0),
        )
        .select_from(OutboundMessage)
        .join(Lead, Lead.id == OutboundMessage.lead_id)
        .where(
            OutboundMessage.kind == MessageKind.INITIAL,
            OutboundMessage.attempted_at >= now - BOUNCE_WINDOW,
            OutboundMessage.state.in_((OutboundState.SENT, OutboundState.FAILED)),
            *([store.sent_from(mailbox_id)] if mailbox_id is not None else []),
        )
    ).one()
    return int(row[1]), int(row[0])


def guard_bounce_rate(
    session: Session, s: Settings, now: datetime, *, mailbox_id: int = PRIMARY_MAILBOX
) -> bool:
    """After a hard bounce from ``mailbox_id``'s email: pause that mailbox (and the campaign,
    when no other mailbox can send) and tell the admins once, if its bounce rate reached
    MAX_BOUNCE_RATE. Each mailbox is judged on its own first emails. True if it paused."""
    if s.max_bounce_rate <= 0:
        return False
    bounced, sent = recent_bounces(session, now, mailbox_id)
    if bounced < MIN_BOUNCES or not sent or bounced * 100 < s.max_bounce_rate * sent:
        return False
    box = session.get(Mailbox, mailbox_id)
    if not store.running_campaigns(session) or (
        box is not None and box.state != MailboxStatus.ACTIVE
    ):
        return False
    rate = 100 * bounced / sent
    why = Reason.of(StateReason.BOUNCE_RATE, rate=round(rate, 1))
    faults.hold(session, now, mailbox_id, MailboxHold.BOUNCE_RATE, why)
    payload = {"bounced": bounced, "sent": sent, "rate": rate, "limit": s.max_bounce_rate}
    notify.raise_alert(
        session,
        now,
        AlertCondition.BOUNCE_RATE,
        faults.named(session, mailbox_id, payload),
        scope=faults.scope_of(mailbox_id),
    )
    return True
