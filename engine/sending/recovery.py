"""Uncertain sends: a ``sending`` row left by a crash may or may not have reached the server.

We look for its Message-ID in the Sent folder of the mailbox it was sent from (found by the
``\\Sent`` special-use flag; on Gmail, All Mail searched with X-GM-RAW); whether a server keeps
Sent copies is learnt per mailbox, from a message that mailbox sent. Found → sent. Not found
after a grace period, on a server known to keep Sent copies → queued again with the SAME
Message-ID. On a server that keeps no copy we take the at-most-once side and wait for the
operator's word (mailbox 1's alert is the service's; another mailbox's is scoped to it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import notify
from engine.context import EngineContext
from engine.errors import AccountBroken, TryLater, UserInputError
from engine.mailboxes import accounts
from engine.mailboxes.accounts import MailboxAccount
from engine.sending.outcomes import mark_message_sent
from engine.states import AlertCondition, OutboundState
from engine.storage import store
from engine.storage.models import PRIMARY_MAILBOX, OutboundMessage

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
    """Settle what can be settled by looking at the Sent folder of the mailbox each email went
    from. Returns how many were settled. A mailbox whose IMAP fails does not hold up the others;
    its error is raised once they are done (with one mailbox: as it always was)."""
    now = ctx.clock.now()
    grace = timedelta(seconds=ctx.settings.sent_copy_grace_seconds)
    settled = 0
    error: AccountBroken | TryLater | None = None
    for box in _pending(ctx, now, grace):
        if box.account is None:
            log.warning("uncertain sends of mailbox %d: it cannot be read", box.mailbox_id)
            continue
        try:
            check, found = _look_in_sent(ctx, box)
        except (AccountBroken, TryLater) as e:
            log.warning("Sent folder of mailbox %d: %s", box.mailbox_id, type(e).__name__)
            error = error or e
            continue
        settled += _settle(ctx, now, grace, box, check, found)
    if error is not None:
        raise error
    return settled


Pending = list[tuple[int, str, datetime | None]]  # (outbound id, Message-ID, attempted at)


@dataclass(frozen=True)
class MailboxPending:
    """One mailbox's uncertain rows, what we know of its server's Sent copies, a message it
    sent long enough ago to probe for them, and its account (None: it cannot be read)."""

    mailbox_id: int
    account: MailboxAccount | None
    pending: Pending
    check: str
    probe_id: str | None

    @property
    def scope(self) -> str:
        """Mailbox 1's alert is the service's, as before mailboxes; the others' are scoped."""
        return "" if self.mailbox_id == PRIMARY_MAILBOX else f"mailbox:{self.mailbox_id}"

    @property
    def named(self) -> dict[str, Any]:
        """What an alert of another mailbox than the first carries to name it."""
        if self.mailbox_id == PRIMARY_MAILBOX or self.account is None:
            return {}
        return {"mailbox": self.account.email, "mailbox_id": self.mailbox_id}


def _pending(ctx: EngineContext, now: datetime, grace: timedelta) -> list[MailboxPending]:
    """The uncertain rows grouped by the mailbox they were sent from (none: mailbox 1)."""
    with ctx.db.transaction() as session:
        rows = session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.state == OutboundState.UNCERTAIN)
            .order_by(OutboundMessage.id)
            .limit(50)
        )
        by_mailbox: dict[int, Pending] = {}
        for r in rows:
            mailbox_id = r.mailbox_id or PRIMARY_MAILBOX
            by_mailbox.setdefault(mailbox_id, []).append((r.id, r.message_id, r.attempted_at))
        if not by_mailbox:
            return []
        s = store.effective_settings(session, ctx.settings)
        found = accounts.load(session, s, ctx.vault)
        boxes = []
        for mailbox_id, pending in sorted(by_mailbox.items()):
            account = found.by_id(mailbox_id)
            if account is None and mailbox_id == PRIMARY_MAILBOX:
                account = accounts.primary(s)  # the environment's account is always there
            check = store.mailbox(session, now, mailbox_id=mailbox_id).sent_copy_check
            probe = session.scalar(
                select(OutboundMessage.message_id)
                .where(
                    store.sent_from(mailbox_id),
                    OutboundMessage.state == OutboundState.SENT,
                    OutboundMessage.sent_at < now - grace,
                )
                .order_by(OutboundMessage.sent_at.desc())
                .limit(1)
            )
            boxes.append(MailboxPending(mailbox_id, account, pending, check, probe))
        return boxes


def _look_in_sent(ctx: EngineContext, box: MailboxPending) -> tuple[str, dict[int, bool]]:
    """One IMAP session: does the server keep Sent copies, and which pending ones are there?"""
    assert box.account is not None
    check = box.check
    with ctx.new_mailbox(box.account.imap) as mailbox:
        folder = mailbox.sent_folder()
        if folder is None:
            check = NONE
        elif check != AVAILABLE and box.probe_id is not None:
            check = AVAILABLE if mailbox.has_message_id(folder, box.probe_id) else NONE
        found = {}
        if folder is not None:
            for oid, mid, _ in box.pending:
                found[oid] = mailbox.has_message_id(folder, mid)
    return check, found


def _settle(
    ctx: EngineContext,
    now: datetime,
    grace: timedelta,
    box: MailboxPending,
    check: str,
    found: dict[int, bool],
) -> int:
    settled = 0
    with ctx.db.transaction() as session:
        s = store.effective_settings(session, ctx.settings)
        mb = store.mailbox(session, now, lock=True, mailbox_id=box.mailbox_id)
        mb.sent_copy_check = check
        for oid, _, attempted in box.pending:
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
            for oid, _, attempted in box.pending
            if not found.get(oid)
            and (check == NONE or (attempted is not None and now - attempted > grace))
        ]
        _tell(session, now, box, check, bool(waiting))
    return settled


def _tell(session: Session, now: datetime, box: MailboxPending, check: str, waiting: bool) -> None:
    """Ask the admins about what waits for their word; tell them once nothing does."""
    if check != AVAILABLE and waiting:
        # No Sent copy to check (or no way yet to tell whether the server keeps one, e.g.
        # the very first email was the uncertain one): at-most-once, ask the operator.
        sent_copies = NONE if check == NONE else UNKNOWN
        notify.revise_alert(
            session,
            now,
            AlertCondition.UNCERTAIN,
            {"sent_copies": sent_copies, **box.named},
            scope=box.scope,
        )
    left = select(OutboundMessage.id).where(
        OutboundMessage.state == OutboundState.UNCERTAIN, store.sent_from(box.mailbox_id)
    )
    if not session.scalar(left.limit(1)):
        notify.clear_alert(
            session, now, AlertCondition.UNCERTAIN, {"by": "settled", **box.named}, scope=box.scope
        )
