"""What a lead's next email says: the template's placeholders filled from the lead, and the
threading of a follow-up onto the emails already sent to that lead."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.sending.messages import Outgoing
from engine.states import MessageKind, OutboundState
from engine.storage.models import Lead, OutboundMessage
from engine.unsubscribe.links import unsubscribe_url


def lead_values(lead: Lead, s: Settings) -> dict[str, str]:
    """The values a template's placeholders are filled with for this lead. ``unsubscribe_link``
    is the same link as the List-Unsubscribe header's, when PUBLIC_URL is set (without it a
    CSV column of that name, if any, fills it, like any other column)."""
    values = {str(k): str(v) for k, v in (lead.custom or {}).items()}
    values.update(
        email=lead.email,
        first_name=lead.first_name,
        last_name=lead.last_name,
        company=lead.company,
        sender_name=s.sender_name,
        sender_email=s.email_address,
        calendar_link=s.calendar_link,
    )
    link = unsubscribe_url(s.public_url, s.secret_key, lead.id, lead.campaign_id, lead.email)
    if link is not None:
        values["unsubscribe_link"] = link
    return values


def lead_name(lead: Lead | None) -> str:
    if lead is None:
        return ""
    return " ".join(p for p in (lead.first_name, lead.last_name) if p).strip()


def thread(session: Session, lead_id: int, mailbox_id: int) -> list[str]:
    """The Message-IDs of the sequence's emails already sent to this lead from ``mailbox_id``,
    in step order. A lead restarted from another mailbox (its first mailbox was removed) has a
    new thread there; the old one's emails are not cited."""
    return list(
        session.scalars(
            select(OutboundMessage.message_id)
            .where(
                OutboundMessage.lead_id == lead_id,
                OutboundMessage.mailbox_id == mailbox_id,
                OutboundMessage.state == OutboundState.SENT,
                OutboundMessage.kind.in_((MessageKind.INITIAL, MessageKind.FOLLOWUP)),
            )
            .order_by(OutboundMessage.step)
        )
    )


def outgoing(row: OutboundMessage, to_name: str) -> Outgoing:
    """The stored row as the message the SMTP transport builds."""
    refs = tuple((row.references or "").split())
    return Outgoing(
        message_id=row.message_id,
        to_email=row.to_email,
        to_name=to_name,
        subject=row.subject,
        body=row.body,
        in_reply_to=row.in_reply_to,
        references=refs,
    )
