"""May an email go now? The campaign's state, the account's back-off, the send window, the
daily cap and the pacing, read from the database and judged by ``engine.sending.pacing`` into
one decision (a :class:`~engine.sending.pacing.Gate`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, select, type_coerce
from sqlalchemy.orm import Session

from engine.campaigns.config import CampaignConfig
from engine.config import Settings
from engine.context import EngineContext
from engine.sending.pacing import (
    ROLLING_WINDOW,
    Gate,
    PacingRules,
    PacingState,
    SendCounts,
    day_start,
    gate,
)
from engine.states import CampaignState, Hold, MailboxStatus, OutboundState
from engine.storage import store
from engine.storage.models import (
    DEFAULT_CAMPAIGN,
    PRIMARY_MAILBOX,
    Mailbox,
    MailboxState,
    OutboundMessage,
)

# Messages that count against the cap: everything handed to (or possibly taken by) the server.
COUNTED_STATES = (OutboundState.SENDING, OutboundState.SENT, OutboundState.UNCERTAIN)


def pacing_rules(s: Settings) -> PacingRules:
    """A mailbox's cap and pacing. The send window is not the mailbox's: each campaign has its
    own, read in each lead's zone when a lead is claimed (``engine.campaigns.timing``)."""
    return PacingRules(
        daily_limit=s.daily_limit,
        min_delay=s.min_delay,
        max_delay=s.max_delay,
        pause_every=s.pause_every,
        pause_min=s.pause_min,
        pause_max=s.pause_max,
        window=None,
    )


def _count_columns(now: datetime, tz: ZoneInfo) -> tuple[list[Any], ColumnElement[bool]]:
    """Sends since local midnight, within the rolling 24 hours, and the oldest of those, as
    aggregate columns, with the filter that keeps the scan to the window's rows (the index on
    attempted_at)."""
    window_start = now - ROLLING_WINDOW
    today = day_start(now, tz)
    at = OutboundMessage.attempted_at
    # (now - 24 h, now]: a send exactly 24 h old has left the window, so the gate opens at the
    # wait_until it announced (oldest + 24 h), not one tick later.
    in_window = at > window_start
    columns = [
        func.coalesce(func.sum(case((at >= today, 1), else_=0)), 0),
        func.coalesce(func.sum(case((in_window, 1), else_=0)), 0),
        func.min(type_coerce(case((in_window, at), else_=None), at.type)),
    ]
    return columns, and_(at >= min(window_start, today), OutboundMessage.state.in_(COUNTED_STATES))


def send_counts(
    session: Session, now: datetime, s: Settings, mailbox_id: int | None = None
) -> SendCounts:
    """Sends since local midnight and within the rolling 24 hours, counted by the database:
    of one mailbox, or of all with ``mailbox_id=None``."""
    columns, recent = _count_columns(now, s.tz)
    row = session.execute(
        select(*columns).where(
            recent, *([store.sent_from(mailbox_id)] if mailbox_id is not None else [])
        )
    ).one()
    return SendCounts(sent_today=int(row[0]), sent_last_24h=int(row[1]), oldest_in_window=row[2])


def send_counts_by_mailbox(session: Session, now: datetime, tz: ZoneInfo) -> dict[int, SendCounts]:
    """:func:`send_counts` of every mailbox in one grouped query (absent: none sent). Rows
    written before there were mailboxes are mailbox 1's."""
    columns, recent = _count_columns(now, tz)
    mailbox = func.coalesce(OutboundMessage.mailbox_id, PRIMARY_MAILBOX)
    return {
        int(mid): SendCounts(sent_today=int(a), sent_last_24h=int(b), oldest_in_window=c)
        for mid, a, b, c in session.execute(
            select(mailbox, *columns).where(recent).group_by(mailbox)
        )
    }


def campaign_sends(session: Session, since: datetime, campaign_ids: list[int]) -> dict[int, int]:
    """Emails each campaign handed to (or possibly got past) the server since ``since``: what
    a campaign's own daily limit counts, by campaign id (absent: none)."""
    if not campaign_ids:
        return {}
    return {
        int(cid): int(n)
        for cid, n in session.execute(
            select(OutboundMessage.campaign_id, func.count())
            .where(
                OutboundMessage.campaign_id.in_(campaign_ids),
                OutboundMessage.attempted_at >= since,
                OutboundMessage.state.in_(COUNTED_STATES),
            )
            .group_by(OutboundMessage.campaign_id)
        )
    }


