"""May an email go now? The campaign's state, the account's back-off, the send window, the
daily cap and the pacing, read from the database and judged by ``engine.sending.pacing`` into
one decision (a :class:`~engine.sending.pacing.Gate`)."""

from __future__ import annotations

from datetime import datetime
from datetime import time as clock_time

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.context import EngineContext
from engine.sending.pacing import (
    ROLLING_WINDOW,
    Gate,
    PacingRules,
    PacingState,
    SendCounts,
    SendWindow,
    day_start,
    gate,
)
from engine.states import CampaignState, Hold, MailboxStatus, OutboundState
from engine.storage import store
from engine.storage.models import PRIMARY_MAILBOX, Mailbox, MailboxState, OutboundMessage

# Messages that count against the cap: everything handed to (or possibly taken by) the server.
COUNTED_STATES = (OutboundState.SENDING, OutboundState.SENT, OutboundState.UNCERTAIN)


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


def send_counts(
    session: Session, now: datetime, s: Settings, mailbox_id: int | None = None
) -> SendCounts:
    """Sends since local midnight and within the rolling 24 hours, counted by the database
    (the index on attempted_at keeps this to the window's rows): of one mailbox, or of all
    with ``mailbox_id=None``."""
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
        ).where(
            at >= min(window_start, today),
            OutboundMessage.state.in_(COUNTED_STATES),
            *([store.sent_from(mailbox_id)] if mailbox_id is not None else []),
        )
    ).one()
    return SendCounts(sent_today=int(row[0]), sent_last_24h=int(row[1]), oldest_in_window=row[2])


def send_gate(session: Session, ctx: EngineContext, now: datetime, *, lock: bool) -> Gate:
    """Everything that may hold sending back, in one place: campaign, account, cap, pacing.
    With several mailboxes: open when any of them may send now, else the hold that ends
    first (a hold without an end when none has one)."""
    from engine.mailboxes import accounts

    base = store.effective_settings(session, ctx.settings)
    boxes = session.scalars(
        select(Mailbox).where(Mailbox.state != MailboxStatus.REMOVED).order_by(Mailbox.id)
    ).all()
    if not boxes:
        return evaluate(session, base, now, lock=lock)[0]
    held: list[Gate] = []
    for box in boxes:
        s = accounts.resolve(box, base, "").settings_for(base, now)
        g = evaluate(session, s, now, lock=lock, mailbox_id=box.id)[0]
        if g.allowed or g.hold == Hold.CAMPAIGN_NOT_RUNNING:
            return g
        held.append(g)
    timed = [g for g in held if g.wait_until is not None]
    return min(timed, key=lambda g: g.wait_until or now) if timed else held[0]


def evaluate(
    session: Session,
    s: Settings,
    now: datetime,
    *,
    lock: bool,
    mb: MailboxState | None = None,
    mailbox_id: int = PRIMARY_MAILBOX,
) -> tuple[Gate, PacingState, SendCounts]:
    """The gate of one mailbox, with the pacing state and counts it was judged on (a claim goes
    on from them). ``s`` is the settings as that mailbox sends with them (its cap)."""
    camp = store.campaign(session, now)
    mb = mb or store.mailbox(session, now, lock=lock, mailbox_id=mailbox_id)
    state = PacingState(mb.next_send_at, mb.batch_count, mb.blocked_until, mb.blocked_reason)
    counts = send_counts(session, now, s, mailbox_id)
    if camp.state != CampaignState.RUNNING:
        detail = {"state": str(camp.state), "reason": camp.reason}
        return Gate(Hold.CAMPAIGN_NOT_RUNNING, detail=detail), state, counts
    box = session.get(Mailbox, mailbox_id)
    if box is not None and box.state != MailboxStatus.ACTIVE:
        detail = {"mailbox": box.email, "state": box.state, "hold": box.hold or ""}
        return Gate(Hold.MAILBOX_PAUSED, detail=detail), state, counts
    return gate(now, state, pacing_rules(s), counts, s.tz), state, counts
