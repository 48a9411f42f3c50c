"""The send queue: claim → brake check → SMTP → record, each step its own transaction.

A claim (``engine.sending.claims``) commits the outbound message as ``sending`` BEFORE the SMTP
transaction starts; the outcome is written after (``engine.sending.outcomes``). What a failure
means was decided by ``engine.sending.smtp_errors``; what to do about it by
``engine.sending.failure_policy``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.context import EngineContext
from engine.errors import DatabaseUnavailable, SendError
from engine.sending.claims import Claimed, claim_round, release
from engine.sending.messages import build_message, normalise_address
from engine.sending.outcomes import (
    record_bad_address,
    record_failed_after_250,
    record_failure,
    record_sent_many,
)
from engine.sending.pacing import Gate
from engine.sending.smtp import Mailer
from engine.states import CAMPAIGN_KINDS, CampaignState, Hold
from engine.storage.models import DEFAULT_CAMPAIGN, PRIMARY_MAILBOX, QUEUE_NEW, Campaign
from engine.unsubscribe.links import unsubscribe_url

log = logging.getLogger(__name__)

CLAIM_BATCH = 50
UNRECORDED = "unrecorded"  # sent, but the outcome could not be written (admins alerted)
_STOPPING = ("retry", "paused", "quota", "backoff", "uncertain", UNRECORDED)


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    stopped_by: Gate | None = None  # the closed gate (or the brake) that ended the run
    events: list[str] = field(default_factory=list)


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
            unsubscribe_url=_unsubscribe_url(claimed),
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


def _unsubscribe_url(claimed: Claimed) -> str | None:
    """The one-click unsubscribe link of a campaign email (a step of the sequence) when
    PUBLIC_URL is set; None for answers to replies (calendar, the chat's) and without it."""
    if claimed.kind not in CAMPAIGN_KINDS or claimed.lead_id is None:
        return None
    s = claimed.settings
    return unsubscribe_url(
        s.public_url, s.secret_key, claimed.lead_id, claimed.campaign_id, claimed.outgoing.to_email
    )


def _flush_sent(ctx: EngineContext, sent: list[tuple[Claimed, datetime]] | None) -> bool:
    """Record the 250s in ``sent``; False if that failed (the admins were alerted)."""
    if not sent:
        return True
    batch = list(sent)
    sent.clear()
    try:
        _until_recorded(ctx, record_sent_many, ctx, batch)
    except Exception as e:  # noqa: BLE001 - any failure here must reach the admins
        record_failed_after_250(ctx, batch, e)
        return False
    return True


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


def campaign_running(ctx: EngineContext, campaign_id: int = DEFAULT_CAMPAIGN) -> bool:
    """The brake, read before every SMTP transaction: the committed state of the email's
    campaign, one primary-key read (no lock, so it never waits for a claim or a pause)."""
    with ctx.db.transaction() as session:
        state = session.scalar(select(Campaign.state).where(Campaign.id == campaign_id))
    return state == CampaignState.RUNNING


def _count(report: DispatchReport, outcome: str) -> None:
    report.events.append(outcome)
    if outcome in ("sent", UNRECORDED):
        report.sent += 1
    elif outcome == "retry":
        report.retried += 1
    else:
        report.failed += 1


def run_send_queue(
    ctx: EngineContext,
    mailer: Mailer,
    *,
    max_sends: int = 10_000,
    mailbox_id: int = PRIMARY_MAILBOX,
    new_leads: int | None = None,
) -> DispatchReport:
    """One mailbox's sending: send what is due until its gate says wait or nothing is due.

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
        batch, closed = claim_round(ctx, min(CLAIM_BATCH, max_sends - done), mailbox_id, new_leads)
        if isinstance(batch, Gate):
            report.stopped_by = batch
            break
        if new_leads is not None:
            new_leads -= sum(1 for c in batch if c.from_queue == QUEUE_NEW)
        deferred: list[tuple[Claimed, datetime]] | None = [] if len(batch) > 1 else None
        stop_at: int | None = None
        for i, claimed in enumerate(batch):
            if not campaign_running(ctx, claimed.campaign_id):
                report.stopped_by = Gate(Hold.BRAKE)
                stop_at = i
                break
            outcome, _ = _send(ctx, mailer, claimed, deferred)
            done += 1
            _count(report, outcome)
            if outcome in _STOPPING:
                stop_at = i + 1
                break
        if not _flush_sent(ctx, deferred):
            report.events.append(UNRECORDED)
            stop_at = len(batch) if stop_at is None else stop_at
        if stop_at is not None:
            _until_recorded(ctx, release, ctx, batch[stop_at:])
            return report
        if closed is not None:  # the claim drew the next gap (or reached the cap): wait for it
            report.stopped_by = closed
            break
    return report
