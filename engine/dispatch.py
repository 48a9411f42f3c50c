"""The send queue: claim one email, send it, record the outcome — each step its own transaction.

A claim commits the outbound message as ``sending`` (Message-ID already generated, lease set,
pacing slot reserved) BEFORE the SMTP transaction starts. The outcome is written after. What a
failure means was decided by ``engine.smtp.classify_smtp_error``; what to do about it is decided
here, in ``_record_failure``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine import notify, store
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
from engine.leases import owner_is_gone
from engine.messages import (
    Outgoing,
    build_message,
    make_message_id,
    normalise_address,
    reply_subject,
)
from engine.models import (
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
    Lead,
    OutboundMessage,
)
from engine.pacing import (
    ROLLING_WINDOW,
    Gate,
    PacingRules,
    PacingState,
    SendCounts,
    after_send,
    day_start,
    gate,
    retry_backoff,
)
from engine.smtp import Mailer
from engine.templates import render_template

log = logging.getLogger(__name__)

# Messages that count against the cap: everything handed to (or possibly taken by) the server.
COUNTED_STATES = (SENDING, MSG_SENT, UNCERTAIN)
# Recipient errors in a row across this many domains mean the account, not the leads.
RECIPIENT_STREAK = 3
ACCOUNT_BACKOFF = timedelta(minutes=15)


@dataclass(frozen=True)
class Claimed:
    outbound_id: int
    lead_id: int | None
    kind: str
    step: int
    outgoing: Outgoing


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
    )


def send_counts(session: Session, now: datetime, s: Settings) -> SendCounts:
    window_start = now - ROLLING_WINDOW
    since = min(window_start, day_start(now, s.tz))
    rows = session.execute(
        select(OutboundMessage.attempted_at).where(
            OutboundMessage.attempted_at >= since, OutboundMessage.state.in_(COUNTED_STATES)
        )
    ).scalars()
    times = [t for t in rows if t is not None]
    today = day_start(now, s.tz)
    # (now - 24 h, now]: a send exactly 24 h old has left the window, so the gate opens at the
    # wait_until it announced (oldest + 24 h), not one tick later.
    in_window = [t for t in times if t > window_start]
    return SendCounts(
        sent_today=sum(1 for t in times if t >= today),
        sent_last_24h=len(in_window),
        oldest_in_window=min(in_window) if in_window else None,
    )


def send_gate(session: Session, ctx: EngineContext, now: datetime, *, lock: bool) -> Gate:
    """Everything that may hold sending back, in one place: campaign, account, cap, pacing."""
    s = store.effective_settings(session, ctx.settings)
    camp = store.campaign(session, now)
    if camp.state != store.RUNNING:
        why = f" ({camp.reason})" if camp.reason else ""
        return Gate(False, f"campaign is {camp.state}{why}")
    mb = store.mailbox(session, now, lock=lock)
    state = PacingState(mb.next_send_at, mb.batch_count, mb.blocked_until, mb.blocked_reason)
    return gate(now, state, pacing_rules(s), send_counts(session, now, s), s.tz)


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


def _claim_queued(session: Session, ctx: EngineContext, now: datetime) -> Claimed | None:
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
        return _claim_queued(session, ctx, now)
    if lead is not None and store.suppressed(session, lead.email):
        row.state = CANCELLED
        row.error = "suppressed"
        session.flush()
        return _claim_queued(session, ctx, now)
    _lease(row, ctx, now)
    return Claimed(row.id, row.lead_id, row.kind, row.step, _outgoing(row, _lead_name(lead)))


def _claim_lead(
    session: Session, ctx: EngineContext, s: Settings, now: datetime, queue: int
) -> Claimed | None:
    stmt = (
        select(Lead)
        .where(Lead.queue == queue, Lead.next_send_at <= now)
        .order_by(Lead.next_send_at, Lead.id)
        .limit(1)
    )
    while True:
        lead = session.scalars(_skip_locked(stmt, ctx)).first()
        if lead is None:
            return None
        lead.queue = None
        if lead.status not in (PENDING, SENT):
            continue
        hit = store.suppressed(session, lead.email)
        if hit is not None:
            if hit.kind == "email":
                lead.status = UNSUBSCRIBED
            else:
                lead.status = STOPPED_LEAD
            lead.last_error = f"suppressed: {hit.reason or hit.value}"
            lead.next_send_at = None
            continue
        step = lead.next_step
        if step > len(s.followup_delays):
            lead.status = COMPLETED
            lead.next_send_at = None
            continue
        name = "initial" if step == 0 else f"followup_{step}"
        subject, body = render_template(store.template(session, name), _lead_values(lead, s))
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
        session.flush()
        return Claimed(row.id, lead.id, row.kind, step, _outgoing(row, _lead_name(lead)))


def claim_next(ctx: EngineContext) -> Claimed | Gate:
    """One transaction: check the gate, pick the next email, commit it as ``sending``."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        g = send_gate(session, ctx, now, lock=True)
        if not g.allowed:
            return g
        s = store.effective_settings(session, ctx.settings)
        claimed = (
            _claim_queued(session, ctx, now)
            or _claim_lead(session, ctx, s, now, QUEUE_FOLLOWUP)
            or _claim_lead(session, ctx, s, now, QUEUE_NEW)
        )
        if claimed is None:
            return Gate(False, "nothing is due")
        mb = store.mailbox(session, now, lock=True)
        nxt = after_send(
            now,
            PacingState(mb.next_send_at, mb.batch_count, mb.blocked_until, mb.blocked_reason),
            pacing_rules(s),
            ctx.rng,
        )
        mb.next_send_at, mb.batch_count, mb.updated_at = nxt.next_send_at, nxt.batch_count, now
        return claimed


