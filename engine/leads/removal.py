"""Taking a lead out of its sequence, in the caller's transaction: its queued emails cancelled,
the same address stopped in every other campaign, and, for an opt-out, the address suppressed.

The inbox (an opt-out reply, a bounce, a human reply) and the one-click unsubscribe link
(``engine.unsubscribe``) both go through here, so "what does unsubscribing do?" has one
answer. Status changes are :mod:`engine.leads.lifecycle`'s; the admins are told by the caller.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.leads import lifecycle
from engine.states import REPLY_KINDS, OutboundState
from engine.storage import store
from engine.storage.models import Lead, OutboundMessage


def cancel_queued(session: Session, lead: Lead, why: str) -> None:
    """The lead leaves its queue, and its sequence's queued emails are cancelled (an answer to
    a reply, already queued, is not: it is checked against the suppression list when sent)."""
    lead.queue = None
    lead.next_send_at = None
    session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.lead_id == lead.id,
            OutboundMessage.state == OutboundState.QUEUED,
            OutboundMessage.kind.not_in(REPLY_KINDS),
        )
        .values(state=OutboundState.CANCELLED, error=why)
    )


def stop_elsewhere(session: Session, lead: Lead, why: str) -> int:
    """The same address in every other campaign leaves its sequence: a reply, an opt-out or a
    hard bounce from an address stops it everywhere. Returns how many leads stopped."""
    others = list(
        session.scalars(
            select(Lead)
            .where(
                Lead.email_key == lead.email_key,
                Lead.id != lead.id,
                Lead.status.in_(lifecycle.IN_SEQUENCE),
            )
            .with_for_update()
        )
    )
    for other in others:
        lifecycle.stopped(other)
        other.last_error = why
        cancel_queued(session, other, why)
    return len(others)


def opt_out(session: Session, now: datetime, lead: Lead, *, reason: str, elsewhere: str) -> bool:
    """The lead asked to be removed: ``unsubscribed`` (a lead that replied stays ``replied``),
    its queued emails cancelled, its address stopped in the other campaigns and put on the
    suppression list with ``reason``. ``elsewhere`` is what the other campaigns' leads record.

    True if anything changed: False means the lead had already been removed this way (its
    address suppressed, nothing queued, no other campaign still writing to it), so a repeated
    request can be answered without telling the admins twice."""
    before = (lead.status, lead.queue)
    lifecycle.opted_out(lead)
    cancel_queued(session, lead, "opted out")
    stopped = stop_elsewhere(session, lead, elsewhere)
    added = store.suppress(session, now, lead.email_key, "email", reason)
    return added or stopped > 0 or before != (lead.status, lead.queue)
