"""Pacing and the daily cap through the real send queue, with a FakeClock instead of sleeps:
the random gap between emails, the batch pause, the cap per local day and per rolling 24 hours,
and the midnight reset that runs once per day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.messages import render
from engine import campaign
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.notify import Notification
from engine.scheduler import Scheduler
from engine.sending.claims import claim_next
from engine.sending.pacing import Gate
from engine.sending.queue import run_send_queue
from engine.sending.smtp import Mailer
from engine.states import Hold
from tests.integration.sendkit import add_leads, outbox, send_next, start
from tests.servers.smtp import SmtpServer

Ctx = Callable[..., EngineContext]


def emails(n: int, domain: str | None = None) -> list[str]:
    """``n`` addresses, each at a domain of its own unless one is given (per-domain spacing
    would hold more than five first emails a day to one domain)."""
    return [f"lead{i:03d}@{domain or f'd{i}.example'}" for i in range(n)]


def send_paced(ctx: EngineContext, mailer: Mailer, clock: FakeClock, n: int) -> list[float]:
    """Send ``n`` emails, each as soon as the gate allows; the gaps between them in seconds."""
    times: list[datetime] = []
    for _ in range(n):
        outcome = send_next(ctx, mailer)
        if isinstance(outcome, Gate):
            assert outcome.wait_until is not None, outcome
            clock.set(outcome.wait_until)
            outcome = send_next(ctx, mailer)
        assert outcome == "sent"
        times.append(clock.now())
    return [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]


def test_it_waits_a_random_min_to_max_delay_between_emails(
    engine_ctx: Ctx, mailers, clock: FakeClock
) -> None:
    ctx = engine_ctx(MIN_DELAY_SECONDS="60", MAX_DELAY_SECONDS="120")
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, *emails(8))

    gaps = send_paced(ctx, mailer, clock, 8)

    assert all(60 <= g <= 120 for g in gaps), gaps
    assert len(set(gaps)) > 1  # random, not a fixed interval


def test_it_holds_the_next_email_until_the_delay_has_passed(
    engine_ctx: Ctx, mailers, clock: FakeClock
) -> None:
    ctx = engine_ctx(MIN_DELAY_SECONDS="60", MAX_DELAY_SECONDS="120")
    start(ctx)
    add_leads(ctx, *emails(2))
    assert send_next(ctx, mailers(ctx)) == "sent"
    held = claim_next(ctx)
    assert isinstance(held, Gate) and held.wait_until is not None

    clock.set(held.wait_until - timedelta(seconds=1))
    assert isinstance(claim_next(ctx), Gate)
    clock.set(held.wait_until)
    assert not isinstance(claim_next(ctx), Gate)


def test_it_pauses_after_every_n_emails(engine_ctx: Ctx, mailers, clock: FakeClock) -> None:
    ctx = engine_ctx(
        MIN_DELAY_SECONDS="10",
        MAX_DELAY_SECONDS="10",
        PAUSE_EVERY_N_EMAILS="3",
        PAUSE_MIN_MINUTES="5",
        PAUSE_MAX_MINUTES="8",
    )
    start(ctx)
    add_leads(ctx, *emails(7))

    gaps = send_paced(ctx, mailers(ctx), clock, 7)

    assert gaps[0] == gaps[1] == gaps[3] == gaps[4] == 10
    for pause in (gaps[2], gaps[5]):
        assert 10 + 5 * 60 <= pause <= 10 + 8 * 60, gaps


def test_it_never_pauses_when_pause_every_is_zero(
    engine_ctx: Ctx, mailers, clock: FakeClock
) -> None:
    ctx = engine_ctx(MIN_DELAY_SECONDS="10", MAX_DELAY_SECONDS="10", PAUSE_EVERY_N_EMAILS="0")
    start(ctx)
    add_leads(ctx, *emails(25))

    gaps = send_paced(ctx, mailers(ctx), clock, 25)

    assert gaps == [10.0] * 24


def test_it_never_sends_more_than_the_daily_limit_in_a_day(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx(DAILY_EMAIL_LIMIT="3")
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, *emails(6))

    report = run_send_queue(ctx, mailer)
    for _ in range(10):
        clock.advance(timedelta(hours=1))  # 09:00 → 19:00, the same day
        run_send_queue(ctx, mailer)

    assert report.sent == 3
    assert report.stopped_by is not None and report.stopped_by.hold is Hold.DAILY_CAP
    assert len(smtp_server.messages) == 3
    assert campaign.status(ctx).sent_today == 3


def test_it_keeps_the_limit_over_rolling_24_hours_across_midnight(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 1, 5, 23, 0, tzinfo=UTC))
    ctx = engine_ctx(DAILY_EMAIL_LIMIT="3")
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, *emails(6))
    first = clock.now()
    for _ in range(3):
        assert send_next(ctx, mailer) == "sent"
        clock.advance(timedelta(minutes=10))

    clock.set(datetime(2026, 1, 6, 0, 30, tzinfo=UTC))
    Scheduler(ctx).midnight_reset()
    held = claim_next(ctx)
    assert isinstance(held, Gate) and held.hold is Hold.ROLLING_CAP
    assert held.wait_until == first + timedelta(hours=24)
    clock.set(first + timedelta(hours=24) - timedelta(seconds=1))
    assert run_send_queue(ctx, mailer).sent == 0
    assert len(smtp_server.messages) == 3

    clock.set(first + timedelta(hours=24))
    assert run_send_queue(ctx, mailer).sent == 1  # only the first one left the window


def test_it_resets_at_midnight_once_per_day(engine_ctx: Ctx, clock: FakeClock) -> None:
    ctx = engine_ctx()
    clock.set(datetime(2026, 1, 6, 0, 0, 5, tzinfo=UTC))

    first, again = Scheduler(ctx).midnight_reset(), Scheduler(ctx).midnight_reset()
    clock.advance(timedelta(days=1))
    next_day = Scheduler(ctx).midnight_reset()

    assert (first, again, next_day) == (True, False, True)
    assert len(outbox(ctx, "summary")) == 2


def test_it_posts_one_summary_of_yesterday_at_midnight(
    engine_ctx: Ctx, mailers, clock: FakeClock
) -> None:
    ctx = engine_ctx()
    start(ctx)
    add_leads(ctx, *emails(2))
    assert run_send_queue(ctx, mailers(ctx)).sent == 2
    clock.set(datetime(2026, 1, 6, 0, 0, 5, tzinfo=UTC))

    Scheduler(ctx).midnight_reset()
    Scheduler(ctx).midnight_reset()

    (summary,) = outbox(ctx, "summary")
    assert (
        "2 sent"
        in render(Notification(summary.id, summary.kind, summary.text, summary.payload)).text
    )


def test_it_starts_a_fresh_batch_after_the_midnight_reset(
    engine_ctx: Ctx, mailers, clock: FakeClock
) -> None:
    ctx = engine_ctx(MIN_DELAY_SECONDS="10", MAX_DELAY_SECONDS="10", PAUSE_EVERY_N_EMAILS="3")
    start(ctx)
    add_leads(ctx, *emails(5))
    send_paced(ctx, mailers(ctx), clock, 2)  # two into a batch of three
    clock.set(datetime(2026, 1, 6, 0, 0, 5, tzinfo=UTC))
    Scheduler(ctx).midnight_reset()

    gaps = send_paced(ctx, mailers(ctx), clock, 3)

    assert gaps == [10.0, 10.0]  # a whole batch again: no pause after the first email
