"""The send queue: claim one email, send it, record the outcome — each step its own transaction.

A claim commits the outbound message as ``sending`` (Message-ID already generated, lease set,
pacing slot reserved) BEFORE the SMTP transaction starts. The outcome is written after. What a
failure means was decided by ``engine.sending.smtp.classify_smtp_error``; what to do about it is decided
here, in ``_record_failure``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any

from sqlalchemy import case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from engine import notify
from engine.config import Settings
from engine.context import EngineContext
from engine.errors import (
    AccountBroken,
    ContentBlocked,
    DatabaseUnavailable,
    QuotaExceeded,
    RecipientRejected,
    SendError,
    TooManyLogins,
    Uncertain,
)
from engine.sending.bounce_guard import guard_bounce_rate
from engine.sending.messages import (
    Outgoing,
    build_message,
    make_message_id,
    normalise_address,
    reply_subject,
)
from engine.sending.pacing import (
    ROLLING_WINDOW,
    Gate,
    PacingRules,
    PacingState,
    SendCounts,
    SendWindow,
    after_send,
    day_start,
    gate,
    retry_backoff,
)
from engine.sending.smtp import Mailer
from engine.storage import store
from engine.storage.leases import owner_is_gone
from engine.storage.models import (
    BOUNCED,
    CALENDAR,
    CANCELLED,
    COMPLETED,
    FAILED,
    FOLLOWUP,
    INITIAL,
    MSG_FAILED,
    MSG_SENT,
    PENDING,
    QUEUE_FOLLOWUP,
    QUEUE_NEW,
    QUEUED,
    SENDING,
    SENT,
    STOPPED_LEAD,
    UNCERTAIN,
    UNSUBSCRIBED,
    Alert,
    Campaign,
    Lead,
    MailboxState,
    OutboundMessage,
    Suppression,
)
from engine.templates import render_template

log = logging.getLogger(__name__)

# Messages that count against the cap: everything handed to (or possibly taken by) the server.
COUNTED_STATES = (SENDING, MSG_SENT, UNCERTAIN)
# Recipient errors in a row across this many domains mean the account, not the leads.
RECIPIENT_STREAK = 3
ACCOUNT_BACKOFF = timedelta(minutes=15)
# The alert raised when an email the server accepted could not be recorded.
RECORD_FAILED = "record_failed"


@dataclass(frozen=True)
class Claimed:
    outbound_id: int
    lead_id: int | None
    kind: str
    step: int
    outgoing: Outgoing
    settings: Settings  # the effective settings at claim time (sender, follow-up delays)
    # Where a fresh claim came from, so an unattempted claim can be undone exactly.
    from_queue: int | None = None
    was_due: datetime | None = None


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    stopped_reason: str = ""
    events: list[str] = field(default_factory=list)


def pacing_rules(s: Settings) -> PacingRules:
    return PacingRules(
        daily_limit=s.daily_limit,
        min_delay=s.min_delay,
        max_delay=s.max_delay,
        pause_every=s.pause_every,
        pause_min=s.pause_min,
        pause_max=s.pause_max,
        window=send_window(s),
    )


def send_window(s: Settings) -> SendWindow | None:
    """SEND_WINDOW and SEND_DAYS as one window; None when emails may go at any time."""
    if s.send_window is None and len(s.send_days) == 7:
        return None
    start, end = s.send_window or (clock_time(0), clock_time(0))
    return SendWindow(start, end, s.send_days)


def send_counts(session: Session, now: datetime, s: Settings) -> SendCounts:
    """Sends since local midnight and within the rolling 24 hours, counted by the database
    (the index on attempted_at keeps this to the window's rows)."""
    window_start = now - ROLLING_WINDOW
    today = day_start(now, s.tz)
    at = OutboundMessage.attempted_at
    # (now - 24 h, now]: a send exactly 24 h old has left the window, so the gate opens at the
    # wait_until it announced (oldest + 24 h), not one tick later.
    in_window = at > window_start
    row = session.execute(
        select(
            func.coalesce(func.sum(case((at >= today, 1), else_=0)), 0),
            func.coalesce(func.sum(case((in_window, 1), else_=0)), 0),
            func.min(type_coerce(case((in_window, at), else_=None), at.type)),
        ).where(at >= min(window_start, today), OutboundMessage.state.in_(COUNTED_STATES))
    ).one()
    return SendCounts(sent_today=int(row[0]), sent_last_24h=int(row[1]), oldest_in_window=row[2])


def send_gate(session: Session, ctx: EngineContext, now: datetime, *, lock: bool) -> Gate:
    """Everything that may hold sending back, in one place: campaign, account, cap, pacing."""
    s = store.effective_settings(session, ctx.settings)
    return _gate(session, s, now, lock=lock)[0]


def _gate(
    session: Session, s: Settings, now: datetime, *, lock: bool, mb: MailboxState | None = None
) -> tuple[Gate, PacingState, SendCounts]:
    camp = store.campaign(session, now)
    mb = mb or store.mailbox(session, now, lock=lock)
    state = PacingState(mb.next_send_at, mb.batch_count, mb.blocked_until, mb.blocked_reason)
    counts = send_counts(session, now, s)
    if camp.state != store.RUNNING:
        why = f" ({camp.reason})" if camp.reason else ""
        return Gate(False, f"campaign is {camp.state}{why}"), state, counts
    return gate(now, state, pacing_rules(s), counts, s.tz), state, counts


def _lead_values(lead: Lead, s: Settings) -> dict[str, str]:
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
    return values


def _skip_locked(stmt: Any, ctx: EngineContext) -> Any:
    return stmt.with_for_update(skip_locked=True) if ctx.db.is_postgres else stmt


def _thread(session: Session, lead_id: int) -> list[str]:
    return list(
        session.scalars(
            select(OutboundMessage.message_id)
            .where(
                OutboundMessage.lead_id == lead_id,
                OutboundMessage.state == MSG_SENT,
                OutboundMessage.kind.in_((INITIAL, FOLLOWUP)),
            )
            .order_by(OutboundMessage.step)
        )
    )


def _outgoing(row: OutboundMessage, lead_name: str) -> Outgoing:
    refs = tuple((row.references or "").split())
    return Outgoing(
        message_id=row.message_id,
        to_email=row.to_email,
        to_name=lead_name,
        subject=row.subject,
        body=row.body,
        in_reply_to=row.in_reply_to,
        references=refs,
    )


def _lease(row: OutboundMessage, ctx: EngineContext, now: datetime) -> None:
    row.state = SENDING
    row.lease_owner = ctx.owner
    row.lease_expires_at = now + timedelta(seconds=ctx.lease_seconds)
    row.attempted_at = now
    row.attempts = (row.attempts or 0) + 1


def _lead_name(lead: Lead | None) -> str:
    if lead is None:
        return ""
    return " ".join(p for p in (lead.first_name, lead.last_name) if p).strip()


def _claim_queued(
    session: Session, ctx: EngineContext, s: Settings, now: datetime
) -> Claimed | None:
    """Answers to replies and retries: rows already rendered, waiting in ``queued``."""
    stmt = (
        select(OutboundMessage)
        .where(
            OutboundMessage.state == QUEUED,
            or_(OutboundMessage.not_before.is_(None), OutboundMessage.not_before <= now),
        )
        .order_by(OutboundMessage.step.desc(), OutboundMessage.id)
        .limit(1)
    )
    row = session.scalars(_skip_locked(stmt, ctx)).first()
    if row is None:
        return None
    lead = session.get(Lead, row.lead_id) if row.lead_id is not None else None
    if lead is not None and row.kind != CALENDAR and lead.status not in (PENDING, SENT):
        row.state = CANCELLED
        row.error = f"lead is {lead.status}"
        session.flush()
        return _claim_queued(session, ctx, s, now)
    if lead is not None and store.suppressed(session, lead.email):
        row.state = CANCELLED
        row.error = "suppressed"
        session.flush()
        return _claim_queued(session, ctx, s, now)
    _lease(row, ctx, now)
    return Claimed(row.id, row.lead_id, row.kind, row.step, _outgoing(row, _lead_name(lead)), s)


def _claim_leads(
    session: Session,
    ctx: EngineContext,
    s: Settings,
    now: datetime,
    queue: int,
    limit: int,
    may_continue: Callable[[], bool],
) -> list[Claimed]:
    """Claim due leads from one queue, oldest due first, while ``may_continue()`` (the gate,
    updated by the caller for each claim) allows: each becomes an outbound row in ``sending``
    with its Message-ID. Candidates are read and their suppressions checked in one go."""
    stmt = (
        select(Lead)
        .where(Lead.queue == queue, Lead.next_send_at <= now)
        .order_by(Lead.next_send_at, Lead.id)
        .limit(limit)
    )
    candidates = list(session.scalars(_skip_locked(stmt, ctx)))
    if not candidates:
        return []
    keys = [lead.email_key for lead in candidates]
    blocked = {
        sup.value: sup
        for sup in session.scalars(
            select(Suppression).where(
                Suppression.value.in_(set(keys) | {store.email_domain(k) for k in keys})
            )
        )
    }
    templates = session.info.setdefault("templates", {})  # one look-up per name per claim
    fresh: list[tuple[OutboundMessage, Lead, datetime | None]] = []
    for lead in candidates:
        due = lead.next_send_at
        lead.queue = None
        if lead.status not in (PENDING, SENT):
            continue
        hit = blocked.get(lead.email_key) or blocked.get(store.email_domain(lead.email_key))
        if hit is not None:
            lead.status = UNSUBSCRIBED if hit.kind == "email" else STOPPED_LEAD
            lead.last_error = f"suppressed: {hit.reason or hit.value}"
            lead.next_send_at = None
            continue
        step = lead.next_step
        if step > len(s.followup_delays):
            lead.status = COMPLETED
            lead.next_send_at = None
            continue
        name = "initial" if step == 0 else f"followup_{step}"
        if name not in templates:
            templates[name] = store.template(session, name)
        subject, body = render_template(templates[name], _lead_values(lead, s))
        in_reply_to: str | None = None
        refs: list[str] = []
        if step > 0:
            subject = reply_subject(lead.first_subject or subject)
            refs = _thread(session, lead.id)
            in_reply_to = refs[-1] if refs else None
        row = OutboundMessage(
            lead_id=lead.id,
            kind=INITIAL if step == 0 else FOLLOWUP,
            step=step,
            message_id=make_message_id(s.email_address),
            to_email=lead.email,
            subject=subject,
            body=body,
            in_reply_to=in_reply_to,
            references=" ".join(refs) or None,
            state=SENDING,
            attempts=0,
            created_at=now,
        )
        _lease(row, ctx, now)
        session.add(row)
        if step == 0:
            lead.first_subject = subject
        fresh.append((row, lead, due))
        if not may_continue():
            break
    session.flush()  # the rows get their ids
    return [
        Claimed(
            row.id, lead.id, row.kind, row.step, _outgoing(row, _lead_name(lead)), s, queue, due
        )
        for row, lead, due in fresh
    ]


def claim_next(ctx: EngineContext) -> Claimed | Gate:
    """One transaction: check the gate, pick the next email, commit it as ``sending``."""
    claimed = claim_batch(ctx, 1)
    return claimed[0] if isinstance(claimed, list) else claimed


def claim_batch(ctx: EngineContext, limit: int) -> list[Claimed] | Gate:
    """One transaction: claim up to ``limit`` emails, as many as the gate allows right now.

    With pacing on, the gate allows one (the next waits MIN..MAX_DELAY_SECONDS); with pacing
    off, several, so the per-email cost of a transaction is shared."""
    with ctx.db.transaction() as session:
        # Claims are serialised on the mailbox row; read the clock only once we hold it, so
        # the pacing slot another replica just reserved is never in our future.
        mb = store.mailbox(session, ctx.clock.now(), lock=True)
        now = ctx.clock.now()
        s = store.effective_settings(session, ctx.settings)
        g, state, counts = _gate(session, s, now, lock=True, mb=mb)
        if not g.allowed:
            return g
        rules = pacing_rules(s)
        claimed: list[Claimed] = []
        gate_open = True

        def account_for_one() -> bool:
            """Count one claim against pacing and the cap: may another go right now?"""
            nonlocal state, counts, gate_open
            state = after_send(now, state, rules, ctx.rng)
            counts = SendCounts(
                counts.sent_today + 1, counts.sent_last_24h + 1, counts.oldest_in_window or now
            )
            gate_open = gate(now, state, rules, counts, s.tz).allowed
            return gate_open

        while gate_open and len(claimed) < limit:
            one = _claim_queued(session, ctx, s, now)
            if one is None:
                break
            claimed.append(one)
            account_for_one()
        for queue in (QUEUE_FOLLOWUP, QUEUE_NEW):
            if gate_open and len(claimed) < limit:
                claimed += _claim_leads(
                    session, ctx, s, now, queue, limit - len(claimed), account_for_one
                )
        if not claimed:
            return Gate(False, "nothing is due")
        mb.next_send_at, mb.batch_count, mb.updated_at = state.next_send_at, state.batch_count, now
        return claimed


_CLEARED_BY_A_SEND = {
    "account": "Sending works again: the mailbox accepted an email.",
    "server_busy": "The mail server is accepting emails again.",
    "quota": "The sending quota is available again: emails are going out.",
    "too_many_logins": "The mailbox accepts logins again: emails are going out.",
    RECORD_FAILED: "Sent emails are recorded again.",
}


def record_sent(ctx: EngineContext, claimed: Claimed) -> None:
    """The server said 250: the message is sent and the lead moves on — one transaction."""
    record_sent_many(ctx, [(claimed, ctx.clock.now())])


def record_sent_many(ctx: EngineContext, sent: list[tuple[Claimed, datetime]]) -> None:
    """Several 250s (pacing off sends in batches) recorded in one transaction; each message
    keeps the time the server accepted it."""
    if not sent:
        return
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        ids = [c.outbound_id for c, _ in sent]
        rows = {
            r.id: r
            for r in session.scalars(
                select(OutboundMessage).where(OutboundMessage.id.in_(ids)).with_for_update()
            )
        }
        lead_ids = [r.lead_id for r in rows.values() if r.lead_id is not None]
        leads = {
            lead.id: lead
            for lead in session.scalars(select(Lead).where(Lead.id.in_(lead_ids)).with_for_update())
        }
        for claimed, at in sent:
            row = rows.get(claimed.outbound_id)
            if row is None or row.state == MSG_SENT:
                continue
            lead = leads.get(row.lead_id) if row.lead_id is not None else None
            _mark_sent(claimed.settings, row, lead, at)
        mb = store.mailbox(session, now)
        if mb.retry_failures or mb.recipient_errors:
            mb = store.mailbox(session, now, lock=True)
            mb.retry_failures = 0
            mb.recipient_errors = {}
        active = session.scalars(
            select(Alert.condition).where(
                Alert.active.is_(True), Alert.condition.in_(list(_CLEARED_BY_A_SEND))
            )
        ).all()
        for condition in active:
            notify.clear_alert(session, now, condition, _CLEARED_BY_A_SEND[condition])


def mark_message_sent(session: Session, s: Settings, row: OutboundMessage, now: datetime) -> None:
    """A message is known to be sent (by the server's 250 or found in the Sent folder)."""
    lead = None
    if row.lead_id is not None and row.kind != CALENDAR:
        lead = session.get(Lead, row.lead_id, with_for_update=True)
    _mark_sent(s, row, lead, now)


def _mark_sent(s: Settings, row: OutboundMessage, lead: Lead | None, now: datetime) -> None:
    row.state = MSG_SENT
    row.sent_at = now
    row.lease_owner = None
    row.lease_expires_at = None
    row.error = None
    if lead is None or row.kind == CALENDAR:
        return
    lead.last_sent_at = now
    lead.followups_sent = max(lead.followups_sent, row.step)
    lead.next_step = row.step + 1
    if lead.status in (PENDING, SENT):
        if row.step < len(s.followup_delays):
            lead.status = SENT
            lead.queue = QUEUE_FOLLOWUP
            lead.next_send_at = now + s.followup_delays[row.step]
        else:
            lead.status = COMPLETED
            lead.queue = None
            lead.next_send_at = None


def _requeue(row: OutboundMessage, not_before: datetime | None, error: str) -> None:
    row.state = QUEUED
    row.not_before = not_before
    row.lease_owner = None
    row.lease_expires_at = None
    row.error = error[:1000]


def _pause(session: Session, now: datetime, reason: str) -> None:
    store.set_campaign_state(session, now, store.PAUSED, reason)


def record_failure(ctx: EngineContext, claimed: Claimed, err: SendError) -> str:
    """Decide what a failed send means for the campaign, the account and the lead."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = session.get(OutboundMessage, claimed.outbound_id, with_for_update=True)
        if row is None:
            return "gone"
        return _record_failure(session, ctx, now, row, err)


def _record_failure(
    session: Session, ctx: EngineContext, now: datetime, row: OutboundMessage, err: SendError
) -> str:
    mb = store.mailbox(session, now, lock=True)
    text = err.text[:500]
    if isinstance(err, Uncertain):
        row.state = UNCERTAIN
        row.error = text
        row.lease_owner = None
        row.lease_expires_at = None
        return "uncertain"
    if isinstance(err, AccountBroken):
        _requeue(row, None, text)
        _pause(session, now, "the mailbox login failed")
        notify.raise_alert(
            session,
            now,
            "account",
            "⚠️ The mailbox refused to log in, so the campaign is paused. No lead was touched.\n"
            f"Server said: {text}\n"
            "Check EMAIL_ADDRESS / EMAIL_PASSWORD (for Gmail use an app password), then /run.",
        )
        return "paused"
    if isinstance(err, TooManyLogins):
        _requeue(row, None, text)
        mb.blocked_until = now + ACCOUNT_BACKOFF
        mb.blocked_reason = "the server reported too many logins; backing off"
        notify.raise_alert(
            session,
            now,
            "too_many_logins",
            "⏳ The mail server reported too many logins; sending waits 15 minutes. "
            "Is another program using this mailbox?",
        )
        return "backoff"
    if isinstance(err, QuotaExceeded):
        _requeue(row, None, text)
        mb.blocked_until = now + ROLLING_WINDOW
        mb.blocked_reason = "the provider's daily sending quota is used up"
        notify.raise_alert(
            session,
            now,
            "quota",
            "⛔ The provider says the daily sending quota is used up. Sending stops for 24 hours "
            f"and resumes by itself; no lead was touched.\nServer said: {text}\n"
            "Consider lowering the daily limit: /settings daily_limit N",
        )
        return "quota"
    if isinstance(err, ContentBlocked):
        _requeue(row, None, text)
        _pause(session, now, "the server rejected our message")
        notify.raise_alert(
            session,
            now,
            "content",
            "🛑 The mail server rejected the message as content or reputation "
            f"(policy/spam), so the campaign is paused.\nServer said: {text}\n"
            "Review your templates (/templates) and your domain's SPF/DKIM/DMARC, then /run.",
        )
        return "paused"
    if isinstance(err, RecipientRejected):
        s = store.effective_settings(session, ctx.settings)
        return _recipient_rejected(session, s, now, mb, row, text)
    # TryLater and anything unexpected: the same message again later, no lead is failed.
    mb.retry_failures = (mb.retry_failures or 0) + 1
    _requeue(
        row,
        now + retry_backoff(row.attempts, ctx.rng, base=ctx.settings.retry_base_seconds),
        text,
    )
    if mb.retry_failures >= 5:
        notify.raise_alert(
            session,
            now,
            "server_busy",
            f"⏳ The mail server keeps asking us to try later ({mb.retry_failures} times in a "
            f"row). Emails are retried with backoff; nothing is lost.\nServer said: {text}",
        )
    return "retry"


def _recipient_rejected(
    session: Session, s: Settings, now: datetime, mb: Any, row: OutboundMessage, text: str
) -> str:
    row.state = MSG_FAILED
    row.error = text
    row.lease_owner = None
    row.lease_expires_at = None
    streak: list[dict[str, Any]] = list((mb.recipient_errors or {}).get("streak", []))
    lead = session.get(Lead, row.lead_id, with_for_update=True) if row.lead_id else None
    if lead is not None:
        streak.append(
            {
                "outbound": row.id,
                "lead": lead.id,
                "status": lead.status,
                "domain": store.email_domain(lead.email),
            }
        )
        lead.status = BOUNCED
        lead.queue = None
        lead.next_send_at = None
        lead.last_error = text
    domains = {e["domain"] for e in streak}
    if len(streak) >= RECIPIENT_STREAK and len(domains) >= RECIPIENT_STREAK:
        # Different domains all refusing: the account is the problem. Undo and pause.
        for e in streak:
            msg = session.get(OutboundMessage, e["outbound"])
            if msg is not None:
                _requeue(msg, None, "retry: recipient errors pointed at the account")
            victim = session.get(Lead, e["lead"])
            if victim is not None:
                victim.status = e["status"]
                victim.last_error = None
        mb.recipient_errors = {}
        _pause(session, now, "several recipients were refused in a row")
        notify.raise_alert(
            session,
            now,
            "account",
            f"⚠️ {len(streak)} recipients on {len(domains)} different domains were refused in a "
            "row; that points at the mailbox, not the leads. The campaign is paused and those "
            f"leads keep their place.\nLast server answer: {text}",
        )
        return "paused"
    mb.recipient_errors = {"streak": streak}
    session.flush()
    if guard_bounce_rate(session, s, now):
        return "paused"
    return "bounced"


def record_bad_address(ctx: EngineContext, claimed: Claimed, reason: str) -> None:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = session.get(OutboundMessage, claimed.outbound_id, with_for_update=True)
        if row is not None:
            row.state = MSG_FAILED
            row.error = f"unusable address: {reason}"[:1000]
            row.lease_owner = None
            row.lease_expires_at = None
        lead = session.get(Lead, claimed.lead_id) if claimed.lead_id is not None else None
        if lead is not None:
            lead.status = FAILED
            lead.queue = None
            lead.next_send_at = None
            lead.last_error = f"unusable address: {reason}"[:500]
        notify.enqueue(
            session,
            now,
            notify.INFO,
            f"⚠️ {claimed.outgoing.to_email!r} cannot be emailed ({reason[:100]}); lead marked failed.",
        )


def send_claimed(ctx: EngineContext, mailer: Mailer, claimed: Claimed) -> str:
    """Send one claimed message and record the outcome."""
    outcome, _ = _send(ctx, mailer, claimed, defer_sent=None)
    return outcome


def _send(
    ctx: EngineContext,
    mailer: Mailer,
    claimed: Claimed,
    defer_sent: list[tuple[Claimed, datetime]] | None,
) -> tuple[str, bool]:
    """Build and send; record a failure at once. A success is recorded at once, or appended to
    ``defer_sent`` for the caller to record with the rest of its batch."""
    s = claimed.settings
    try:
        msg = build_message(
            claimed.outgoing,
            sender_email=s.email_address,
            sender_name=s.sender_name or None,
            date=ctx.clock.now(),
        )
        to_addr = normalise_address(claimed.outgoing.to_email)
    except ValueError as e:
        # The stored address cannot be put on an envelope: this lead fails, nothing else does.
        recorded = _flush_sent(ctx, defer_sent)
        _until_recorded(ctx, record_bad_address, ctx, claimed, str(e))
        if not recorded:
            return UNRECORDED, False
        log.warning("lead %s has an unusable address; marked failed", claimed.lead_id)
        return "failed", False
    try:
        mailer.send(msg, from_addr=s.email_address, to_addr=to_addr)
    except SendError as err:
        recorded = _flush_sent(ctx, defer_sent)
        outcome = _until_recorded(ctx, record_failure, ctx, claimed, err)
        if not recorded:
            outcome = UNRECORDED
        log.warning(
            "send %s to lead %s: %s (%s)",
            claimed.kind,
            claimed.lead_id,
            outcome,
            type(err).__name__,
        )
        return outcome, False
    log.info("sent %s step %d to lead %s", claimed.kind, claimed.step, claimed.lead_id)
    if defer_sent is None:
        if not _flush_sent(ctx, [(claimed, ctx.clock.now())]):
            return UNRECORDED, True
    else:
        defer_sent.append((claimed, ctx.clock.now()))
    return "sent", True


def _flush_sent(ctx: EngineContext, sent: list[tuple[Claimed, datetime]] | None) -> bool:
    """Record the 250s in ``sent``; False if that failed (the admins were alerted)."""
    if not sent:
        return True
    batch = list(sent)
    sent.clear()
    try:
        _until_recorded(ctx, record_sent_many, ctx, batch)
    except Exception as e:  # noqa: BLE001 - any failure here must reach the admins
        _record_failed_after_250(ctx, batch, e)
        return False
    return True


def _record_failed_after_250(
    ctx: EngineContext, sent: list[tuple[Claimed, datetime]], err: BaseException
) -> None:
    """The server accepted these emails but their outcome could not be written. Never silence:
    it is logged and the admins are alerted, in a transaction of its own.

    The database stayed unreachable past the retry window: the rows stay ``sending``; when their
    lease runs out they are *uncertain* and settled from the Sent folder (found → sent, with the
    lead moved on), never resent without that look. Anything else (the write itself fails, e.g.
    a due date out of range) would fail again the same way, so the messages are marked ``sent``
    without touching their leads (the lead's update is what failed) and the campaign pauses.
    Not left ``sending``: an uncertain email missing from the Sent folder is sent again, wrong for
    one the server is known to have accepted. A lead whose progress was not written keeps its
    status but is in no queue, so nothing more goes to it until an admin looks; its step cannot be
    sent twice anyway (one row per lead and step)."""
    why = f"{type(err).__name__}: {err}"[:300]
    log.error(
        "%d email(s) accepted by the mail server could not be recorded (%s)",
        len(sent),
        why,
        exc_info=err,
    )
    now = ctx.clock.now()
    shown = ", ".join(c.outgoing.to_email for c, _ in sent[:5]) + (
        f" and {len(sent) - 5} more" if len(sent) > 5 else ""
    )
    if isinstance(err, DatabaseUnavailable):
        text = (
            f"🚨 {len(sent)} email(s) were accepted by the mail server but could not be recorded "
            f"because the database was unreachable ({why}): {shown}. They are settled from the "
            "Sent folder once it is back (see /uncertain), not sent again blindly."
        )
        try:
            with ctx.db.transaction() as session:
                notify.raise_alert(session, now, RECORD_FAILED, text)
        except Exception:  # noqa: BLE001 - still unreachable; the log above is all there is
            log.exception("could not raise the %s alert", RECORD_FAILED)
        return
    text = (
        f"🚨 {len(sent)} email(s) were accepted by the mail server but could not be recorded "
        f"({why}). They are marked sent and will not be sent again, but their leads did not "
        f"move on ({shown}). The campaign is paused; fix the cause (check /settings), then /run."
    )
    try:
        with ctx.db.transaction() as session:
            for claimed, at in sent:
                row = session.get(OutboundMessage, claimed.outbound_id, with_for_update=True)
                if row is None or row.state != SENDING:
                    continue
                row.state = MSG_SENT
                row.sent_at = at
                row.lease_owner = None
                row.lease_expires_at = None
                row.error = f"accepted by the server; recording failed: {why}"[:1000]
            _pause(session, now, "an email was sent but could not be recorded")
            notify.raise_alert(session, now, RECORD_FAILED, text)
        return
    except Exception:  # noqa: BLE001
        log.exception("could not mark the unrecorded emails sent; raising the alert alone")
    text = (
        f"🚨 {len(sent)} email(s) were accepted by the mail server but could not be recorded "
        f"({why}): {shown}. They stay 'sending' and are settled from the Sent folder (see "
        "/uncertain), not sent again blindly. The campaign is paused; fix the cause, then /run."
    )
    try:
        with ctx.db.transaction() as session:
            _pause(session, now, "an email was sent but could not be recorded")
            notify.raise_alert(session, now, RECORD_FAILED, text)
    except Exception:  # noqa: BLE001 - nothing can be written; the log above is all there is
        log.exception("could not raise the %s alert", RECORD_FAILED)


def _until_recorded(ctx: EngineContext, fn: Any, *args: Any) -> Any:
    """After the SMTP transaction its outcome must reach the database: a database blip here
    would leave a delivered message ``sending``, to be settled later as uncertain. Retry for
    up to half the claim's lease (the claim stays ours meanwhile)."""
    delay = 0.5
    deadline = time.monotonic() + ctx.lease_seconds / 2
    while True:
        try:
            return fn(*args)
        except DatabaseUnavailable:
            if time.monotonic() >= deadline:
                raise
            log.warning("database unavailable while recording a send; retrying in %.1fs", delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


CLAIM_BATCH = 50
UNRECORDED = "unrecorded"  # sent, but the outcome could not be written (admins alerted)
_STOPPING = ("retry", "paused", "quota", "backoff", "uncertain", UNRECORDED)


def campaign_running(ctx: EngineContext) -> bool:
    """The brake, read before every SMTP transaction: the committed campaign state, one
    primary-key read (no lock, so it never waits for a claim or a pause)."""
    with ctx.db.transaction() as session:
        state = session.scalar(select(Campaign.state).where(Campaign.id == 1))
    return state == store.RUNNING


def in_flight(session: Session, now: datetime) -> int:
    """How many emails may be inside an SMTP transaction right now, at most: one per sender
    holding live ``sending`` claims (a sender hands its claims to the server one by one and reads
    the brake before each). Asked right after a pause/stop commits, this bounds what can still
    reach the server: every other claim sees the brake and is released unsent."""
    return int(
        session.scalar(
            select(func.count(func.distinct(OutboundMessage.lease_owner))).where(
                OutboundMessage.state == SENDING,
                OutboundMessage.lease_owner.is_not(None),
                OutboundMessage.lease_expires_at > now,
            )
        )
        or 0
    )


def run_send_queue(
    ctx: EngineContext, mailer: Mailer, *, max_sends: int = 10_000
) -> DispatchReport:
    """The send job's body: send what is due until the gate says wait or nothing is due.

    With pacing on, each claim is one email and each outcome is written as it happens. With
    pacing off, up to CLAIM_BATCH emails are claimed together and their successes recorded
    together at the end of the batch (a crash in between leaves them ``sending``, settled from
    the Sent folder like any other uncertain send).

    Before each SMTP transaction the campaign's committed state is read again: once a pause or
    stop is committed no further email of the batch starts, and the unstarted claims are released
    (back in their queue, not counted against the cap or the pacing)."""
    report = DispatchReport()
    done = 0
    while done < max_sends:
        batch = claim_batch(ctx, min(CLAIM_BATCH, max_sends - done))
        if isinstance(batch, Gate):
            report.stopped_reason = batch.reason
            break
        deferred: list[tuple[Claimed, datetime]] | None = [] if len(batch) > 1 else None
        stop_at: int | None = None
        for i, claimed in enumerate(batch):
            if not campaign_running(ctx):
                report.stopped_reason = "the campaign was paused or stopped"
                stop_at = i
                break
            outcome, _ = _send(ctx, mailer, claimed, deferred)
            done += 1
            report.events.append(outcome)
            if outcome in ("sent", UNRECORDED):
                report.sent += 1
            elif outcome == "retry":
                report.retried += 1
            else:
                report.failed += 1
            if outcome in _STOPPING:
                stop_at = i + 1
                break
        if not _flush_sent(ctx, deferred):
            report.events.append(UNRECORDED)
            stop_at = len(batch) if stop_at is None else stop_at
        if stop_at is not None:
            _until_recorded(ctx, release, ctx, batch[stop_at:])
            return report
    return report


def release(ctx: EngineContext, claimed: list[Claimed]) -> None:
    """Undo claims that were never attempted (the batch stopped early): a fresh one is deleted
    and its lead goes back to its place in the queue; a queued one waits again, with its
    Message-ID. Neither counts against the cap, nor towards the pacing's batch pause."""
    if not claimed:
        return
    with ctx.db.transaction() as session:
        released = 0
        for c in claimed:
            row = session.get(OutboundMessage, c.outbound_id, with_for_update=True)
            if row is None or row.state != SENDING or row.lease_owner != ctx.owner:
                continue
            released += 1
            lead = session.get(Lead, c.lead_id) if c.lead_id is not None else None
            if c.from_queue is not None and lead is not None:
                session.delete(row)
                lead.queue, lead.next_send_at = c.from_queue, c.was_due
                if c.step == 0:
                    lead.first_subject = None
            else:
                _requeue(row, None, "released: the batch stopped before this one")
                row.attempts = max(0, (row.attempts or 1) - 1)
        if released:
            mb = store.mailbox(session, ctx.clock.now(), lock=True)
            mb.batch_count = max(0, (mb.batch_count or 0) - released)


def expire_leases(ctx: EngineContext, *, everything: bool = False) -> int:
    """``sending`` rows left by a crashed worker become ``uncertain``: the lease ran out, or the
    owner was a process on this host that is gone, or (SQLite, one process) ``everything``."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        stmt = select(OutboundMessage).where(OutboundMessage.state == SENDING)
        rows = list(session.scalars(_skip_locked(stmt, ctx)))
        expired = 0
        for row in rows:
            lease_over = row.lease_expires_at is not None and row.lease_expires_at < now
            gone = row.lease_owner is not None and owner_is_gone(row.lease_owner, ctx.owner)
            if not (everything or lease_over or gone):
                continue
            row.state = UNCERTAIN
            row.error = "the process stopped during the SMTP transaction"
            row.lease_owner = None
            row.lease_expires_at = None
            expired += 1
        return expired


def count_uncertain(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.state == UNCERTAIN)
        )
        or 0
    )
