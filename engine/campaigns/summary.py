"""The midnight summary's lines per campaign."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.states import CampaignState, OutboundState
from engine.storage.models import Campaign, Lead, OutboundMessage


def running_lines(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """With several campaigns, one line per running campaign for the midnight summary: its
    emails sent and its leads' first replies over [start, end). Empty with one campaign (the
    summary reads as it always did)."""
    if (session.scalar(select(func.count()).select_from(Campaign)) or 0) < 2:
        return []
    running = session.execute(
        select(Campaign.id, Campaign.name)
        .where(Campaign.state == CampaignState.RUNNING)
        .order_by(Campaign.id)
    ).all()
    sent = {
        cid: n
        for cid, n in session.execute(
            select(OutboundMessage.campaign_id, func.count())
            .where(
                OutboundMessage.state == OutboundState.SENT,
                OutboundMessage.sent_at >= start,
                OutboundMessage.sent_at < end,
            )
            .group_by(OutboundMessage.campaign_id)
        )
    }
    replies = {
        cid: n
        for cid, n in session.execute(
            select(Lead.campaign_id, func.count())
            .where(Lead.replied_at >= start, Lead.replied_at < end)
            .group_by(Lead.campaign_id)
        )
    }
    return [
        {"name": name, "sent": int(sent.get(cid, 0)), "replies": int(replies.get(cid, 0))}
        for cid, name in running
    ]
