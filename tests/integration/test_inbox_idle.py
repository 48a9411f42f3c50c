"""Replies in seconds with IMAP IDLE, against a real Dovecot (which supports IDLE) with a user per
mailbox, on SQLite and PostgreSQL: the reply-check lease holder keeps one watcher per mailbox,
a reply is read and delivered long before the next poll, REPLY_IDLE=off starts none, a watcher
whose server went away reconnects when it is back, and only the lease holder watches."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from engine.clock import FakeClock
from engine.context import EngineContext
from engine.intervals import Intervals
from engine.scheduler import Scheduler
from engine.states import MailboxStatus
from engine.storage import leases
from engine.storage.models import Mailbox
from tests.integration.sendkit import add_leads, lead, outbox, start
from tests.integration.test_inbox_mailboxes import (
    BEA,
    CAI,
    PASSWORDS,
    Recorder,
    reply,
    send,
    setup,
    thread_of,
)
from tests.integration.test_mailbox_rotation import add_mailbox
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SmtpServer
from tests.waiting import wait_until_async

Ctx = Callable[..., EngineContext]
POLL = 3600.0  # the poll never comes round during a test
FAST = Intervals(
    reply_check=POLL,
    reply_check_start=0.0,
    maintenance=0.2,
    maintenance_start=0.0,
    send_start=POLL,
    idle_renew=1.0,  # IDLE re-issued every second: the renewal runs in every test
    idle_backoff_max=0.3,
)
WAIT = 15.0


class Engines:
    """Schedulers started in the test's loop, all shut down at the end."""

    def __init__(self) -> None:
        self.started: list[Scheduler] = []

    def start(self, ctx: EngineContext, notifier: Recorder | None = None) -> Scheduler:
        engine = Scheduler(replace(ctx, intervals=FAST), notifier)
        engine.start()
        self.started.append(engine)
        return engine


@pytest.fixture
async def engines() -> AsyncIterator[Engines]:
    made = Engines()
    yield made
    for engine in made.started:
        engine.shutdown()


def idling(engine: Scheduler, *mailbox_ids: int) -> bool:
    watchers = engine.idle.by_mailbox
    return all(i in watchers and watchers[i].idling.is_set() for i in mailbox_ids)


def sent_three(make_ctx: Ctx, smtp: SmtpServer, dovecot: Dovecot, **env: str) -> EngineContext:
    ctx = setup(make_ctx, smtp, dovecot, **env)
    add_leads(ctx, "ana@acme.io", "bob@beta.io", "cleo@gamma.io")
    start(ctx)
    assert send(ctx) == 3  # one first email per mailbox
    return ctx


async def test_a_reply_is_read_and_delivered_in_seconds_by_the_mailboxs_watcher(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot, engines: Engines
) -> None:
    ctx = sent_three(make_ctx, smtp_server, dovecot)
    recorder = Recorder()
    engine = engines.start(ctx, recorder)
    await wait_until_async(lambda: idling(engine, 1, 2, 3), WAIT, "three mailboxes in IDLE")
    assert engine.idle.running == 3 and engine.reply_ticks == 1
    to, our_id = thread_of(ctx, 2)

    dovecot.append(reply(to, BEA, our_id), user=BEA)

    await wait_until_async(lambda: lead(ctx, to).status == "replied", WAIT, "the reply read")
    await wait_until_async(
        lambda: any(to in t and "tell me more" in t for t in recorder.texts),
        WAIT,
        "the reply delivered to the admins",
    )
    assert [n.payload.get("email") for n in outbox(ctx, "reply")] == [to]
    assert engine.reply_ticks == 1  # the poll ran only at the start: the watcher read it
    assert engine.idle.running == 3  # still one thread per mailbox


async def test_with_reply_idle_off_no_watcher_starts(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot, engines: Engines
) -> None:
    ctx = sent_three(make_ctx, smtp_server, dovecot, REPLY_IDLE="off")
    engine = engines.start(ctx)
    await wait_until_async(lambda: engine.reply_ticks == 1, WAIT, "the first poll")
    await wait_until_async(lambda: leases.holds(ctx, "reply_check"), WAIT, "the lease held")

    assert engine.idle.running == 0 and engine.idle.by_mailbox == {}


