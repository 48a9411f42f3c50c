"""The refusal limiter: one answer per user per interval, on the injected clock, in a table
that never grows past its bound."""

from __future__ import annotations

from datetime import timedelta

from bot.ratelimit import RefusalLimiter
from engine.clock import FakeClock


def test_it_allows_one_refusal_per_user_per_minute() -> None:
    clock = FakeClock()
    limiter = RefusalLimiter(interval=60)
    assert limiter.allow(1, clock.now())
    assert not limiter.allow(1, clock.now())
    clock.advance(timedelta(seconds=59))
    assert not limiter.allow(1, clock.now())
    assert limiter.allow(2, clock.now())
    clock.advance(timedelta(seconds=1))
    assert limiter.allow(1, clock.now())


def test_its_table_stays_bounded_dropping_the_oldest() -> None:
    clock = FakeClock()
    limiter = RefusalLimiter(interval=60, max_users=100)
    for user in range(10_000):
        limiter.allow(user, clock.now())
    assert len(limiter) == 100
    assert limiter.allow(0, clock.now())  # forgotten, so answered again
    assert not limiter.allow(9_999, clock.now())  # recent, still limited
