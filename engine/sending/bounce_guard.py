"""Mailbox protection: a high bounce rate burns the sender's reputation, so the campaign pauses
before it does. Hard bounces are counted against the first emails sent in the last 7 days."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine import notify
from engine.config import Settings
from engine.states import AlertCondition, CampaignState, LeadStatus, MessageKind, OutboundState
from engine.storage import store
from engine.storage.models import Lead, OutboundMessage

BOUNCE_WINDOW = timedelta(days=7)
MIN_BOUNCES = 5  # below this a rate says nothing yet (1 of 10 is not a trend)


def recent_bounces(session: Session, now: datetime) -> tuple[int, int]:
    """(hard-bounced leads, first emails attempted) over the last 7 days.

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
        )
    ).one()
    return int(row[1]), int(row[0])


def guard_bounce_rate(session: Session, s: Settings, now: datetime) -> bool:
    """After a hard bounce: pause the campaign (and tell the admins once) if the bounce rate
    reached MAX_BOUNCE_RATE. True if it paused."""
    if s.max_bounce_rate <= 0:
        return False
    bounced, sent = recent_bounces(session, now)
    if bounced < MIN_BOUNCES or not sent or bounced * 100 < s.max_bounce_rate * sent:
        return False
    camp = store.campaign(session, now, lock=True)
    if camp.state != CampaignState.RUNNING:
        return False
    rate = 100 * bounced / sent
    store.set_campaign_state(session, now, CampaignState.PAUSED, f"bounce rate {rate:.1f}%")
    notify.raise_alert(
        session,
        now,
        AlertCondition.BOUNCE_RATE,
        {"bounced": bounced, "sent": sent, "rate": rate, "limit": s.max_bounce_rate},
    )
    return True