async def test_a_watcher_reconnects_when_its_server_is_back(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot, engines: Engines
) -> None:
    ctx = sent_three(make_ctx, smtp_server, dovecot)
    engine = engines.start(ctx)
    await wait_until_async(lambda: idling(engine, 1, 2, 3), WAIT, "three mailboxes in IDLE")
    first = dict(engine.idle.by_mailbox)

    dovecot.stop()
    await wait_until_async(
        lambda: all(w.failures >= 2 for w in first.values()), WAIT, "failed reconnects"
    )
    to, our_id = thread_of(ctx, 3)
    dovecot.start()
    dovecot.append(reply(to, CAI, our_id), user=CAI)  # while the watcher was not listening

    await wait_until_async(lambda: lead(ctx, to).status == "replied", WAIT, "the reply read")
    await wait_until_async(lambda: idling(engine, 1, 2, 3), WAIT, "all back in IDLE")
    assert engine.idle.by_mailbox == first  # the same threads, reconnected
    assert engine.reply_ticks == 1


async def test_a_mailbox_whose_login_is_refused_does_not_hold_up_the_others(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot, engines: Engines
) -> None:
    ctx = sent_three(make_ctx, smtp_server, dovecot)
    dovecot.set_password("not-what-we-stored", user=CAI)
    engine = engines.start(ctx)
    await wait_until_async(lambda: idling(engine, 1, 2), WAIT, "mailboxes 1 and 2 in IDLE")
    refused = engine.idle.by_mailbox[3]
    await wait_until_async(lambda: not refused.thread.is_alive(), WAIT, "mailbox 3's watcher ended")
    assert refused.failures == 1  # a refused login is not retried in a loop
    to, our_id = thread_of(ctx, 2)

    dovecot.append(reply(to, BEA, our_id), user=BEA)

    await wait_until_async(lambda: lead(ctx, to).status == "replied", WAIT, "the reply read")
    assert engine.idle.running == 2
    dovecot.set_password(PASSWORDS[CAI], user=CAI)

    assert await engine.reply_tick() is True  # the next reply tick starts it again

    await wait_until_async(lambda: idling(engine, 3), WAIT, "mailbox 3 in IDLE")
    assert engine.idle.running == 3


async def test_only_the_lease_holder_watches_and_another_replica_takes_over(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot, engines: Engines, clock: FakeClock
) -> None:
    ctx = sent_three(make_ctx, smtp_server, dovecot)
    # Replicas on two other hosts (two owners of this pid on this host read as a restart).
    first = engines.start(replace(ctx, owner="host-a:1:replica1"))
    await wait_until_async(lambda: idling(first, 1, 2, 3), WAIT, "replica 1 in IDLE")
    second = Scheduler(replace(ctx, owner="host-b:2:replica2", intervals=FAST))
    second.scheduler.start(paused=True)  # running, but no job of its own: ticks by hand
    engines.started.append(second)

    assert await second.reply_tick() is False
    assert second.idle.running == 0

    clock.advance(timedelta(seconds=2 * POLL + 1))  # replica 1's lease runs out
    assert await second.reply_tick() is True
    await wait_until_async(lambda: idling(second, 1, 2, 3), WAIT, "replica 2 in IDLE")
    # replica 1's maintenance tick finds the lease gone and stops its watchers
    await wait_until_async(lambda: first.idle.running == 0, WAIT, "replica 1's watchers gone")
    to, our_id = thread_of(ctx, 1)

    dovecot.append(reply(to, dovecot.user, our_id))

    await wait_until_async(lambda: lead(ctx, to).status == "replied", WAIT, "the reply read")


async def test_the_watchers_follow_mailboxes_added_and_removed_at_the_next_reply_tick(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot, engines: Engines
) -> None:
    ctx = sent_three(make_ctx, smtp_server, dovecot)
    engine = engines.start(ctx)
    await wait_until_async(lambda: idling(engine, 1, 2, 3), WAIT, "three mailboxes in IDLE")
    removed = engine.idle.by_mailbox[3]
    with ctx.db.transaction() as session:
        box = session.get(Mailbox, 3)
        assert box is not None
        box.state = MailboxStatus.REMOVED
    dovecot.add_user("dan@example.com", "pw-dan-4")
    added = add_mailbox(
        ctx,
        "dan@example.com",
        "pw-dan-4",
        imap_server="127.0.0.1",
        imap_port=dovecot.port,
        imap_security="none",
    )

    assert await engine.reply_tick() is True

    await wait_until_async(lambda: idling(engine, 1, 2, added), WAIT, "the new mailbox in IDLE")
    assert sorted(engine.idle.by_mailbox) == [1, 2, added]
    await wait_until_async(lambda: not removed.thread.is_alive(), WAIT, "mailbox 3's watcher gone")
    assert engine.idle.running == 3
