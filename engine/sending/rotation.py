"""Many mailboxes sending at once: which mailboxes may send, in which order, and when the send job
should look again.

Each active mailbox runs its own queue (``engine.sending.queue.run_send_queue``) with its own
gate: its cap (and ramp-up), its pacing, its back-off. A lead's first email goes from whichever
mailbox claims it; from then on the lead belongs to that mailbox (``leads.mailbox_id``), so
every later email — follow-ups, the calendar answer — goes from the same mailbox, in the same
thread. The mailboxes with the fewest emails in the last 24 hours start first, and they run in
parallel threads, so N mailboxes send about N times as much while each keeps its own gaps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.mailboxes import accounts
from engine.mailboxes.accounts import MailboxAccount
from engine.mailboxes.vault import Vault
from engine.sending.gate import COUNTED_STATES
from engine.sending.pacing import ROLLING_WINDOW
from engine.sending.queue import DispatchReport, run_send_queue
from engine.sending.smtp import Mailer
from engine.storage import store
from engine.storage.models import QUEUE_NEW, Campaign, Lead, MailboxState, OutboundMessage

log = logging.getLogger(__name__)

MAX_PARALLEL = 8  # SMTP sessions at once, whatever the number of mailboxes


@dataclass
class RoundReport:
    """What one run of the send job did, per mailbox, and when a mailbox's gate opens next."""

    reports: dict[int, DispatchReport] = field(default_factory=dict)
    next_wake: datetime | None = None

    @property
    def sent(self) -> int:
        return sum(r.sent for r in self.reports.values())


def sent_last_24h(session: Session, now: datetime) -> dict[int, int]:
    """Emails per mailbox in the rolling 24 hours (one grouped count)."""
    rows = session.execute(
        select(OutboundMessage.mailbox_id, func.count())
        .where(
            OutboundMessage.attempted_at > now - ROLLING_WINDOW,
            OutboundMessage.state.in_(COUNTED_STATES),
        )
        .group_by(OutboundMessage.mailbox_id)
    )
    return {int(mid or 1): int(n) for mid, n in rows}


@dataclass(frozen=True)
class Plan:
    """Which mailboxes run their queue now, how many new leads are due, and when the first of
    the mailboxes left out (inside a pacing gap, or backing off) may send again."""

    order: list[MailboxAccount]
    due_new: int
    later: datetime | None


def sending_order(ctx: EngineContext, vault: Vault | None) -> Plan:
    """The mailboxes that may send now, the fewest sent in the last 24 hours first (then by
    id). A mailbox inside its pacing gap or backing off (quota, too many logins) is left out
    of this round, so a wake for one mailbox does not run fifty queues, and takes no share of
    the new leads.

    No mailbox may send while no campaign is running: the plan is empty. The send job ticks
    whatever the campaigns' states, and a /run committed during a round would otherwise tear
    it: the mailboxes that claimed before the commit were refused, those after it took their
    share, and the next round split only the rest (2/4 instead of 3/3)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        store.campaign(session, now)  # the default exists
        running = store.running_campaigns(session)
        if not running:
            return Plan([], 0, None)
        s = store.effective_settings(session, ctx.settings)
        found = accounts.load(session, s, vault)
        counts = sent_last_24h(session, now)
        waits = {
            mid: max((t for t in (nxt, blocked) if t is not None), default=None)
            for mid, nxt, blocked in session.execute(
                select(MailboxState.id, MailboxState.next_send_at, MailboxState.blocked_until)
            )
        }
        # The new leads due in the running campaigns (a paused campaign's take no share).
        every = session.scalar(select(func.count()).select_from(Campaign)) == len(running)
        due_new = session.scalar(
            select(func.count())
            .select_from(Lead)
            .where(
                Lead.queue == QUEUE_NEW,
                Lead.mailbox_id.is_(None),
                Lead.next_send_at <= now,
                *([] if every else [Lead.campaign_id.in_(running)]),
            )
        )
    ready: list[MailboxAccount] = []
    later: list[MailboxAccount] = []
    for a in (a for a in found.usable if a.may_send):
        until = waits.get(a.id)
        (later if until is not None and until > now else ready).append(a)
    ends = [w for a in later if (w := waits.get(a.id)) is not None]
    ready.sort(key=lambda a: (counts.get(a.id, 0), a.id))
    return Plan(ready, int(due_new or 0), min(ends) if ends else None)


def shares(due: int, n: int) -> list[int]:
    """``due`` new leads split over ``n`` mailboxes as evenly as can be, the first ones (the
    fewest sent) taking the remainder."""
    return [due // n + (1 if i < due % n else 0) for i in range(n)]


def send_round(
    ctx: EngineContext,
    mailer_for: Callable[[MailboxAccount], Mailer],
    *,
    vault: Vault | None = None,
    max_parallel: int = MAX_PARALLEL,
) -> RoundReport:
    """Every active mailbox sends what is due, in parallel; the report says when to look again
    (the earliest moment a closed gate opens, e.g. the end of a mailbox's pacing gap)."""
    plan = sending_order(ctx, vault)
    order, due_new = plan.order, plan.due_new
    report = RoundReport(next_wake=plan.later)
    if not order:
        return report

    def run(account: MailboxAccount, new_leads: int | None) -> tuple[int, DispatchReport]:
        mailer = mailer_for(account)
        try:
            return account.id, run_send_queue(
                ctx, mailer, mailbox_id=account.id, new_leads=new_leads
            )
        finally:
            mailer.close()

    if len(order) == 1:  # one mailbox: no thread pool, exactly as before mailboxes
        results = [run(order[0], None)]
    else:
        # Each mailbox takes at most its share of the new leads due now, so they spread evenly
        # even when nothing else (a cap, a pacing gap) holds a fast mailbox back.
        with ThreadPoolExecutor(min(max_parallel, len(order)), "send") as pool:
            results = list(pool.map(run, order, shares(due_new, len(order))))
    for mailbox_id, r in results:
        report.reports[mailbox_id] = r
        gate = r.stopped_by
        if gate is not None and gate.wait_until is not None:
            wake = gate.wait_until
            report.next_wake = wake if report.next_wake is None else min(report.next_wake, wake)
    return report
