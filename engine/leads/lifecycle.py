"""Every change of a lead's status, in one place: "who sets a lead to ``replied``?" has one
answer. Callers pass the lead row (locked by them, inside their transaction); these functions
decide the new status from the old one and never touch the database themselves."""

from __future__ import annotations

from datetime import datetime

from engine.states import LeadStatus
from engine.storage.models import Lead


def bounced(lead: Lead) -> None:
    """A hard bounce. A lead that already answered (or was stopped) keeps that status."""
    if lead.status in (LeadStatus.PENDING, LeadStatus.SENT, LeadStatus.COMPLETED):
        lead.status = LeadStatus.BOUNCED


def opted_out(lead: Lead) -> None:
    """Asked to be removed. A lead that replied first stays ``replied`` (it is still suppressed)."""
    if lead.status != LeadStatus.REPLIED:
        lead.status = LeadStatus.UNSUBSCRIBED


def replied(lead: Lead, now: datetime) -> bool:
    """A human answered. True if this is the lead's first reply (``replied_at`` set now)."""
    first = lead.replied_at is None
    if lead.status != LeadStatus.UNSUBSCRIBED:
        lead.status = LeadStatus.REPLIED
    if first:
        lead.replied_at = now
    return first