def record_sent(ctx: EngineContext, claimed: Claimed) -> None:
    """The server said 250: the message is sent and the lead moves on — one transaction."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        s = store.effective_settings(session, ctx.settings)
        row = session.get(OutboundMessage, claimed.outbound_id, with_for_update=True)
        if row is None or row.state == MSG_SENT:
            return
        mark_message_sent(session, s, row, now)
        mb = store.mailbox(session, now, lock=True)
        mb.retry_failures = 0
        mb.recipient_errors = {}
        for condition, text in (
            ("account", "Sending works again: the mailbox accepted an email."),
            ("server_busy", "The mail server is accepting emails again."),
            ("quota", "The sending quota is available again: emails are going out."),
            ("too_many_logins", "The mailbox accepts logins again: emails are going out."),
        ):
            notify.clear_alert(session, now, condition, text)


def mark_message_sent(session: Session, s: Settings, row: OutboundMessage, now: datetime) -> None:
    """A message is known to be sent (by the server's 250 or found in the Sent folder)."""
    row.state = MSG_SENT
    row.sent_at = now
    row.lease_owner = None
    row.lease_expires_at = None
    row.error = None
    if row.lead_id is None or row.kind == CALENDAR:
        return
    lead = session.get(Lead, row.lead_id, with_for_update=True)
    if lead is None:
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
        return _recipient_rejected(session, now, mb, row, text)
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
    session: Session, now: datetime, mb: Any, row: OutboundMessage, text: str
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
    s = ctx.settings
    with ctx.db.transaction() as session:
        s = store.effective_settings(session, ctx.settings)
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
        _until_recorded(ctx, record_bad_address, ctx, claimed, str(e))
        log.warning("lead %s has an unusable address; marked failed", claimed.lead_id)
        return "failed"
    try:
        mailer.send(msg, from_addr=s.email_address, to_addr=to_addr)
    except SendError as err:
        outcome = _until_recorded(ctx, record_failure, ctx, claimed, err)
        log.warning(
            "send %s to lead %s: %s (%s)",
            claimed.kind,
            claimed.lead_id,
            outcome,
            type(err).__name__,
        )
        return outcome
    _until_recorded(ctx, record_sent, ctx, claimed)
    log.info("sent %s step %d to lead %s", claimed.kind, claimed.step, claimed.lead_id)
    return "sent"


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


def run_send_queue(
    ctx: EngineContext, mailer: Mailer, *, max_sends: int = 10_000
) -> DispatchReport:
    """The send job's body: send what is due until the gate says wait or nothing is due."""
    report = DispatchReport()
    for _ in range(max_sends):
        claimed = claim_next(ctx)
        if isinstance(claimed, Gate):
            report.stopped_reason = claimed.reason
            break
        outcome = send_claimed(ctx, mailer, claimed)
        report.events.append(outcome)
        if outcome == "sent":
            report.sent += 1
        elif outcome == "retry":
            report.retried += 1
            break
        else:
            report.failed += 1
            if outcome in ("paused", "quota", "backoff", "uncertain"):
                break
    return report


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
