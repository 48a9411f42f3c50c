"""The reply check: read only what is new in the inbox, classify it, act on it.

The mark ``(folder, UIDVALIDITY, last UID)`` lives in the database and advances with each message,
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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import notify
from engine.config import Settings
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.inbox import authres, budget
from engine.inbox.budget import Analyser, Analysis, Unclassifiable
from engine.inbox.classify import Bounce, Classification, Inbound, Kind, classify, parse_inbound
from engine.sending.bounce_guard import guard_bounce_rate
from engine.sending.dispatch import _lead_values
from engine.sending.messages import make_message_id, reply_subject
from engine.storage import store
from engine.storage.models import (
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
    PendingNotification,
)
from engine.templates import render_template

log = logging.getLogger(__name__)
INBOX = "INBOX"
OTHER, UNVERIFIED = "other", "unverified"
UNCITED_BOUNCE = "bounce that cites none of our messages"


@dataclass
class SyncReport:
    fetched: int = 0
    processed: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    restarted: bool = False


def check_inbox(
    ctx: EngineContext,
    folder: str = INBOX,
    *,
    budget_seconds: float = budget.DEFAULT_BUDGET_SECONDS,
    analyser: Analyser | None = None,
) -> SyncReport:
    """One reply check (blocking; run it in a worker thread). Each message gets at most
    ``budget_seconds`` to be parsed and classified (in ``analyser``'s child process)."""
    report = SyncReport()
    analyser = analyser or budget.shared()
    with ctx.new_mailbox() as mailbox:
        uidvalidity = mailbox.select_readonly(folder)
        last_uid = _mark(ctx, folder, uidvalidity, mailbox, report)
        uids = mailbox.new_uids(last_uid)
        for fetched in mailbox.fetch(uids):
            report.fetched += 1
            try:
                analysis = analyser.analyse(fetched.raw, budget_seconds)
            except Unclassifiable as e:
                log.warning("message UID %s in %s: %s", fetched.uid, folder, e)
                kind = record_unclassified(ctx, folder, uidvalidity, fetched.uid, str(e))
            else:
                kind = process_message(
                    ctx, folder, uidvalidity, fetched.uid, fetched.raw, analysis=analysis
                )
            report.processed += 1
            report.kinds[kind] = report.kinds.get(kind, 0) + 1
    return report


def _fallback_id(folder: str, uidvalidity: int, uid: int) -> str:
    return f"<uid-{uidvalidity}-{uid}@{folder.lower()}.invalid>"


def record_unclassified(
    ctx: EngineContext, folder: str, uidvalidity: int, uid: int, reason: str
) -> str:
    """A message that could not be classified: recorded as ``other``, the mark moves past it."""
    now = ctx.clock.now()
    message_id = _fallback_id(folder, uidvalidity, uid)
    with ctx.db.transaction() as session:
        _advance(session, folder, uidvalidity, uid, now)
        if session.scalar(select(InboundMessage.id).where(InboundMessage.message_id == message_id)):
            return "duplicate"
        session.add(
            InboundMessage(
                message_id=message_id,
                kind=OTHER,
                reason=reason[:500],
                folder=folder,
                uid=uid,
                seen_at=now,
            )
        )
    return OTHER


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


def process_message(
    ctx: EngineContext,
    folder: str,
    uidvalidity: int,
    uid: int,
    raw: bytes,
    *,
    analysis: Analysis | None = None,
) -> str:
    """Act on one message and advance the mark — one transaction. ``analysis`` is the parse and
    classification done under the time budget; without it they are done here, unbounded."""
    now = ctx.clock.now()
    inb = analysis.inbound if analysis is not None else parse_inbound(raw)
    message_id = inb.message_id or _fallback_id(folder, uidvalidity, uid)
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
        held: authres.Verdict | None = None
        if not ours:
            cls = analysis.classification if analysis is not None else classify(raw, inb)
            lead = _match(session, inb, cls)
            kind, reason = str(cls.kind), cls.reason
            if lead is None:
                uncited = cls.kind == Kind.BOUNCE
                kind, reason = OTHER, UNCITED_BOUNCE if uncited else f"{cls.kind}: no matching lead"
            else:
                verdict = authres.verdict(inb.auth_results, inb.from_email, s.authserv_id)
                if verdict is not None and verdict.failed:
                    held = verdict
                    kind, reason = UNVERIFIED, f"would be {cls.kind}: {verdict.summary}"
        row = InboundMessage(
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
        session.add(row)
        if lead is not None and cls is not None and held is not None:
            session.flush()
            _hold(session, now, row, lead, inb, message_id, cls, held)
        elif lead is not None and cls is not None:
            _act(session, s, now, lead, inb, message_id, cls)
        return kind


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
    return session.scalars(
        select(Lead).where(Lead.email_key == inb.from_email.strip().lower()).with_for_update()
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


def _writer(lead: Lead, inb: Inbound) -> str:
    """Who wrote, for the admins: the lead, or "frank@… wrote in the thread with <lead>" when
    someone else answered in the lead's thread (the lead is still the one acted on)."""
    if inb.from_email and inb.from_email != (lead.email_key or lead.email.lower()):
        return f"{inb.from_email} wrote in the thread with {_who(lead)}"
    return _who(lead)


_WOULD_BE = {
    Kind.BOUNCE: "a bounce",
    Kind.AUTO_REPLY: "an auto-reply",
    Kind.OPT_OUT: "an opt-out",
    Kind.HUMAN: "a reply",
}


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
    notify.enqueue(
        session,
        now,
        notify.UNVERIFIED,
        f"⚠️ unverified sender: {inb.from_email or '(no address)'} ({verdict.summary}) — would be "
        f"{_WOULD_BE[cls.kind]} for {_who(lead)}; nothing was changed.",
        {
            "inbound_id": row.id,
            "lead_id": lead.id,
            "would_be": str(cls.kind),
            "reason": cls.reason[:300],
            "message_id": message_id[:512],
            "from_email": inb.from_email[:320],
            "subject": inb.subject[:300],
            "date": inb.date.isoformat() if inb.date else None,
            "in_reply_to": list(inb.in_reply_to)[:5],
            "references": list(inb.references)[-20:],
            "text": _snippet(inb.new_text or inb.text, 500),
            "bounce": (
                {"status": b.status, "diagnostic": b.diagnostic[:300], "hard": b.hard}
                if b is not None
                else None
            ),
        },
    )


def apply_unverified(ctx: EngineContext, notification_id: int) -> str:
    """ "Apply anyway" on an unverified-sender notice: act on the held message as if verified,
    in one transaction, exactly once (a compare-and-set on the inbound row's kind)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        item = session.get(PendingNotification, notification_id)
        if item is None or item.kind != notify.UNVERIFIED:
            raise UserInputError("That notice is no longer known; nothing was changed.")
        p = dict(item.payload or {})
        would_be = Kind(str(p["would_be"]))
        lead = session.get(Lead, int(p["lead_id"]), with_for_update=True)
        if lead is None:
            raise UserInputError("That lead no longer exists; nothing was changed.")
        claimed = session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == int(p["inbound_id"]), InboundMessage.kind == UNVERIFIED)
            .values(kind=str(would_be), reason=f"{p.get('reason', '')}; applied by an admin"[:500])
        ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            return f"Already applied to {lead.email}."
        s = store.effective_settings(session, ctx.settings)
        text = str(p.get("text") or "")
        inb = Inbound(
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
        bp = p.get("bounce")
        bounce = (
            Bounce(
                recipient=lead.email_key,
                status=bp.get("status"),
                action=None,
                diagnostic=str(bp.get("diagnostic") or ""),
                hard=bool(bp.get("hard")),
                original_message_id=None,
            )
            if isinstance(bp, dict)
            else None
        )
        cls = Classification(kind=would_be, bounce=bounce, reason=str(p.get("reason") or ""))
        _act(session, s, now, lead, inb, inb.message_id or "", cls)
        return f"✅ Applied: {_WOULD_BE[would_be]} for {lead.email}."


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
            f"🚫 Opt-out: {_writer(lead, inb)} asked to be removed; {lead.email} is added to the "
            "suppression list.",
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
    writer = _writer(lead, inb)
    if writer != _who(lead):
        writer = f"{inb.from_email}, who wrote in the thread with {_who(lead)}"
    text = f"💬 Reply from {writer}\nSubject: {subject}\n\n{snippet}"
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
