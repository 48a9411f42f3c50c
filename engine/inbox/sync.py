"""The reply check: read only what is new in the inbox, classify it, act on it.

The mark ``(folder, UIDVALIDITY, last UID)`` lives in the database and advances with each message,
in the same transaction as what that message changed. Reprocessing is a no-op: the inbound
Message-ID is unique. The mailbox itself is never changed (read-only SELECT, BODY.PEEK).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import notify, store
from engine.config import Settings
from engine.context import EngineContext
from engine.dispatch import _lead_values
from engine.inbox.classify import Classification, Inbound, Kind, classify, parse_inbound
from engine.messages import make_message_id, reply_subject
from engine.models import (
    BOUNCED,
    CALENDAR,
    CALENDAR_STEP,
    CANCELLED,
    COMPLETED,
    PENDING,
    QUEUED,
    REPLIED,
    SENT,
    UNSUBSCRIBED,
    ImapSync,
    InboundMessage,
    Lead,
    OutboundMessage,
)
from engine.protection import guard_bounce_rate
from engine.templates import render_template

log = logging.getLogger(__name__)
INBOX = "INBOX"


@dataclass
class SyncReport:
    fetched: int = 0
    processed: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    restarted: bool = False


def check_inbox(ctx: EngineContext, folder: str = INBOX) -> SyncReport:
    """One reply check (blocking; run it in a worker thread)."""
    report = SyncReport()
    with ctx.new_mailbox() as mailbox:
        uidvalidity = mailbox.select_readonly(folder)
        last_uid = _mark(ctx, folder, uidvalidity, mailbox, report)
        uids = mailbox.new_uids(last_uid)
        for fetched in mailbox.fetch(uids):
            report.fetched += 1
            kind = process_message(ctx, folder, uidvalidity, fetched.uid, fetched.raw)
            report.processed += 1
            report.kinds[kind] = report.kinds.get(kind, 0) + 1
    return report


def _mark(
    ctx: EngineContext, folder: str, uidvalidity: int, mailbox: object, report: SyncReport
) -> int:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = session.get(ImapSync, folder, with_for_update=True)
        if row is None:
            # First check: replies can only answer emails we have sent. Before the first send
            # there is nothing to answer, so start at the top; after it, read everything.
            sent_any = session.scalar(select(OutboundMessage.id).limit(1)) is not None
            start = 0
            if not sent_any:
                uids = mailbox.new_uids(0)  # type: ignore[attr-defined]
                start = uids[-1] if uids else 0
            session.add(
                ImapSync(folder=folder, uidvalidity=uidvalidity, last_uid=start, updated_at=now)
            )
            return start
        if row.uidvalidity != uidvalidity:
            log.warning("UIDVALIDITY of %s changed; reading it again (deduplicated)", folder)
            row.uidvalidity = uidvalidity
            row.last_uid = 0
            row.updated_at = now
            report.restarted = True
        return row.last_uid


def _advance(session: Session, folder: str, uidvalidity: int, uid: int, now: datetime) -> None:
    session.execute(
        update(ImapSync)
        .where(
            ImapSync.folder == folder, ImapSync.uidvalidity == uidvalidity, ImapSync.last_uid < uid
        )
        .values(last_uid=uid, updated_at=now)
    )


def process_message(ctx: EngineContext, folder: str, uidvalidity: int, uid: int, raw: bytes) -> str:
    """Classify and act on one message, and advance the mark — one transaction."""
    now = ctx.clock.now()
    inb = parse_inbound(raw)
    message_id = inb.message_id or f"<uid-{uidvalidity}-{uid}@{folder.lower()}.invalid>"
    with ctx.db.transaction() as session:
        _advance(session, folder, uidvalidity, uid, now)
        if session.scalar(select(InboundMessage.id).where(InboundMessage.message_id == message_id)):
            return "duplicate"
        s = store.effective_settings(session, ctx.settings)
        ours = inb.from_email == s.email_address.lower() or session.scalar(
            select(OutboundMessage.id).where(OutboundMessage.message_id == message_id)
        )
        cls: Classification | None = None
        lead: Lead | None = None
        kind = "own"
        reason = "sent by this mailbox"
        if not ours:
            cls = classify(raw, inb)
            lead = _match(session, inb, cls)
            kind, reason = str(cls.kind), cls.reason
            if lead is None:
                kind, reason = "other", f"{cls.kind}: no matching lead"
        session.add(
            InboundMessage(
                message_id=message_id[:512],
                lead_id=lead.id if lead else None,
                kind=kind,
                reason=reason[:500],
                from_email=inb.from_email[:320],
                subject=inb.subject[:1000],
                snippet=_snippet(inb.new_text or inb.text, 600),
                folder=folder,
                uid=uid,
                received_at=inb.date,
                seen_at=now,
            )
        )
        if lead is not None and cls is not None:
            _act(session, s, now, lead, inb, message_id, cls)
        return kind


def _match(session: Session, inb: Inbound, cls: Classification) -> Lead | None:
    """Threading headers naming a Message-ID we sent win; failing that, the From address."""
    ids: list[str] = []
    if cls.bounce is not None and cls.bounce.original_message_id:
        ids.append(cls.bounce.original_message_id)
    ids += list(inb.in_reply_to) + list(reversed(inb.references))
    if ids:
        lead_id = session.scalar(
            select(OutboundMessage.lead_id)
            .where(OutboundMessage.message_id.in_(ids), OutboundMessage.lead_id.is_not(None))
            .limit(1)
        )
        if lead_id is not None:
            return session.get(Lead, lead_id, with_for_update=True)
    address = cls.bounce.recipient if cls.bounce is not None else inb.from_email
    if not address:
        return None
    return session.scalars(
        select(Lead).where(Lead.email_key == address.strip().lower()).with_for_update()
    ).first()


def _snippet(text: str, limit: int) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    out = "\n".join(lines[:8])
    return out[:limit]


def _cancel_queued(session: Session, lead: Lead, why: str) -> None:
    lead.queue = None
    lead.next_send_at = None
    session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.lead_id == lead.id,
            OutboundMessage.state == QUEUED,
            OutboundMessage.kind != CALENDAR,
        )
        .values(state=CANCELLED, error=why)
    )


def _who(lead: Lead) -> str:
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    parts = [name or lead.email]
    if name:
        parts.append(f"<{lead.email}>")
    if lead.company:
        parts.append(f"({lead.company})")
    return " ".join(parts)


def _act(
    session: Session,
    s: Settings,
    now: datetime,
    lead: Lead,
    inb: Inbound,
    message_id: str,
    cls: Classification,
) -> None:
    lead.last_inbound_at = inb.date or now
    lead.last_inbound_kind = str(cls.kind)
    if cls.kind == Kind.BOUNCE:
        b = cls.bounce
        status_code = (b.status if b else None) or "?"
        if b is not None and not b.hard:
            lead.last_error = f"soft bounce {status_code}: {b.diagnostic[:200]}"
            notify.enqueue(
                session,
                now,
                notify.BOUNCE,
                f"↩️ Soft bounce ({status_code}) from {lead.email}; it keeps its place.",
                {"lead_id": lead.id},
            )
            return
        if lead.status in (PENDING, SENT, COMPLETED):
            lead.status = BOUNCED
        lead.last_error = f"bounced {status_code}: {(b.diagnostic if b else '')[:200]}"
        _cancel_queued(session, lead, "bounced")
        session.flush()
        guard_bounce_rate(session, s, now)
        notify.enqueue(
            session,
            now,
            notify.BOUNCE,
            f"❌ Bounced ({status_code}): {lead.email} — no more emails to it.",
            {"lead_id": lead.id},
        )
        return
    if cls.kind == Kind.AUTO_REPLY:
        lead.auto_replies = (lead.auto_replies or 0) + 1
        return
    if cls.kind == Kind.OPT_OUT:
        if lead.status != REPLIED:
            lead.status = UNSUBSCRIBED
        _cancel_queued(session, lead, "opted out")
        store.suppress(session, now, lead.email_key, "email", "asked to be removed")
        notify.enqueue(
            session,
            now,
            notify.OPT_OUT,
            f"🚫 Opt-out: {_who(lead)} asked to be removed; added to the suppression list.",
            {"lead_id": lead.id},
        )
        return
    # A human reply.
    first = lead.replied_at is None
    if lead.status not in (UNSUBSCRIBED,):
        lead.status = REPLIED
    if first:
        lead.replied_at = now
    _cancel_queued(session, lead, "the lead replied")
    calendar_queued = False
    if first and s.calendar_link and lead.status == REPLIED:
        calendar_queued = _queue_calendar(session, s, now, lead, inb, message_id)
    snippet = _snippet(inb.new_text or inb.text, 500)
    subject = inb.subject or "(no subject)"
    text = f"💬 Reply from {_who(lead)}\nSubject: {subject}\n\n{snippet}"
    if calendar_queued:
        text += "\n\n📅 Calendar link queued."
    elif first and not s.calendar_link:
        text += "\n\n(No CALENDAR_LINK set, so no calendar answer was sent — reply yourself.)"
    notify.enqueue(
        session,
        now,
        notify.REPLY,
        text,
        {"lead_id": lead.id, "email": lead.email, "domain": lead.domain, "first": first},
    )


def _queue_calendar(
    session: Session, s: Settings, now: datetime, lead: Lead, inb: Inbound, message_id: str
) -> bool:
    """The calendar answer, in the lead's thread, at most once per lead (unique lead+step)."""
    exists = session.scalar(
        select(OutboundMessage.id).where(
            OutboundMessage.lead_id == lead.id, OutboundMessage.step == CALENDAR_STEP
        )
    )
    if exists:
        return False
    subject, body = render_template(store.template(session, "calendar"), _lead_values(lead, s))
    refs = [r for r in inb.references if r] + [message_id]
    session.add(
        OutboundMessage(
            lead_id=lead.id,
            kind=CALENDAR,
            step=CALENDAR_STEP,
            message_id=make_message_id(s.email_address),
            to_email=lead.email,
            subject=reply_subject(inb.subject or lead.first_subject or subject),
            body=body,
            in_reply_to=message_id,
            references=" ".join(dict.fromkeys(refs)),
            state=QUEUED,
            attempts=0,
            created_at=now,
        )
    )
    return True
