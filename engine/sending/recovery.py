"""Uncertain sends: a ``sending`` row left by a crash may or may not have reached the server.

We look for its Message-ID in the mailbox's Sent folder (found by the ``\\Sent`` special-use flag;
on Gmail, All Mail searched with X-GM-RAW). Found → sent. Not found after a grace period, on a
server known to keep Sent copies → queued again with the SAME Message-ID. On a server that keeps
no copy we take the at-most-once side and wait for the operator's word.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from engine import notify
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.sending.outcomes import mark_message_sent
from engine.states import AlertCondition, OutboundState
from engine.storage import store
from engine.storage.models import OutboundMessage

log = logging.getLogger(__name__)
AVAILABLE, NONE, UNKNOWN = "available", "none", "unknown"


@dataclass(frozen=True)
class UncertainRow:
    id: int
    kind: str
    to_email: str
    subject: str
    error: str | None


def list_uncertain(ctx: EngineContext) -> list[UncertainRow]:
    with ctx.db.transaction() as session:
        rows = session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.state == OutboundState.UNCERTAIN)
            .order_by(OutboundMessage.id)
        )
        return [UncertainRow(r.id, r.kind, r.to_email, r.subject, r.error) for r in rows]


@dataclass(frozen=True)
class Settled:
    """An admin's word on an uncertain email: sent again (same Message-ID) or recorded as sent."""

    to_email: str
    resend: bool


def operator_decides(ctx: EngineContext, outbound_id: int, resend: bool) -> Settled:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = session.get(OutboundMessage, outbound_id, with_for_update=True)
        if row is None or row.state != OutboundState.UNCERTAIN:
            raise UserInputError("That email is no longer waiting for a decision.")
        if resend:
            row.state = OutboundState.QUEUED
            row.not_before = None
            row.error = "resend approved by an admin"
            return Settled(row.to_email, resend=True)
        mark_message_sent(session, store.effective_settings(session, ctx.settings), row, now)
        return Settled(row.to_email, resend=False)


def resolve_uncertain(ctx: EngineContext) -> int:
    """Settle what can be settled by looking at the Sent folder. Returns how many were settled."""
    now = ctx.clock.now()
    grace = timedelta(seconds=ctx.settings.sent_copy_grace_seconds)
    pending, check, probe_id = _pending(ctx, now, grace)
    if not pending:
        return 0
    check, found = _look_in_sent(ctx, pending, check, probe_id)
    return _settle(ctx, now, grace, pending, check, found)


Pending = list[tuple[int, str, datetime | None]]  # (outbound id, Message-ID, attempted at)


def _pending(
    ctx: EngineContext, now: datetime, grace: timedelta
) -> tuple[Pending, str, str | None]:
    """The uncertain rows, what we know of the server's Sent copies, and a message sent long
    enough ago to probe for them."""
    with ctx.db.transaction() as session:
        pending = list(
            session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.state == OutboundState.UNCERTAIN)
                .limit(50)
            )
        )
        check = store.mailbox(session, now).sent_copy_check
        probe = session.scalars(
            select(OutboundMessage)
            .where(
                OutboundMessage.state == OutboundState.SENT, OutboundMessage.sent_at < now - grace
            )
            .order_by(OutboundMessage.sent_at.desc())
            .limit(1)
        ).first()
        pending_ids = [(r.id, r.message_id, r.attempted_at) for r in pending]
        return pending_ids, check, probe.message_id if probe is not None else None


def _look_in_sent(
    ctx: EngineContext, pending: Pending, check: str, probe_id: str | None
) -> tuple[str, dict[int, bool]]:
    """One IMAP session: does the server keep Sent copies, and which pending ones are there?"""
    with ctx.new_mailbox() as mailbox:
        folder = mailbox.sent_folder()
        if folder is None:
            check = NONE
        elif check != AVAILABLE and probe_id is not None:
            check = AVAILABLE if mailbox.has_message_id(folder, probe_id) else NONE
        found = {}
        if folder is not None:
            for oid, mid, _ in pending:
                found[oid] = mailbox.has_message_id(folder, mid)
    return check, found


def _settle(
    ctx: EngineContext,
    now: datetime,
    grace: timedelta,
    pending: Pending,
    check: str,
    found: dict[int, bool],
) -> int:
    settled = 0
    with ctx.db.transaction() as session:
        s = store.effective_settings(session, ctx.settings)
        mb = store.mailbox(session, now, lock=True)
        mb.sent_copy_check = check
        for oid, _, attempted in pending:
            row = session.get(OutboundMessage, oid, with_for_update=True)
            if row is None or row.state != OutboundState.UNCERTAIN:
                continue
            if found.get(oid):
                mark_message_sent(session, s, row, now)
                settled += 1
            elif check == AVAILABLE and attempted is not None and now - attempted > grace:
                row.state = OutboundState.QUEUED
                row.not_before = None
                row.error = (
                    "not found in Sent after a crash; sending again with the same Message-ID"
                )
                settled += 1
        waiting = [
            attempted
            for oid, _, attempted in pending
            if not found.get(oid)
            and (check == NONE or (attempted is not None and now - attempted > grace))
        ]
        if check != AVAILABLE and waiting:
            # No Sent copy to check (or no way yet to tell whether the server keeps one, e.g.
            # the very first email was the uncertain one): at-most-once, ask the operator.
            sent_copies = NONE if check == NONE else UNKNOWN
            notify.revise_alert(
                session, now, AlertCondition.UNCERTAIN, {"sent_copies": sent_copies}
            )
        if not session.scalar(
            select(OutboundMessage.id)
            .where(OutboundMessage.state == OutboundState.UNCERTAIN)
            .limit(1)
        ):
            notify.clear_alert(session, now, AlertCondition.UNCERTAIN, {"by": "settled"})
    return settled