def send_gate(
    session: Session,
    ctx: EngineContext,
    now: datetime,
    *,
    lock: bool,
    campaign_id: int | None = None,
) -> Gate:
    """Everything that may hold sending back, in one place: campaign, account, cap, pacing.
    With several mailboxes: open when any of them may send now, else the hold that ends
    first (a hold without an end when none has one). With ``campaign_id``: that campaign's
    view (its state, its mailboxes, its own cap, its window in its zone)."""
    from engine.campaigns.timing import configs
    from engine.mailboxes import accounts

    base = store.effective_settings(session, ctx.settings)
    boxes = list(
        session.scalars(
            select(Mailbox).where(Mailbox.state != MailboxStatus.REMOVED).order_by(Mailbox.id)
        )
    )
    config = configs(session, base, now).get(campaign_id) if campaign_id is not None else None
    if config is not None and config.mailboxes is not None:
        boxes = [b for b in boxes if config.uses(b.email)]
        if not boxes:
            return Gate(Hold.NO_MAILBOX, detail={"mailboxes": ", ".join(sorted(config.mailboxes))})
    if not boxes:
        return evaluate(session, base, now, lock=lock, campaign_id=campaign_id)[0]
    held: list[Gate] = []
    for box in boxes:
        s = accounts.resolve(box, base, "").settings_for(base, now)
        g = evaluate(session, s, now, lock=lock, mailbox_id=box.id, campaign_id=campaign_id)[0]
        if g.allowed or g.hold == Hold.CAMPAIGN_NOT_RUNNING:
            return (
                g if config is None or not g.allowed else _campaign_gate(session, config, now, base)
            )
        held.append(g)
    timed = [g for g in held if g.wait_until is not None]
    return min(timed, key=lambda g: g.wait_until or now) if timed else held[0]


def _campaign_gate(session: Session, config: CampaignConfig, now: datetime, base: Settings) -> Gate:
    """A mailbox may send: does the campaign's own cap or window hold it back? The window is
    judged in the campaign's zone (leads with a zone of their own may still be inside theirs)."""
    if config.daily_limit is not None:
        sent = campaign_sends(session, day_start(now, base.tz), [config.id]).get(config.id, 0)
        if sent >= config.daily_limit:
            return Gate(Hold.CAMPAIGN_LIMIT, detail={"sent": sent, "limit": config.daily_limit})
    window = config.window
    if window is not None and not window.contains(now, config.tz):
        return Gate(Hold.OUTSIDE_WINDOW, window.next_open(now, config.tz), window.detail(config.tz))
    return Gate(None)


def evaluate(
    session: Session,
    s: Settings,
    now: datetime,
    *,
    lock: bool,
    mb: MailboxState | None = None,
    mailbox_id: int = PRIMARY_MAILBOX,
    campaign_id: int | None = None,
) -> tuple[Gate, PacingState, SendCounts]:
    """The gate of one mailbox, with the pacing state and counts it was judged on (a claim goes
    on from them). ``s`` is the settings as that mailbox sends with them (its cap). Closed when
    no campaign runs, or, with ``campaign_id``, when that one does not."""
    if campaign_id is None and store.running_campaigns(session):
        camp = None
    else:
        camp = store.campaign(session, now, campaign_id=campaign_id or DEFAULT_CAMPAIGN)
    mb = mb or store.mailbox(session, now, lock=lock, mailbox_id=mailbox_id)
    state = PacingState(mb.next_send_at, mb.batch_count, mb.blocked_until, mb.blocked_reason)
    counts = send_counts(session, now, s, mailbox_id)
    if camp is not None and camp.state != CampaignState.RUNNING:
        detail = {"state": str(camp.state), "reason": camp.reason}
        return Gate(Hold.CAMPAIGN_NOT_RUNNING, detail=detail), state, counts
    box = session.get(Mailbox, mailbox_id)
    if box is not None and box.state != MailboxStatus.ACTIVE:
        detail = {"mailbox": box.email, "state": box.state, "hold": box.hold or ""}
        return Gate(Hold.MAILBOX_PAUSED, detail=detail), state, counts
    return gate(now, state, pacing_rules(s), counts, s.tz), state, counts
