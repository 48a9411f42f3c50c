"""The engine's clockwork: an APScheduler 3 AsyncIOScheduler producing ticks in this process.

Each replica's scheduler stays in memory and only produces ticks; the database decides who does
the work (claims for sending, leases for singleton jobs, a run ledger for the midnight reset).
Blocking SMTP/IMAP/database work runs in worker threads so the bot is never blocked.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine import notify
from engine.campaigns.stats import midnight_lines
from engine.context import EngineContext
from engine.delivery import deliver_notifications
from engine.errors import AccountBroken, DatabaseUnavailable, OutreachError, TryLater
from engine.inbox import idle
from engine.inbox.mailbox_checks import IMAP_ALERT_AFTER
from engine.notify import Notifier
from engine.sending import answers
from engine.sending.claims import count_uncertain, expire_leases
from engine.sending.pacing import day_start
from engine.sending.rotation import send_round
from engine.states import AlertCondition, LeadStatus, NoticeKind, OutboundState
from engine.storage import leases, store
from engine.storage.models import (
    QUEUE_FOLLOWUP,
    Campaign,
    DailyRun,
    JobRun,
    Lead,
    OutboundMessage,
)

log = logging.getLogger(__name__)

# Job ids, also the names in job_runs, the leases table and /health: stored, so they keep their
# values (the notification job is still "outbox" there).
SEND, REPLIES, MIDNIGHT, NOTIFICATIONS, MAINTENANCE = (
    "send",
    "reply_check",
    "midnight",
    "outbox",
    "maintenance",
)
RECOVERY = "recovery"
JOB_ALERT_AFTER = 3


class Scheduler:
    """Owns the APScheduler and the jobs. ``notifier`` is how the engine reaches the operator;
    every interval and TTL comes from ``ctx.intervals``."""

    def __init__(self, ctx: EngineContext, notifier: Notifier | None = None) -> None:
        self.ctx = ctx
        self.notifier = notifier
        self.intervals = ctx.intervals
        self.scheduler = AsyncIOScheduler(timezone=ctx.settings.tz)
        self.started_at = ctx.clock.now()
        # One delivery at a time in this process: the notification job and the reply check
        # share it.
        self._delivery = asyncio.Lock()
        # IMAP IDLE (engine/inbox/idle.py): one thread per mailbox while this replica holds the
        # reply-check lease and the scheduler runs.
        self.idle = idle.Watchers(ctx, self._idle_check)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.reply_ticks = 0  # reply checks (polls) this replica ran

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        s, iv = self.ctx.settings, self.intervals
        common: dict[str, Any] = {"coalesce": True, "max_instances": 1, "replace_existing": True}
        self.scheduler.add_job(
            self._job(SEND, self.send_tick),
            IntervalTrigger(seconds=self.send_interval),
            id=SEND,
            misfire_grace_time=max(1, math.ceil(self.send_interval)),
            next_run_time=_soon(iv.send_start),
            **common,
        )
        self.scheduler.add_job(
            self._job(REPLIES, self.reply_tick),
            IntervalTrigger(seconds=self.reply_check_interval),
            id=REPLIES,
            misfire_grace_time=max(1, math.ceil(self.reply_check_interval)),
            next_run_time=_soon(iv.reply_check_start),
            **common,
        )
        self.scheduler.add_job(
            self._job(MIDNIGHT, self.midnight_tick),
            CronTrigger(hour=0, minute=0, timezone=s.tz),
            id=MIDNIGHT,
            misfire_grace_time=3600,
            **common,
        )
        self.scheduler.add_job(
            self._job(NOTIFICATIONS, self.notifications_tick),
            IntervalTrigger(seconds=iv.notifications),
            id=NOTIFICATIONS,
            misfire_grace_time=30,
            **common,
        )
        self.scheduler.add_job(
            self._job(MAINTENANCE, self.maintenance_tick),
            IntervalTrigger(seconds=iv.maintenance),
            id=MAINTENANCE,
            misfire_grace_time=60,
            next_run_time=_soon(iv.maintenance_start),
            **common,
        )
        self.scheduler.add_listener(self._on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.idle.stop_all()
        from engine.inbox import budget

        budget.shutdown()  # the classifier's child process

    @property
    def send_interval(self) -> float:
        iv = self.intervals.send
        return float(self.ctx.settings.send_interval if iv is None else iv)

    @property
    def reply_check_interval(self) -> float:
        iv = self.intervals.reply_check
        return float(self.ctx.settings.reply_check_interval if iv is None else iv)

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def wake(self, job: str) -> None:
        """Run a job now (e.g. the send job right after /run)."""
        j = self.scheduler.get_job(job)
        if j is not None:
            j.modify(next_run_time=datetime.now(self.ctx.settings.tz))

    # --- bookkeeping -----------------------------------------------------------------------
    def _job(self, name: str, fn: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            try:
                await fn()
            except DatabaseUnavailable as e:
                log.warning("%s: database unavailable (%s); retrying next tick", name, e)
                return
            except (TryLater, AccountBroken) as e:
                await asyncio.to_thread(self._record, name, f"{type(e).__name__}: {e}")
                return
            except Exception as e:
                log.exception("%s job failed", name)
                await asyncio.to_thread(self._record, name, f"{type(e).__name__}: {e}"[:300])
                return
            await asyncio.to_thread(self._record, name, None)

        # APScheduler names a job (in its log lines) after the function's qualified name.
        run.__name__ = run.__qualname__ = f"job_{name}"
        return run

    def _record(self, job: str, error: str | None) -> None:
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.transaction() as session:
                row = session.get(JobRun, job, with_for_update=True)
                if row is None:
                    row = JobRun(job=job, consecutive_failures=0)
                    session.add(row)
                if error is None:
                    row.last_success_at = now
                    row.consecutive_failures = 0
                else:
                    row.last_error_at = now
                    row.last_error = error
                    row.consecutive_failures = (row.consecutive_failures or 0) + 1
                    if job == REPLIES and row.consecutive_failures == IMAP_ALERT_AFTER:
                        notify.raise_alert(
                            session,
                            now,
                            AlertCondition.IMAP,
                            {"failures": IMAP_ALERT_AFTER, "error": error},
                        )
                    elif job != REPLIES and row.consecutive_failures == JOB_ALERT_AFTER:
                        notify.raise_alert(
                            session,
                            now,
                            AlertCondition.for_job(job),
                            {"job": job, "failures": JOB_ALERT_AFTER, "error": error},
                        )
                if error is None and job == REPLIES:
                    notify.clear_alert(session, now, AlertCondition.IMAP, {})
                elif error is None:
                    notify.clear_alert(session, now, AlertCondition.for_job(job), {"job": job})
        except OutreachError:
            pass

    def _on_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run at %s", event.job_id, event.scheduled_run_time)
            try:
                with self.ctx.db.transaction() as session:
                    row = session.get(JobRun, event.job_id)
                    if row is None:
                        row = JobRun(job=event.job_id, consecutive_failures=0)
                        session.add(row)
                    row.last_missed_at = self.ctx.clock.now()
            except OutreachError:
                pass
        elif event.exception is not None:
            log.error("job %s raised %s", event.job_id, type(event.exception).__name__)

    # --- jobs ------------------------------------------------------------------------------
    async def send_tick(self) -> None:
        if await asyncio.to_thread(self._inbox_stale_before_followups):
            # A follow-up after a reply is the worst thing we can send: read the inbox first.
            try:
                if await self.reply_tick():
                    await asyncio.to_thread(self._record, REPLIES, None)
            except OutreachError as e:
                log.warning("reply check before follow-ups failed: %s", type(e).__name__)

        def work() -> datetime | None:
            ctx = self.ctx
            round_ = send_round(ctx, lambda a: ctx.new_mailer(a.smtp), vault=ctx.vault)
            for mailbox_id, report in round_.reports.items():
                if report.sent or report.failed or report.retried:
                    log.info(
                        "send tick, mailbox %d: %d sent, %d failed, %d retried; %s",
                        mailbox_id,
                        report.sent,
                        report.failed,
                        report.retried,
                        report.stopped_by,
                    )
            return round_.next_wake

        self._wake_send_at(await asyncio.to_thread(work))

    def _wake_send_at(self, when: datetime | None) -> None:
        """Run the send job again when a mailbox's gate opens (the end of its pacing gap),
        rather than at the next SEND_INTERVAL_SECONDS tick: the gaps between emails stay the
        random gaps that were drawn instead of being rounded up to whole ticks."""
        job = self.scheduler.get_job(SEND)
        if when is None or job is None or job.next_run_time is None:
            return
        due = when + timedelta(milliseconds=50)  # just after the gate opens, never before
        if due < job.next_run_time:
            job.modify(next_run_time=max(due, datetime.now(due.tzinfo)))

    def _inbox_stale_before_followups(self) -> bool:
        """True when a follow-up is due and the inbox was not read in the last minute."""
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as session:
            if not store.running_campaigns(session):
                return False
            due = session.scalar(
                select(Lead.id)
                .where(Lead.queue == QUEUE_FOLLOWUP, Lead.next_send_at <= now)
                .limit(1)
            )
            if due is None:
                return False
            run = session.get(JobRun, REPLIES)
            last = run.last_success_at if run is not None else None
        return last is None or (now - last).total_seconds() > self.intervals.fresh_inbox

    async def reply_tick(self) -> bool:
        """One reply check, if this replica holds the reply-check lease. True if it ran."""
        ttl = max(self.intervals.reply_check_lease, 2 * self.reply_check_interval)
        if not await asyncio.to_thread(leases.try_acquire, self.ctx, REPLIES, ttl):
            await asyncio.to_thread(self.idle.stop_all)
            return False
        from engine.inbox.sync import check_inbox

        self.reply_ticks += 1
        report = await asyncio.to_thread(check_inbox, self.ctx)
        if report.fetched:
            log.info("reply check: %d new messages %s", report.fetched, report.kinds)
        if self.scheduler.running:  # a direct call (tests) starts no thread
            self._loop = asyncio.get_running_loop()
            await asyncio.to_thread(lambda: self.idle.replan(idle.wanted(self.ctx)))
        await self.notifications_tick()
        return True

    def _idle_check(self, mailbox_id: int) -> None:
        """An IDLE watcher heard of new mail (its thread): read that mailbox, deliver."""
        from engine.inbox.sync import check_inbox

        report = check_inbox(self.ctx, only=mailbox_id)
        if report.fetched:
            log.info("IDLE, mailbox %d: %d new %s", mailbox_id, report.fetched, report.kinds)
        loop = self._loop
        if report.fetched and loop is not None and loop.is_running():
            delivery = self.notifications_tick()
            try:
                asyncio.run_coroutine_threadsafe(delivery, loop)
            except RuntimeError:  # the loop closed meanwhile (shutdown)
                delivery.close()

    async def midnight_tick(self) -> None:
        await asyncio.to_thread(self.midnight_reset)

    def midnight_reset(self) -> bool:
        """Once per local day, whichever replica gets there first: reset and summarise."""
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as session:
            s = store.effective_settings(session, self.ctx.settings)
        local_today = now.astimezone(s.tz).date().isoformat()
        try:
            with self.ctx.db.transaction() as session:
                session.add(
                    DailyRun(job=MIDNIGHT, day=local_today, owner=self.ctx.owner, created_at=now)
                )
                session.flush()
                mb = store.mailbox(session, now, lock=True)
                mb.batch_count = 0
                start = day_start(now, s.tz) - timedelta(days=1)
                end = day_start(now, s.tz)
                sent = session.scalar(
                    select(func.count())
                    .select_from(OutboundMessage)
                    .where(
                        OutboundMessage.state == OutboundState.SENT,
                        OutboundMessage.sent_at >= start,
                        OutboundMessage.sent_at < end,
                    )
                )
                replies = session.scalar(
                    select(func.count())
                    .select_from(Lead)
                    .where(Lead.replied_at >= start, Lead.replied_at < end)
                )
                bounced = session.scalar(
                    select(func.count()).select_from(Lead).where(Lead.status == LeadStatus.BOUNCED)
                )
                optouts = session.scalar(
                    select(func.count())
                    .select_from(Lead)
                    .where(Lead.status == LeadStatus.UNSUBSCRIBED)
                )
                camp = store.campaign(session, now)
                several = (session.scalar(select(func.count()).select_from(Campaign)) or 0) > 1
                lines = [d.payload() for d in midnight_lines(session, now, s.tz)] if several else []
                notify.emit(
                    session,
                    now,
                    NoticeKind.SUMMARY,
                    {
                        "sent": sent or 0,
                        "replies": replies or 0,
                        "bounced": bounced or 0,
                        "opted_out": optouts or 0,
                        "campaign": str(camp.state),
                        **({"campaigns": lines} if several else {}),
                    },
                )
            return True
        except IntegrityError:
            return False  # another replica (or an earlier run today) did it

    async def notifications_tick(self) -> None:
        """Deliver pending notifications, if this replica holds the delivery lease.
        Single-flight: a call while a delivery runs waits for it and then delivers whatever is
        still left."""
        if self.notifier is None:
            return
        iv = self.intervals
        async with self._delivery:
            if not await asyncio.to_thread(
                leases.try_acquire, self.ctx, NOTIFICATIONS, iv.notification_lease
            ):
                return
            await deliver_notifications(self.ctx, self.notifier, claim_ttl=iv.notification_claim)

    async def maintenance_tick(self) -> None:
        await asyncio.to_thread(leases.heartbeat, self.ctx, self.started_at)
        if self.idle.running and not await asyncio.to_thread(leases.holds, self.ctx, REPLIES):
            await asyncio.to_thread(self.idle.stop_all)  # another replica took the reply check
        await asyncio.to_thread(expire_leases, self.ctx)
        await asyncio.to_thread(answers.expire, self.ctx)  # drafts older than a day
        await asyncio.to_thread(self.recover)
        if await asyncio.to_thread(self.midnight_missed):
            await asyncio.to_thread(self.midnight_reset)

    def midnight_missed(self) -> bool:
        """True when a local day began without its reset: every replica was down at midnight,
        or TIMEZONE was changed from the chat (the cron job follows the environment's zone).
        On a brand-new database the current day is recorded silently instead."""
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as session:
            s = store.effective_settings(session, self.ctx.settings)
            today = now.astimezone(s.tz).date().isoformat()
            days = select(DailyRun.day).where(DailyRun.job == MIDNIGHT)
            if session.scalar(days.where(DailyRun.day == today).limit(1)) is not None:
                return False
            if session.scalar(days.limit(1)) is not None:
                return True
        try:
            with self.ctx.db.transaction() as session:
                session.add(DailyRun(job=MIDNIGHT, day=today, owner=self.ctx.owner, created_at=now))
        except IntegrityError:
            pass
        return False

    def recover(self) -> int:
        """Settle uncertain sends by looking in the Sent folder (one replica at a time)."""
        from engine.sending.recovery import resolve_uncertain

        with self.ctx.db.transaction() as session:
            if not count_uncertain(session):
                return 0
        if not leases.try_acquire(self.ctx, RECOVERY, self.intervals.recovery_lease):
            return 0
        try:
            settled = resolve_uncertain(self.ctx)
        except (TryLater, AccountBroken) as e:
            log.warning("could not check the Sent folder: %s", type(e).__name__)
            return 0
        if settled:
            log.info("settled %d uncertain send(s)", settled)
        return settled


def _soon(seconds: float) -> datetime:
    from datetime import UTC

    return datetime.now(UTC) + timedelta(seconds=seconds)
