"""Every change of a lead's status, in one place: "who sets a lead to ``replied``?" has one
answer. Callers pass the lead row (locked by them, inside their transaction); these functions
decide the new status from the old one and never touch the database themselves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, update
from sqlalchemy.orm import Session

from engine.states import LeadStatus
from engine.storage.models import QUEUE_FOLLOWUP, QUEUE_NEW, Lead


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


# The statuses in which a lead is still in its sequence (something may be sent to it).
IN_SEQUENCE = (LeadStatus.PENDING, LeadStatus.SENT)


def in_sequence(lead: Lead) -> bool:
    return lead.status in IN_SEQUENCE


def _out_of_queue(lead: Lead) -> None:
    lead.queue = None
    lead.next_send_at = None


def suppressed(lead: Lead, *, whole_domain: bool, why: str) -> None:
    """Found on the suppression list when it came up for sending: an address suppression
    counts as an opt-out, a domain suppression as stopped by the operator."""
    lead.status = LeadStatus.STOPPED if whole_domain else LeadStatus.UNSUBSCRIBED
    lead.last_error = why
    _out_of_queue(lead)


def completed(lead: Lead) -> None:
    """Every step was sent: the sequence ends without an answer."""
    lead.status = LeadStatus.COMPLETED
    _out_of_queue(lead)


def step_sent(lead: Lead, step: int, now: datetime, next_due: datetime | None) -> None:
    """Step ``step`` reached the server. In sequence, the lead waits for the next step
    (``next_due``) or, with none left, is completed; any other status is kept."""
    lead.last_sent_at = now
    lead.followups_sent = max(lead.followups_sent, step)
    lead.next_step = step + 1
    if not in_sequence(lead):
        return
    if next_due is None:
        completed(lead)
        return
    lead.status = LeadStatus.SENT
    lead.queue = QUEUE_FOLLOWUP
    lead.next_send_at = next_due


def rejected_at_rcpt(lead: Lead, why: str) -> LeadStatus:
    """Our own SMTP transaction refused the recipient: a hard bounce. Returns the status it
    had, so that :func:`restore` can undo it when the refusals turn out to be the account's."""
    before = LeadStatus(lead.status)
    lead.status = LeadStatus.BOUNCED
    lead.last_error = why
    _out_of_queue(lead)
    return before


def restore(lead: Lead, status: str) -> None:
    """Undo :func:`rejected_at_rcpt`: the lead keeps its place (its queue is refilled by the
    requeued message)."""
    lead.status = LeadStatus(status)
    lead.last_error = None


def failed(lead: Lead, why: str) -> None:
    """The address cannot be sent to at all."""
    lead.status = LeadStatus.FAILED
    lead.last_error = why[:500]
    _out_of_queue(lead)


def stopped(lead: Lead) -> None:
    """The operator stopped this lead. One that replied or bounced keeps that status."""
    _out_of_queue(lead)
    if in_sequence(lead):
        lead.status = LeadStatus.STOPPED


def restarted(lead: Lead, now: datetime) -> None:
    """The lead's mailbox was removed and the operator chose to start the lead again from
    another one: a new thread from the first step, back in the new leads' queue with no
    mailbox (whichever sends next takes it). The old thread's emails stay in its history."""
    lead.status = LeadStatus.PENDING
    lead.next_step = 0
    lead.followups_sent = 0
    lead.first_subject = None
    lead.mailbox_id = None
    lead.queue = QUEUE_NEW
    lead.next_send_at = now


def stop_domain(session: Session, domain: str) -> None:
    """The operator stopped a whole domain: every lead there leaves the queue, and those still
    in their sequence are stopped (one bulk UPDATE each, not a row at a time)."""
    session.execute(
        update(Lead)
        .where(Lead.domain == domain, Lead.status.in_(IN_SEQUENCE))
        .values(status=LeadStatus.STOPPED, queue=None, next_send_at=None)
    )
    session.execute(update(Lead).where(Lead.domain == domain).values(queue=None, next_send_at=None))


def waiting_for_first_email(campaign_id: int) -> ColumnElement[bool]:
    """The campaign's leads nothing was sent to yet and that no send has claimed (a claimed
    lead leaves the queue until its email is handed over)."""
    return and_(
        Lead.campaign_id == campaign_id,
        Lead.status == LeadStatus.PENDING,
        Lead.queue == QUEUE_NEW,
    )


def no_mail_server(session: Session, campaign_id: int, domain: str, why: str) -> int:
    """/verify found no mail server for ``domain``: the campaign's leads there that are still
    waiting for their first email become ``invalid`` (never written to). One bulk UPDATE; a
    lead claimed meanwhile is left to its send. Returns how many failed."""
    result = session.execute(
        update(Lead)
        .where(waiting_for_first_email(campaign_id), Lead.domain == domain)
        .values(status=LeadStatus.INVALID, last_error=why[:500], queue=None, next_send_at=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
