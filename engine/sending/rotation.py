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

from engine.context import EngineContext
from engine.mailboxes import accounts
from engine.mailboxes.accounts import MailboxAccount
from engine.mailboxes.vault import Vault
from engine.sending.gate import pacing_rules, send_counts_by_mailbox
from engine.sending.pacing import PacingState, SendCounts, gate
from engine.sending.queue import DispatchReport, run_send_queue
from engine.sending.smtp import Mailer
from engine.storage import store
from engine.storage.models import QUEUE_NEW, Campaign, Lead, MailboxState

log = logging.getLogger(__name__)

IDLE = PacingState(None, 0, None, "")  # a mailbox that has no pacing row yet
NONE_SENT = SendCounts(sent_today=0, sent_last_24h=0, oldest_in_window=None)

MAX_PARALLEL = 8  # SMTP sessions at once, whatever the number of mailboxes


@dataclass
class RoundReport:
    """What one run of the send job did, per mailbox, and when a mailbox's gate opens next."""

    reports: dict[int, DispatchReport] = field(default_factory=dict)
    next_wake: datetime | None = None

    @property
    def sent(self) -> int:
        return sum(r.sent for r in self.reports.values())


@dataclass(frozen=True)
class Plan:
    """Which mailboxes run their queue now, how many new leads are due, and when the first of
    the mailboxes left out (inside a pacing gap, or backing off) may send again."""

    order: list[MailboxAccount]
    due_new: int
    later: datetime | None


def sending_order(ctx: EngineContext, vault: Vault | None) -> Plan:
    """The mailboxes that may send now, the fewest sent in the last 24 hours first (then by
    id). A mailbox inside its pacing gap, backing off (quota, too many logins) or at its cap
    is left out of this round, so a wake for one mailbox does not run fifty queues, and takes
    no share of the new leads; ``later`` is when the first of them opens.

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
        counts = send_counts_by_mailbox(session, now, s.tz)
        states = {
            mb.id: PacingState(mb.next_send_at, mb.batch_count, mb.blocked_until, mb.blocked_reason)
            for mb in session.scalars(select(MailboxState))
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
    ends: list[datetime] = []
    for a in (a for a in found.usable if a.may_send):
        # The gate the mailbox's claim would judge by (its back-off, its cap with ramp-up, its
        # pacing gap), on the same rows: a mailbox that could not send now is not run at all.
        g = gate(
            now,
            states.get(a.id, IDLE),
            pacing_rules(a.settings_for(s, now)),
            counts.get(a.id, NONE_SENT),
            s.tz,
        )
        if g.allowed:
            ready.append(a)
        elif g.wait_until is not None:
            ends.append(g.wait_until)
    ready.sort(key=lambda a: (counts.get(a.id, NONE_SENT).sent_last_24h, a.id))
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
