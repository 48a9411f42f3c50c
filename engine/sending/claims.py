"""Claims: an email is committed as ``sending`` (Message-ID generated, lease set, pacing slot
reserved) BEFORE the SMTP transaction that sends it starts. A claim never attempted is
released; a claim whose owner died runs out of lease and becomes ``uncertain``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from engine.campaigns.config import CampaignConfig
from engine.campaigns.timing import allowed_from, lead_zone
from engine.campaigns.timing import configs as configs_of
from engine.config import Settings
from engine.context import EngineContext
from engine.leads import lifecycle
from engine.mailboxes import accounts
from engine.message_ids import reply_headers
from engine.sending.compose import lead_name, lead_values, outgoing, thread
from engine.sending.domain_spacing import DomainSpacing
from engine.sending.gate import campaign_sends, evaluate, pacing_rules
from engine.sending.messages import Outgoing, make_message_id, reply_subject
from engine.sending.pacing import Gate, PacingRules, SendCounts, after_send, day_start, gate
from engine.states import REPLY_KINDS, Hold, MessageKind, OutboundState
from engine.storage import store
from engine.storage.leases import owner_is_gone
from engine.storage.models import (
    DEFAULT_CAMPAIGN,
    PRIMARY_MAILBOX,
    QUEUE_FOLLOWUP,
    QUEUE_NEW,
    Lead,
    OutboundMessage,
    Suppression,
)
from engine.templates import render_template


@dataclass(frozen=True)
class Claimed:
    outbound_id: int
    lead_id: int | None
    kind: str
    step: int
    outgoing: Outgoing
    # The effective settings at claim time as the mailbox sends with them (its address and
    # sender name, the follow-up delays).
    settings: Settings
    mailbox_id: int = PRIMARY_MAILBOX
    # Where a fresh claim came from, so an unattempted claim can be undone exactly.
    from_queue: int | None = None
    was_due: datetime | None = None
    campaign_id: int = DEFAULT_CAMPAIGN  # its brake is read before the SMTP transaction


def skip_locked(stmt: Any, ctx: EngineContext) -> Any:
    return stmt.with_for_update(skip_locked=True) if ctx.db.is_postgres else stmt


def lease(row: OutboundMessage, ctx: EngineContext, now: datetime) -> None:
    """Make ``row`` ours: ``sending``, with a lease that runs out if we die."""
    row.state = OutboundState.SENDING
    row.lease_owner = ctx.owner
    row.lease_expires_at = now + timedelta(seconds=ctx.lease_seconds)
    row.attempted_at = now
    row.attempts = (row.attempts or 0) + 1


def unlease(row: OutboundMessage, state: OutboundState, error: str | None) -> None:
    """The SMTP transaction is over (or never happened): the row leaves ``sending``."""
    row.state = state
    row.error = error
    row.lease_owner = None
    row.lease_expires_at = None


def requeue(row: OutboundMessage, not_before: datetime | None, error: str) -> None:
    """The same message (same Message-ID) waits in ``queued`` again."""
    unlease(row, OutboundState.QUEUED, error[:1000])
    row.not_before = not_before


def _claim_queued(
    session: Session,
    ctx: EngineContext,
    s: Settings,
    now: datetime,
    mailbox_id: int,
    camps: Mapping[int, CampaignConfig],
) -> Claimed | None:
    """Answers to replies and retries of running campaigns: rows already rendered, waiting in
    ``queued``."""
    running = [cid for cid, c in camps.items() if c.running]
    stmt = (
        select(OutboundMessage)
        .where(
            OutboundMessage.state == OutboundState.QUEUED,
            or_(OutboundMessage.not_before.is_(None), OutboundMessage.not_before <= now),
            store.sent_from(mailbox_id),
            _of_campaigns(OutboundMessage.campaign_id, running, camps),
        )
        .order_by(OutboundMessage.step.desc(), OutboundMessage.id)
        .limit(1)
    )
    while (row := session.scalars(skip_locked(stmt, ctx)).first()) is not None:
        lead = session.get(Lead, row.lead_id) if row.lead_id is not None else None
        if lead is not None and row.kind not in REPLY_KINDS and not lifecycle.in_sequence(lead):
            row.state, row.error = OutboundState.CANCELLED, f"lead is {lead.status}"
        elif lead is not None and store.suppressed(session, lead.email):
            row.state, row.error = OutboundState.CANCELLED, "suppressed"
        else:
            lease(row, ctx, now)
            row.mailbox_id = mailbox_id
            cid = row.campaign_id or DEFAULT_CAMPAIGN
            return Claimed(
                row.id,
                row.lead_id,
                row.kind,
                row.step,
                outgoing(row, lead_name(lead)),
                camps[cid].settings_for(s) if cid in camps else s,
                mailbox_id,
                campaign_id=cid,
            )
        session.flush()
    return None


def _of_campaigns(
    column: Any, ids: list[int], camps: Mapping[int, CampaignConfig]
) -> ColumnElement[bool]:
    """``column`` is one of ``ids``; no condition when that is every campaign (a single-campaign
    setup's queries stay what they were). A row without a campaign is the default's."""
    if len(ids) == len(camps):
        return true()
    clause = column.in_(ids)
    if DEFAULT_CAMPAIGN in ids:
        return or_(clause, column.is_(None))
    return clause


def _due_leads(
    session: Session,
    ctx: EngineContext,
    now: datetime,
    queue: int,
    limit: int,
    mailbox_id: int,
    campaigns: Any,
) -> tuple[list[Lead], dict[str, Suppression]]:
    """The due leads of one queue in the given campaigns, oldest due first, and the
    suppressions that hit any of them (their address or their domain), read in one go.
    Follow-ups are this mailbox's own leads (a thread never changes mailbox); new leads have
    none yet and go to whichever mailbox claims them first."""
    owner = Lead.mailbox_id == mailbox_id if queue == QUEUE_FOLLOWUP else Lead.mailbox_id.is_(None)
    stmt = (
        select(Lead)
        .where(Lead.queue == queue, owner, Lead.next_send_at <= now, campaigns)
        .order_by(Lead.next_send_at, Lead.id)
        .limit(limit)
    )
    candidates = list(session.scalars(skip_locked(stmt, ctx)))
    if not candidates:
        return [], {}
    keys = [lead.email_key for lead in candidates]
    values = set(keys) | {store.email_domain(k) for k in keys}
    blocked = {
        sup.value: sup
        for sup in session.scalars(select(Suppression).where(Suppression.value.in_(values)))
    }
    return candidates, blocked


def _new_message(
    session: Session, ctx: EngineContext, s: Settings, now: datetime, lead: Lead, mailbox_id: int
) -> OutboundMessage:
    """Render the lead's next step as an outbound row, claimed (``sending``)."""
    step = lead.next_step
    name = "initial" if step == 0 else f"followup_{step}"
    variant = _variant(session, lead, name)
    templates = session.info.setdefault("templates", {})  # one look-up per template per claim
    key = (lead.campaign_id, name, variant)
    if key not in templates:
        templates[key] = store.template(
            session, name, campaign_id=lead.campaign_id, variant=variant
        )
    subject, body = render_template(templates[key], lead_values(lead, s), ctx.rng)
    headers = reply_headers([])
    if step > 0:
        subject = reply_subject(lead.first_subject or subject)
        headers = reply_headers(thread(session, lead.id, mailbox_id))
    row = OutboundMessage(
        lead_id=lead.id,
        kind=MessageKind.INITIAL if step == 0 else MessageKind.FOLLOWUP,
        step=step,
        message_id=make_message_id(s.email_address),
        to_email=lead.email,
        subject=subject,
        body=body,
        in_reply_to=headers.in_reply_to,
        references=headers.references_value,
        state=OutboundState.SENDING,
        attempts=0,
        mailbox_id=mailbox_id,
        campaign_id=lead.campaign_id,
        variant=variant,
        created_at=now,
    )
    lease(row, ctx, now)
    session.add(row)
    lead.mailbox_id = mailbox_id  # the thread lives in this mailbox from now on
    if step == 0:
        lead.first_subject = subject
        lead.variant = variant
    return row


def _variant(session: Session, lead: Lead, name: str) -> str:
    """The A/B letter of this step for the lead: at the first email, the letters are dealt in
    turn by lead id (an even split of a campaign's leads); later, the lead keeps its letter
    where this step has it, else the step's A."""
    known = session.info.setdefault("variants", {})
    if lead.campaign_id not in known:
        known[lead.campaign_id] = store.template_variants(session, lead.campaign_id)
    letters: list[str] = known[lead.campaign_id].get(name) or ["A"]
    if lead.next_step == 0 or lead.variant is None:
        return letters[lead.id % len(letters)]
    return lead.variant if lead.variant in letters else "A"


@dataclass
class _Campaigns:
    """The campaigns a claim may take leads from, with the room each campaign's own cap
    leaves today (None: no cap of its own)."""

    configs: dict[int, CampaignConfig]
    room: dict[int, int | None]
    # The earliest window opening of a lead moved for its window, and that window's words.
    opening: datetime | None = None
    window: dict[str, Any] | None = None

    def moved(self, lead: Lead, config: CampaignConfig, opening: datetime) -> None:
        if self.opening is None or opening < self.opening:
            self.opening = opening
            window = config.window
            if window is not None:
                self.window = window.detail(lead_zone(lead, config))

    def ids(self) -> list[int]:
        return [cid for cid, left in self.room.items() if left is None or left > 0]

    def took(self, campaign_id: int) -> None:
        left = self.room.get(campaign_id)
        if left is not None:
            self.room[campaign_id] = left - 1


# At most this many due leads are looked at per queue and claim (leads found outside their
# window are moved to its opening and the look goes on).
MAX_LOOKED_AT = 500


def _claim_leads(
    session: Session,
    ctx: EngineContext,
    s: Settings,
    now: datetime,
    queue: int,
    limit: int,
    may_continue: Callable[[], bool],
    mailbox_id: int,
    camps: _Campaigns,
) -> list[Claimed]:
    """Claim due leads from one queue while ``may_continue()`` (the gate, updated by the
    caller for each claim) allows: each becomes an outbound row in ``sending``. A lead outside
    its campaign's send window (in its own zone) is moved to the window's next opening."""
    fresh: list[tuple[OutboundMessage, Lead, datetime | None, Settings]] = []
    spacing = DomainSpacing(session, now, s.tz, s.max_per_domain_per_day)
    looked_at = 0
    go_on = True
    while go_on and len(fresh) < limit and looked_at < MAX_LOOKED_AT:
        ids = camps.ids()
        if not ids:
            break
        room = limit - len(fresh)
        where = _of_campaigns(Lead.campaign_id, ids, camps.configs)
        candidates, blocked = _due_leads(session, ctx, now, queue, room, mailbox_id, where)
        looked_at += len(candidates)
        moved = 0
        for lead in candidates:
            config = camps.configs[lead.campaign_id]
            if camps.room.get(lead.campaign_id, 0) == 0:
                continue  # its campaign reached its own cap within this batch: it waits
            opening = allowed_from(lead, config, now)
            if opening > now:
                lead.next_send_at = opening  # outside its window: waits for the opening
                moved += 1
                camps.moved(lead, config, opening)
                continue
            due = lead.next_send_at
            lead.queue = None
            if not lifecycle.in_sequence(lead):
                continue
            hit = blocked.get(lead.email_key) or blocked.get(store.email_domain(lead.email_key))
            if hit is not None:
                why = f"suppressed: {hit.reason or hit.value}"
                lifecycle.suppressed(lead, whole_domain=hit.kind != "email", why=why)
                continue
            if lead.next_step > len(config.followup_delays):
                lifecycle.completed(lead)
                continue
            if (
                queue == QUEUE_NEW
                and spacing.applies(lead.domain)
                and not spacing.take(lead.domain)
            ):
                # Its domain had its first emails for today: it goes first tomorrow.
                lead.queue, lead.next_send_at = queue, spacing.tomorrow
                moved += 1
                continue
            cs = config.settings_for(s)
            row = _new_message(session, ctx, cs, now, lead, mailbox_id)
            fresh.append((row, lead, due, cs))
            camps.took(lead.campaign_id)
            if not may_continue():
                go_on = False
                break
        if len(candidates) < room or not moved:
            break  # the queue has no more due leads, or none was moved (window, domain)
        session.flush()  # the moved leads are no longer due
    session.flush()  # the rows get their ids
    return [
        Claimed(
            row.id,
            lead.id,
            row.kind,
            row.step,
            outgoing(row, lead_name(lead)),
            cs,
            mailbox_id,
            queue,
            due,
            campaign_id=lead.campaign_id,
        )
        for row, lead, due, cs in fresh
    ]


def _campaigns_for(session: Session, s: Settings, now: datetime, mailbox_email: str) -> _Campaigns:
    """The running campaigns that send from this mailbox, and what their own caps leave."""
    configs = configs_of(session, s, now)
    usable = {cid: c for cid, c in configs.items() if c.running and c.uses(mailbox_email)}
    capped = [cid for cid, c in usable.items() if c.daily_limit is not None]
    sent = campaign_sends(session, day_start(now, s.tz), capped)
    room: dict[int, int | None] = {}
    for cid, c in usable.items():
        room[cid] = None if c.daily_limit is None else max(0, c.daily_limit - sent.get(cid, 0))
    return _Campaigns(configs, room)


def _room(rules: PacingRules, counts: SendCounts) -> int:
    """How many emails the cap and the pacing let go at once: one when a gap follows each."""
    left = rules.daily_limit - max(counts.sent_today, counts.sent_last_24h)
    paced = rules.min_delay > 0 or rules.max_delay > 0 or rules.pause_every == 1
    return max(1, min(left, 1 if paced else left))


def claim_next(ctx: EngineContext, mailbox_id: int = PRIMARY_MAILBOX) -> Claimed | Gate:
    """One transaction: check the gate, pick the next email, commit it as ``sending``."""
    claimed = claim_batch(ctx, 1, mailbox_id)
    return claimed[0] if isinstance(claimed, list) else claimed


def claim_batch(
    ctx: EngineContext,
    limit: int,
    mailbox_id: int = PRIMARY_MAILBOX,
    new_leads: int | None = None,
) -> list[Claimed] | Gate:
    """One transaction: claim up to ``limit`` emails for one mailbox, as many as its gate
    allows now (pacing on: one; off: several, sharing the transaction's cost). ``new_leads``
    caps the leads without a mailbox it may take (its share among several mailboxes). Each
    claim locks only its own mailbox's row; new leads are taken with SKIP LOCKED on
    PostgreSQL, and SQLite's claims take turns in this process."""
    return claim_round(ctx, limit, mailbox_id, new_leads)[0]


def claim_round(
    ctx: EngineContext,
    limit: int,
    mailbox_id: int = PRIMARY_MAILBOX,
    new_leads: int | None = None,
) -> tuple[list[Claimed] | Gate, Gate | None]:
    """:func:`claim_batch`, with the mailbox's gate as the claims left it when they closed it
    (the pacing gap just drawn, the cap just reached; ``None`` while it is open): the queue
    need not open a second transaction only to be told to wait."""
    with ctx.db.serialised(), ctx.db.transaction() as session:
        # Claims are serialised on the mailbox row; read the clock only once we hold it, so
        # the pacing slot another replica just reserved is never in our future.
        mb = store.mailbox(session, ctx.clock.now(), lock=True, mailbox_id=mailbox_id)
        now = ctx.clock.now()
        base = store.effective_settings(session, ctx.settings)
        account = accounts.one(session, base, mailbox_id)
        s = account.settings_for(base, now)
        g, state, counts = evaluate(session, s, now, lock=True, mb=mb, mailbox_id=mailbox_id)
        if not g.allowed:
            return g, None
        camps = _campaigns_for(session, base, now, account.email)
        rules = pacing_rules(s)
        # Lock no more due leads than this mailbox may send now: the rest stay free for the
        # mailboxes claiming beside it (PostgreSQL skips locked rows, it does not wait).
        limit = min(limit, _room(rules, counts))
        claimed: list[Claimed] = []
        gate_open = True
        closed: Gate | None = None

        def account_for_one() -> bool:
            """Count one claim against pacing and the cap: may another go right now?"""
            nonlocal state, counts, gate_open, closed
            state = after_send(now, state, rules, ctx.rng)
            counts = SendCounts(
                counts.sent_today + 1, counts.sent_last_24h + 1, counts.oldest_in_window or now
            )
            after = gate(now, state, rules, counts, s.tz)
            gate_open = after.allowed
            closed = None if gate_open else after
            return gate_open

        while gate_open and len(claimed) < limit:
            one = _claim_queued(session, ctx, s, now, mailbox_id, camps.configs)
            if one is None:
                break
            claimed.append(one)
            account_for_one()
        for queue in (QUEUE_FOLLOWUP, QUEUE_NEW):
            room = limit - len(claimed)
            if queue == QUEUE_NEW and new_leads is not None:
                room = min(room, new_leads)  # this mailbox's share of the new leads
            if gate_open and room > 0:
                claimed += _claim_leads(
                    session, ctx, s, now, queue, room, account_for_one, mailbox_id, camps
                )
        if not claimed:
            if camps.opening is not None:  # the due leads were all outside their windows
                return Gate(Hold.OUTSIDE_WINDOW, camps.opening, camps.window or {}), None
            return Gate(Hold.NOTHING_DUE), None
        mb.next_send_at, mb.batch_count, mb.updated_at = state.next_send_at, state.batch_count, now
        accounts.started_sending(session, mailbox_id, now)
        return claimed, closed


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
            if row is None or row.state != OutboundState.SENDING or row.lease_owner != ctx.owner:
                continue
            released += 1
            lead = session.get(Lead, c.lead_id) if c.lead_id is not None else None
            if c.from_queue is not None and lead is not None:
                session.delete(row)
                lead.queue, lead.next_send_at = c.from_queue, c.was_due
                if c.step == 0:
                    lead.first_subject = None
                    lead.mailbox_id = None  # no thread yet: any mailbox may take it
            else:
                requeue(row, None, "released: the batch stopped before this one")
                row.attempts = max(0, (row.attempts or 1) - 1)
        if released:
            mb = store.mailbox(
                session, ctx.clock.now(), lock=True, mailbox_id=claimed[0].mailbox_id
            )
            mb.batch_count = max(0, (mb.batch_count or 0) - released)


def give_back(session: Session, row: OutboundMessage, lead: Lead) -> None:
    """A first email its mailbox could not send (the account failed, not the recipient): the
    message was never accepted, so it is dropped and the lead goes back among the new leads,
    with no mailbox, for another mailbox to take."""
    session.delete(row)
    lead.queue, lead.mailbox_id, lead.first_subject = QUEUE_NEW, None, None


def expire_leases(ctx: EngineContext, *, everything: bool = False) -> int:
    """``sending`` rows left by a crashed worker become ``uncertain``: the lease ran out, or the
    owner was a process on this host that is gone, or (SQLite, one process) ``everything``."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        stmt = select(OutboundMessage).where(OutboundMessage.state == OutboundState.SENDING)
        rows = list(session.scalars(skip_locked(stmt, ctx)))
        expired = 0
        for row in rows:
            lease_over = row.lease_expires_at is not None and row.lease_expires_at < now
            gone = row.lease_owner is not None and owner_is_gone(row.lease_owner, ctx.owner)
            if not (everything or lease_over or gone):
                continue
            unlease(row, OutboundState.UNCERTAIN, "the process stopped during the SMTP transaction")
            expired += 1
        return expired


def in_flight(session: Session, now: datetime, campaign_id: int | None = None) -> int:
    """How many emails may be inside an SMTP transaction right now, at most: one per sender
    holding live ``sending`` claims (a sender hands its claims to the server one by one and reads
    the brake before each). Asked right after a pause/stop commits, this bounds what can still
    reach the server: every other claim sees the brake and is released unsent."""
    return int(
        session.scalar(
            select(func.count(func.distinct(OutboundMessage.lease_owner))).where(
                OutboundMessage.state == OutboundState.SENDING,
                OutboundMessage.lease_owner.is_not(None),
                OutboundMessage.lease_expires_at > now,
                *([] if campaign_id is None else [OutboundMessage.campaign_id == campaign_id]),
            )
        )
        or 0
    )


def count_uncertain(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.state == OutboundState.UNCERTAIN)
        )
        or 0
    )
