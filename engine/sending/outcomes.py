"""Writing what happened to a claimed email, each in its own transaction: the server's 250
(the message is sent, the lead moves on), a failure (the decision of
``engine.sending.failure_policy`` applied), an address that cannot go on an envelope, and a
250 whose recording failed."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import notify
from engine.campaigns.timing import allowed_from
from engine.campaigns.timing import configs as campaign_configs
from engine.config import Settings
from engine.context import EngineContext
from engine.errors import DatabaseUnavailable, SendError
from engine.leads import lifecycle
from engine.mailboxes import faults
from engine.reasons import Reason
from engine.sending.bounce_guard import guard_bounce_rate
from engine.sending.claims import Claimed, give_back, requeue, unlease
from engine.sending.failure_policy import (
    STREAK_PAUSE,
    Action,
    FailureDecision,
    decide,
    streak_points_at_account,
)
from engine.sending.pacing import retry_backoff
from engine.states import (
    REPLY_KINDS,
    AlertCondition,
    MailboxHold,
    NoticeKind,
    OutboundState,
    StateReason,
)
from engine.storage import store
from engine.storage.models import PRIMARY_MAILBOX, Alert, Lead, MailboxState, OutboundMessage

log = logging.getLogger(__name__)

# Standing conditions that an email the server accepted proves over.
CLEARED_BY_A_SEND = (
    AlertCondition.ACCOUNT,
    AlertCondition.SERVER_BUSY,
    AlertCondition.QUOTA,
    AlertCondition.TOO_MANY_LOGINS,
    AlertCondition.RECORD_FAILED,
)


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
        base = store.effective_settings(session, ctx.settings)
        for claimed, at in sent:
            row = rows.get(claimed.outbound_id)
            if row is None or row.state == OutboundState.SENT:
                continue
            lead = leads.get(row.lead_id) if row.lead_id is not None else None
            _mark_sent(session, base, row, lead, at)
        for mailbox_id in sorted({c.mailbox_id for c, _ in sent}):
            mb = store.mailbox(session, now, mailbox_id=mailbox_id)
            if mb.retry_failures or mb.recipient_errors:
                mb = store.mailbox(session, now, lock=True, mailbox_id=mailbox_id)
                mb.retry_failures = 0
                mb.recipient_errors = {}
        scopes = {faults.scope_of(c.mailbox_id): c.mailbox_id for c, _ in sent}
        active = session.execute(
            select(Alert.condition, Alert.scope).where(
                Alert.active.is_(True),
                Alert.condition.in_(list(CLEARED_BY_A_SEND)),
                Alert.scope.in_(list(scopes)),
            )
        ).all()
        for condition, scope in active:
            payload = faults.named(session, scopes[scope], {"by": "send"})
            notify.clear_alert(session, now, AlertCondition(condition), payload, scope=scope)


def mark_message_sent(session: Session, s: Settings, row: OutboundMessage, now: datetime) -> None:
    """A message is known to be sent (by the server's 250 or found in the Sent folder). ``s``
    is the global effective settings (the lead's campaign's own values go over them)."""
    lead = None
    if row.lead_id is not None and row.kind not in REPLY_KINDS:
        lead = session.get(Lead, row.lead_id, with_for_update=True)
    _mark_sent(session, s, row, lead, now)


def _mark_sent(
    session: Session, base: Settings, row: OutboundMessage, lead: Lead | None, now: datetime
) -> None:
    """The row is sent; its lead waits for its campaign's next step, due after the step's
    delay and inside the campaign's window in the lead's zone (or its sequence is over)."""
    unlease(row, OutboundState.SENT, None)
    row.sent_at = now
    if lead is None or row.kind in REPLY_KINDS:
        return
    config = campaign_configs(session, base, now).get(lead.campaign_id)
    delays = config.followup_delays if config is not None else base.followup_delays
    next_due = now + delays[row.step] if row.step < len(delays) else None
    if next_due is not None and config is not None:
        next_due = allowed_from(lead, config, next_due)
    lifecycle.step_sent(lead, row.step, now, next_due)


def _pause(session: Session, now: datetime, why: StateReason) -> None:
    """A service-wide cause (outcomes cannot be recorded...): every running campaign pauses."""
    store.pause_running(session, now, Reason.of(why))


def record_failure(ctx: EngineContext, claimed: Claimed, err: SendError) -> str:
    """Decide what a failed send means for the campaign, the account and the lead, and write
    it — one transaction."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = session.get(OutboundMessage, claimed.outbound_id, with_for_update=True)
        if row is None:
            return "gone"
        return apply_failure(session, ctx, now, row, err, decide(err))


def apply_failure(
    session: Session,
    ctx: EngineContext,
    now: datetime,
    row: OutboundMessage,
    err: SendError,
    d: FailureDecision,
) -> str:
    """Write decision ``d`` about ``row``'s failed send inside the caller's transaction; the
    outcome the send queue reports."""
    mailbox_id = row.mailbox_id or PRIMARY_MAILBOX
    mb = store.mailbox(session, now, lock=True, mailbox_id=mailbox_id)
    scope = faults.scope_of(mailbox_id)
    text = err.text[:500]
    if d.action is Action.UNCERTAIN:
        unlease(row, OutboundState.UNCERTAIN, text)
        return d.outcome
    if d.action is Action.BOUNCE:
        s = store.effective_settings(session, ctx.settings)
        return _recipient_rejected(session, s, now, mb, row, text)
    if d.action is Action.RETRY:
        mb.retry_failures = (mb.retry_failures or 0) + 1
        backoff = retry_backoff(row.attempts, ctx.rng, base=ctx.settings.retry_base_seconds)
        requeue(row, now + backoff, text)
        if d.alert is not None and mb.retry_failures >= d.alert_after:
            payload = faults.named(
                session, mailbox_id, {"times": mb.retry_failures, "server": text}
            )
            notify.raise_alert(session, now, d.alert, payload, scope=scope)
        return d.outcome
    lead = session.get(Lead, row.lead_id, with_for_update=True) if row.lead_id else None
    if row.step == 0 and lead is not None and faults.another_can_send(session, mailbox_id):
        give_back(session, row, lead)  # not started yet: another mailbox takes it
    else:
        requeue(row, None, text)  # the same message waits for its mailbox
    if d.mailbox_hold is not None and d.pause_reason is not None:
        faults.hold(session, now, mailbox_id, d.mailbox_hold, Reason.of(d.pause_reason))
    elif d.pause_reason is not None:
        _pause(session, now, d.pause_reason)
    if d.back_off is not None:
        mb.blocked_until = now + d.back_off
        mb.blocked_reason = str(d.block_reason or "")
    if d.alert is not None:
        payload = {"server": text}
        if d.back_off is not None:
            payload["minutes"] = int(d.back_off.total_seconds() // 60)
        payload = faults.named(session, mailbox_id, payload)
        notify.raise_alert(session, now, d.alert, payload, scope=scope)
    return d.outcome


def _recipient_rejected(
    session: Session, s: Settings, now: datetime, mb: MailboxState, row: OutboundMessage, text: str
) -> str:
    """The lead bounces; unless the refusals in a row point at the account, then every lead of
    the streak gets its place back and the campaign pauses."""
    unlease(row, OutboundState.FAILED, text)
    streak: list[dict[str, Any]] = list((mb.recipient_errors or {}).get("streak", []))
    lead = session.get(Lead, row.lead_id, with_for_update=True) if row.lead_id else None
    if lead is not None:
        before = lifecycle.rejected_at_rcpt(lead, text)
        streak.append(
            {
                "outbound": row.id,
                "lead": lead.id,
                "status": str(before),
                "domain": store.email_domain(lead.email),
            }
        )
    if streak_points_at_account(streak):
        for e in streak:
            msg = session.get(OutboundMessage, e["outbound"])
            if msg is not None:
                requeue(msg, None, "retry: recipient errors pointed at the account")
            victim = session.get(Lead, e["lead"])
            if victim is not None:
                lifecycle.restore(victim, e["status"])
        mb.recipient_errors = {}
        faults.hold(session, now, mb.id, MailboxHold.AUTH, Reason.of(StateReason.RECIPIENT_STREAK))
        payload: dict[str, Any] = {
            "cause": "recipients",
            "recipients": len(streak),
            "domains": len({e["domain"] for e in streak}),
            "server": text,
        }
        payload = faults.named(session, mb.id, payload)
        notify.raise_alert(
            session, now, AlertCondition.ACCOUNT, payload, scope=faults.scope_of(mb.id)
        )
        return STREAK_PAUSE.outcome
    mb.recipient_errors = {"streak": streak}
    session.flush()
    if guard_bounce_rate(session, s, now, mailbox_id=mb.id):
        return "paused"
    return "bounced"


def record_bad_address(ctx: EngineContext, claimed: Claimed, reason: str) -> None:
    """The stored address cannot be put on an envelope: this lead fails, nothing else does."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = session.get(OutboundMessage, claimed.outbound_id, with_for_update=True)
        if row is not None:
            unlease(row, OutboundState.FAILED, f"unusable address: {reason}"[:1000])
        lead = session.get(Lead, claimed.lead_id) if claimed.lead_id is not None else None
        if lead is not None:
            lifecycle.failed(lead, f"unusable address: {reason}")
        notify.emit(
            session,
            now,
            NoticeKind.BAD_ADDRESS,
            {"email": claimed.outgoing.to_email, "reason": reason[:100]},
        )


def record_failed_after_250(
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
    payload: dict[str, Any] = {
        "count": len(sent),
        "error": why,
        "emails": [c.outgoing.to_email for c, _ in sent[:5]],
        "more": max(0, len(sent) - 5),
    }
    if isinstance(err, DatabaseUnavailable):
        _alert_record_failed(ctx, now, {"cause": "unreachable", **payload}, pause=False)
        return
    try:
        with ctx.db.transaction() as session:
            for claimed, at in sent:
                row = session.get(OutboundMessage, claimed.outbound_id, with_for_update=True)
                if row is None or row.state != OutboundState.SENDING:
                    continue
                unlease(
                    row,
                    OutboundState.SENT,
                    f"accepted by the server; recording failed: {why}"[:1000],
                )
                row.sent_at = at
            _pause(session, now, StateReason.RECORD_FAILED)
            notify.raise_alert(
                session, now, AlertCondition.RECORD_FAILED, {"cause": "marked_sent", **payload}
            )
        return
    except Exception:  # noqa: BLE001
        log.exception("could not mark the unrecorded emails sent; raising the alert alone")
    _alert_record_failed(ctx, now, {"cause": "left_sending", **payload}, pause=True)


def _alert_record_failed(
    ctx: EngineContext, now: datetime, payload: dict[str, Any], *, pause: bool
) -> None:
    try:
        with ctx.db.transaction() as session:
            if pause:
                _pause(session, now, StateReason.RECORD_FAILED)
            notify.raise_alert(session, now, AlertCondition.RECORD_FAILED, payload)
    except Exception:  # noqa: BLE001 - nothing can be written; the log is all there is
        log.exception("could not raise the %s alert", AlertCondition.RECORD_FAILED)
