"""Removing a mailbox: it sends and reads nothing more, its rows stay for the history, and its
leads still in their sequence are either stopped or started again from another mailbox.

A restarted lead begins a new thread (``engine.leads.lifecycle.restarted``): back in the new
leads' queue with no mailbox, so whichever mailbox sends next takes it and sends the first step
again; the old thread's emails stay in the lead's history. A lead whose email is being handed to
the server at this very moment is stopped instead: its send finishes, and restarting it too
would send the first step twice at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.errors import UserInputError
from engine.leads import lifecycle
from engine.mailboxes.lookup import MailboxRef, address_of, find, refuse_removed
from engine.states import MailboxSource, MailboxStatus, OutboundState
from engine.storage.models import Lead, Mailbox, OutboundMessage

LeadsChoice = Literal["stop", "restart"]


@dataclass(frozen=True)
class RemovalPreview:
    """What removing a mailbox would touch: its leads still in their sequence."""

    mailbox_id: int
    email: str
    in_sequence: int


@dataclass(frozen=True)
class Removal:
    """What removing a mailbox did to its leads in sequence and to the emails it had queued."""

    email: str
    stopped: int
    restarted: int
    in_flight: int  # being sent at that moment: stopped, not restarted
    cancelled: int  # queued emails (retries) that will not go


def _removable(session: Session, ctx: EngineContext, ref: MailboxRef) -> Mailbox:
    row = find(session, ctx.settings, ref, lock=True)
    refuse_removed(row, ctx.settings)
    if row.source == MailboxSource.ENV:
        raise UserInputError(
            f"{address_of(row, ctx.settings)} is the environment's mailbox and cannot be "
            "removed. To send from another account instead, change EMAIL_ADDRESS and "
            "EMAIL_PASSWORD and restart; /mailbox pause EMAIL stops it sending meanwhile."
        )
    return row


def _in_sequence(mailbox_id: int) -> ColumnElement[bool]:
    return and_(Lead.mailbox_id == mailbox_id, Lead.status.in_(lifecycle.IN_SEQUENCE))


def remove_preview(ctx: EngineContext, ref: MailboxRef) -> RemovalPreview:
    """Whether the mailbox may be removed, and how many of its leads are still in sequence."""
    with ctx.db.transaction() as session:
        row = _removable(session, ctx, ref)
        n = session.scalar(select(func.count()).select_from(Lead).where(_in_sequence(row.id)))
        return RemovalPreview(row.id, row.email, int(n or 0))


def remove(ctx: EngineContext, ref: MailboxRef, leads: LeadsChoice) -> Removal:
    """One transaction: the mailbox is ``removed``, its queued emails cancelled, and its leads
    in sequence stopped or restarted (``leads``)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = _removable(session, ctx, ref)
        row.state, row.hold, row.hold_detail, row.updated_at = (
            MailboxStatus.REMOVED,
            None,
            "",
            now,
        )
        cancelled = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.mailbox_id == row.id,
                OutboundMessage.state == OutboundState.QUEUED,
            )
            .values(state=OutboundState.CANCELLED, error="its mailbox was removed")
        ).rowcount  # type: ignore[attr-defined]
        sending = set(
            session.scalars(
                select(OutboundMessage.lead_id).where(
                    OutboundMessage.mailbox_id == row.id,
                    OutboundMessage.state == OutboundState.SENDING,
                )
            )
        )
        stopped = restarted = in_flight = 0
        for lead in session.scalars(
            select(Lead).where(_in_sequence(row.id)).order_by(Lead.id).with_for_update()
        ):
            if leads == "restart":
                if lead.id not in sending:
                    lifecycle.restarted(lead, now)
                    restarted += 1
                    continue
                in_flight += 1
            lifecycle.stopped(lead)
            lead.last_error = f"stopped: its mailbox {row.email} was removed"
            stopped += 1
        return Removal(row.email, stopped, restarted, in_flight, int(cancelled or 0))
