"""The reply check: read only what is new in each mailbox's inbox, classify it, act on it.

Every mailbox that is not removed is read (:mod:`engine.inbox.mailbox_checks`: which ones, our
own addresses, a failing mailbox's alert). Each has its own mark ``(mailbox, folder,
UIDVALIDITY, last UID)`` (:mod:`engine.inbox.marks`) in the database, advanced with each message
in the same transaction as what that message changed. Reprocessing is a no-op: the inbound
Message-ID is unique. The mailbox itself is never changed (read-only SELECT, BODY.PEEK).

Each message is parsed and classified in a child process with a hard time budget
(:mod:`engine.inbox.budget`): one that cannot be classified in time is recorded as ``other``
with the reason, and the mark moves past it. A bounce counts for a lead only when it cites a
Message-ID we sent to that lead. A message whose sender the receiving server could not verify
(DMARC, :mod:`engine.inbox.authres`) changes no lead state: it is recorded ``unverified`` and
the admins are told, with a button that applies it anyway (:func:`apply_unverified`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import notify
from engine.config import Settings
from engine.context import EngineContext
from engine.errors import AccountBroken, ClassifierUnavailable, TryLater, UserInputError
from engine.inbox import actions, authres, budget, mailbox_checks, marks
from engine.inbox.bounces import Bounce
from engine.inbox.budget import Analyser, Analysis, Unclassifiable
from engine.inbox.classify import Classification, Inbound, classify, parse_inbound
from engine.mailboxes.accounts import MailboxAccount
from engine.states import InboundKind, NoticeKind
from engine.storage import store
from engine.storage.models import (
    PRIMARY_MAILBOX,
    InboundMessage,
    Lead,
    OutboundMessage,
    PendingNotification,
)

log = logging.getLogger(__name__)
INBOX = "INBOX"
UNCITED_BOUNCE = "bounce that cites none of our messages"


@dataclass
class SyncReport:
    fetched: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    restarted: bool = False
    failed: dict[int, str] = field(default_factory=dict)  # mailbox id -> error (several only)


def check_inbox(
    ctx: EngineContext,
    folder: str = INBOX,
    *,
    budget_seconds: float = budget.DEFAULT_BUDGET_SECONDS,
    analyser: Analyser | None = None,
    alert_after: int = mailbox_checks.IMAP_ALERT_AFTER,
    only: int | None = None,
) -> SyncReport:
    """One reply check of every mailbox that is not removed (blocking; run it in a worker
    thread). Each message gets at most ``budget_seconds`` to be parsed and classified (in
    ``analyser``'s child process).

    With only the environment's mailbox an IMAP failure is raised, as it always was. With
    several, a mailbox whose IMAP fails is skipped and counted (its own alert after
    ``alert_after`` failing checks in a row) while the others are read. ``only``: read just
    that mailbox (its IDLE watcher heard of new mail). One check of a mailbox at a time."""
    report = SyncReport()
    analyser = analyser or budget.shared()
    plan = mailbox_checks.plan(ctx)
    for account in plan.accounts:
        if only is not None and account.id != only:
            continue
        one = _MailboxCheck(ctx, account, folder, plan.own_addresses, analyser, budget_seconds)
        if plan.single:
            one.run(report)
            mailbox_checks.checked(ctx, account)
            continue
        try:
            one.run(report)
        except ClassifierUnavailable:
            raise  # no mailbox can be read: the check as a whole is retried
        except (AccountBroken, TryLater) as e:
            error = f"{type(e).__name__}: {e}"[:300]
            log.warning("reply check of mailbox %d failed: %s", account.id, error)
            report.failed[account.id] = error
            mailbox_checks.failed(ctx, account, error, after=alert_after)
        else:
            mailbox_checks.checked(ctx, account)
    return report


@dataclass(frozen=True)
class _MailboxCheck:
    """One mailbox's folder, read from its mark on."""

    ctx: EngineContext
    account: MailboxAccount
    folder: str
    own_addresses: frozenset[str]
    analyser: Analyser
    budget_seconds: float

    def run(self, report: SyncReport) -> None:
        ctx, mailbox_id, folder = self.ctx, self.account.id, self.folder
        with (
            mailbox_checks.one_at_a_time(mailbox_id),
            ctx.new_mailbox(self.account.imap) as mailbox,
        ):
            uidvalidity = mailbox.select_readonly(folder)
            begin = marks.start(ctx, mailbox_id, folder, uidvalidity, mailbox)
            report.restarted = report.restarted or begin.restarted
            for fetched in mailbox.fetch(mailbox.new_uids(begin.last_uid)):
                report.fetched += 1
                kind = self._one(uidvalidity, fetched.uid, fetched.raw)
                report.kinds[kind] = report.kinds.get(kind, 0) + 1

    def _one(self, uidvalidity: int, uid: int, raw: bytes) -> InboundKind:
        ctx, mailbox_id, folder = self.ctx, self.account.id, self.folder
        try:
            analysis = self.analyser.analyse(raw, self.budget_seconds)
        except Unclassifiable as e:
            log.warning("message UID %s in mailbox %d's %s: %s", uid, mailbox_id, folder, e)
            return record_unclassified(ctx, folder, uidvalidity, uid, str(e), mailbox_id=mailbox_id)
        return process_message(
            ctx,
            folder,
            uidvalidity,
            uid,
            raw,
            analysis=analysis,
            mailbox_id=mailbox_id,
            own_addresses=self.own_addresses,
        )


def record_unclassified(
    ctx: EngineContext,
    folder: str,
    uidvalidity: int,
    uid: int,
    reason: str,
    *,
    mailbox_id: int = PRIMARY_MAILBOX,
) -> InboundKind:
    """A message that could not be classified: recorded as ``other``, the mark moves past it."""
    now = ctx.clock.now()
    message_id = marks.fallback_id(mailbox_id, folder, uidvalidity, uid)
    with ctx.db.transaction() as session:
        marks.advance(session, mailbox_id, folder, uidvalidity, uid, now)
        if session.scalar(select(InboundMessage.id).where(InboundMessage.message_id == message_id)):
            return InboundKind.DUPLICATE
        session.add(
            InboundMessage(
                message_id=message_id,
                kind=InboundKind.OTHER,
                reason=reason[:500],
                folder=folder,
                uid=uid,
                seen_at=now,
                mailbox_id=mailbox_id,
            )
        )
    return InboundKind.OTHER


def process_message(
    ctx: EngineContext,
    folder: str,
    uidvalidity: int,
    uid: int,
    raw: bytes,
    *,
    analysis: Analysis | None = None,
    mailbox_id: int = PRIMARY_MAILBOX,
    own_addresses: frozenset[str] | None = None,
) -> InboundKind:
    """Act on one message of mailbox ``mailbox_id`` and advance its mark — one transaction.
    ``analysis`` is the parse and classification done under the time budget; without it they
    are done here, unbounded. ``own_addresses``: our mailboxes' addresses (read here if not
    given)."""
    now = ctx.clock.now()
    inb = analysis.inbound if analysis is not None else parse_inbound(raw)
    message_id = inb.message_id or marks.fallback_id(mailbox_id, folder, uidvalidity, uid)
    with ctx.db.transaction() as session:
        marks.advance(session, mailbox_id, folder, uidvalidity, uid, now)
        if session.scalar(select(InboundMessage.id).where(InboundMessage.message_id == message_id)):
            return InboundKind.DUPLICATE
        s = store.effective_settings(session, ctx.settings)
        if own_addresses is None:
            own_addresses = mailbox_checks.own_addresses(session, s)
        ours = inb.from_email in own_addresses or session.scalar(
            select(OutboundMessage.id).where(OutboundMessage.message_id == message_id)
        )
        cls: Classification | None = None
        lead: Lead | None = None
        held: authres.Verdict | None = None
        if ours:
            kind, reason = InboundKind.OWN, "sent by this mailbox"
        else:
            cls = analysis.classification if analysis is not None else classify(raw, inb)
            lead, kind, reason, held = _decide(session, s, inb, cls)
        row = InboundMessage(
            message_id=message_id[:512],
            lead_id=lead.id if lead else None,
            kind=kind,
            reason=reason[:500],
            from_email=inb.from_email[:320],
            subject=inb.subject[:1000],
            snippet=actions.snippet(inb.new_text or inb.text, 600),
            folder=folder,
            uid=uid,
            received_at=inb.date,
            seen_at=now,
            mailbox_id=mailbox_id,
            # What it answered, for the stats: the lead's campaign, variant and last step.
            campaign_id=lead.campaign_id if lead else None,
            variant=lead.variant if lead else None,
            step=lead.next_step - 1 if lead and lead.last_sent_at and lead.next_step else None,
        )
        if lead is not None and cls is not None and cls.kind == InboundKind.HUMAN:
            actions.keep_reply_text(row, inb)
        session.add(row)
        if lead is not None and cls is not None:
            session.flush()  # the row's id: the notice's buttons name it
            if held is not None:
                _hold(session, now, row, lead, inb, message_id, cls, held)
            else:
                actions.act(session, s, now, lead, inb, message_id, cls, row)
        return kind


def _decide(
    session: Session, s: Settings, inb: Inbound, cls: Classification
) -> tuple[Lead | None, InboundKind, str, authres.Verdict | None]:
    """(lead, recorded kind, reason, held verdict) of a message not from us: ``other`` without
    a matching lead, ``unverified`` (held) when the sender failed DMARC, else the verdict."""
    lead = _match(session, inb, cls)
    if lead is None:
        uncited = cls.kind == InboundKind.BOUNCE
        reason = UNCITED_BOUNCE if uncited else f"{cls.kind}: no matching lead"
        return None, InboundKind.OTHER, reason, None
    verdict = authres.verdict(inb.auth_results, inb.from_email, s.authserv_id)
    if verdict is not None and verdict.failed:
        return lead, InboundKind.UNVERIFIED, f"would be {cls.kind}: {verdict.summary}", verdict
    return lead, cls.kind, cls.reason, None


def _match(session: Session, inb: Inbound, cls: Classification) -> Lead | None:
    """Threading headers naming a Message-ID we sent win; failing that, the From address.

    A bounce is matched ONLY by a Message-ID it cites (anyone can write a report naming any
    address): the lead is the one that Message-ID was sent to, never the address it names."""
    if cls.bounce is not None:
        return _lead_by_ids(session, list(cls.bounce.cited_ids))
    ids = list(inb.in_reply_to) + list(reversed(inb.references))
    lead = _lead_by_ids(session, ids)
    if lead is not None:
        return lead
    if not inb.from_email:
        return None
    # The address may be in several campaigns: the one it was written to last.
    return session.scalars(
        select(Lead)
        .where(Lead.email_key == inb.from_email.strip().lower())
        .order_by(Lead.last_sent_at.is_(None), Lead.last_sent_at.desc(), Lead.id.desc())
        .limit(1)
        .with_for_update()
    ).first()


def _lead_by_ids(session: Session, ids: list[str]) -> Lead | None:
    if ids:
        lead_id = session.scalar(
            select(OutboundMessage.lead_id)
            .where(OutboundMessage.message_id.in_(ids), OutboundMessage.lead_id.is_not(None))
            .limit(1)
        )
        if lead_id is not None:
            return session.get(Lead, lead_id, with_for_update=True)
    return None


def _hold(
    session: Session,
    now: datetime,
    row: InboundMessage,
    lead: Lead,
    inb: Inbound,
    message_id: str,
    cls: Classification,
    verdict: authres.Verdict,
) -> None:
    """An unverified sender: change nothing, tell the admins, keep what applying it needs."""
    b = cls.bounce
    notify.emit(
        session,
        now,
        NoticeKind.UNVERIFIED,
        {
            **actions.lead_fields(lead),
            "inbound_id": row.id,
            "would_be": str(cls.kind),
            "verdict": verdict.summary[:300],
            "reason": cls.reason[:300],
            "message_id": message_id[:512],
            "from_email": inb.from_email[:320],
            "subject": inb.subject[:300],
            "date": inb.date.isoformat() if inb.date else None,
            "in_reply_to": list(inb.in_reply_to)[:5],
            "references": list(inb.references)[-20:],
            "text": actions.snippet(inb.new_text or inb.text, 500),
            "bounce": (
                {"status": b.status, "diagnostic": b.diagnostic[:300], "hard": b.hard}
                if b is not None
                else None
            ),
        },
    )


class ApplyResult(StrEnum):
    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"


@dataclass(frozen=True)
class ApplyOutcome:
    """What "Apply anyway" did: the held message's kind, applied now or already before."""

    result: ApplyResult
    would_be: InboundKind
    email: str


def apply_unverified(ctx: EngineContext, notification_id: int) -> ApplyOutcome:
    """ "Apply anyway" on an unverified-sender notice: act on the held message as if verified,
    in one transaction, exactly once (a compare-and-set on the inbound row's kind)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        item = session.get(PendingNotification, notification_id)
        if item is None or item.kind != NoticeKind.UNVERIFIED:
            raise UserInputError("That notice is no longer known; nothing was changed.")
        p = dict(item.payload or {})
        would_be = InboundKind(str(p["would_be"]))
        lead = session.get(Lead, int(p["lead_id"]), with_for_update=True)
        if lead is None:
            raise UserInputError("That lead no longer exists; nothing was changed.")
        claimed = session.execute(
            update(InboundMessage)
            .where(
                InboundMessage.id == int(p["inbound_id"]),
                InboundMessage.kind == InboundKind.UNVERIFIED,
            )
            .values(kind=str(would_be), reason=f"{p.get('reason', '')}; applied by an admin"[:500])
        ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            return ApplyOutcome(ApplyResult.ALREADY_APPLIED, would_be, lead.email)
        s = store.effective_settings(session, ctx.settings)
        inb = _held_inbound(p)
        cls = Classification(
            kind=would_be, bounce=_held_bounce(p, lead), reason=str(p.get("reason") or "")
        )
        row = session.get(InboundMessage, int(p["inbound_id"]))
        actions.act(session, s, now, lead, inb, inb.message_id or "", cls, row)
        return ApplyOutcome(ApplyResult.APPLIED, would_be, lead.email)


def _held_inbound(p: dict[str, Any]) -> Inbound:
    """The held message again, from what the notice kept."""
    text = str(p.get("text") or "")
    return Inbound(
        message_id=str(p["message_id"]),
        from_email=str(p.get("from_email") or ""),
        from_name="",
        subject=str(p.get("subject") or ""),
        date=datetime.fromisoformat(p["date"]) if p.get("date") else None,
        in_reply_to=[str(i) for i in p.get("in_reply_to") or []],
        references=[str(r) for r in p.get("references") or []],
        text=text,
        new_text=text,
        headers={},
        raw_size=0,
    )


def _held_bounce(p: dict[str, Any], lead: Lead) -> Bounce | None:
    bp = p.get("bounce")
    if not isinstance(bp, dict):
        return None
    return Bounce(
        recipient=lead.email_key,
        status=bp.get("status"),
        action=None,
        diagnostic=str(bp.get("diagnostic") or ""),
        hard=bool(bp.get("hard")),
        original_message_id=None,
    )
