"""engine.sending.pacing: pure functions of the pacing state, the rules and an injected time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.sending.pacing import (
    PacingRules,
    PacingState,
    SendCounts,
    after_send,
    day_start,
    gate,
    next_midnight,
    retry_backoff,
)
from engine.states import Hold

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
UTC_TZ = ZoneInfo("UTC")
FREE = PacingState(next_send_at=None, batch_count=0)
NONE_SENT = SendCounts(sent_today=0, sent_last_24h=0, oldest_in_window=None)


def rules(**kw: int) -> PacingRules:
    base = dict(
        daily_limit=500, min_delay=60, max_delay=120, pause_every=20, pause_min=5, pause_max=8
    )
    return PacingRules(**{**base, **kw})


def test_it_allows_the_first_email_at_once() -> None:
    assert gate(NOW, FREE, rules(), NONE_SENT, UTC_TZ).allowed


def test_it_draws_the_gap_between_min_and_max_delay() -> None:
    rng = random.Random(1)
    gaps = {
        (after_send(NOW, FREE, rules(pause_every=0), rng).next_send_at - NOW).total_seconds()
        for _ in range(200)
    }

    assert min(gaps) >= 60 and max(gaps) <= 120
    assert max(gaps) - min(gaps) > 30  # spread over the range, not a constant


def test_it_holds_until_next_send_at() -> None:
    state = PacingState(next_send_at=NOW + timedelta(seconds=90), batch_count=1)

    held = gate(NOW + timedelta(seconds=89), state, rules(), NONE_SENT, UTC_TZ)
    free = gate(NOW + timedelta(seconds=90), state, rules(), NONE_SENT, UTC_TZ)

    assert not held.allowed and held.wait_until == NOW + timedelta(seconds=90)
    assert free.allowed


def test_it_adds_a_batch_pause_after_every_n_emails() -> None:
    rng = random.Random(2)
    r = rules(min_delay=10, max_delay=10, pause_every=3)
    state, gaps = FREE, []
    for _ in range(6):
        state = after_send(NOW, state, r, rng)
        gaps.append((state.next_send_at - NOW).total_seconds())

    assert gaps[0] == gaps[1] == gaps[3] == gaps[4] == 10
    assert all(10 + 300 <= g <= 10 + 480 for g in (gaps[2], gaps[5]))
    assert state.batch_count == 0


def test_it_never_pauses_when_pause_every_is_zero() -> None:
    rng = random.Random(3)
    r = rules(min_delay=10, max_delay=10, pause_every=0)
    state = FREE
    for _ in range(100):
        state = after_send(NOW, state, r, rng)
        assert state.next_send_at == NOW + timedelta(seconds=10)


def test_it_stops_at_the_daily_limit_until_local_midnight() -> None:
    tz = ZoneInfo("Europe/Berlin")
    counts = SendCounts(sent_today=3, sent_last_24h=3, oldest_in_window=NOW)

    held = gate(NOW, FREE, rules(daily_limit=3), counts, tz)

    assert not held.allowed
    assert held.wait_until == datetime(2026, 1, 6, 0, 0, tzinfo=tz)


def test_it_stops_at_the_limit_over_rolling_24_hours_after_midnight() -> None:
    first = datetime(2026, 1, 5, 23, 0, tzinfo=UTC)
    after_midnight = datetime(2026, 1, 6, 0, 30, tzinfo=UTC)
    counts = SendCounts(sent_today=0, sent_last_24h=3, oldest_in_window=first)

    held = gate(after_midnight, FREE, rules(daily_limit=3), counts, UTC_TZ)

    assert not held.allowed
    assert held.wait_until == first + timedelta(hours=24)


def test_it_holds_while_the_account_is_blocked() -> None:
    state = PacingState(None, 0, blocked_until=NOW + timedelta(hours=24), blocked_reason="quota")

    held = gate(NOW, state, rules(), NONE_SENT, UTC_TZ)

    assert held.hold is Hold.BLOCKED and held.detail == {"reason": "quota"}
    assert gate(NOW + timedelta(hours=24), state, rules(), NONE_SENT, UTC_TZ).allowed


@pytest.mark.parametrize("attempts", [1, 2, 3, 8, 20])
def test_it_backs_off_exponentially_with_a_cap(attempts: int) -> None:
    ceiling = min(3600.0, 60.0 * 2 ** (attempts - 1))
    rng = random.Random(attempts)
    for _ in range(50):
        wait = retry_backoff(attempts, rng).total_seconds()
        assert ceiling / 2 <= wait <= ceiling


def test_it_finds_the_local_day_boundary_in_the_timezone() -> None:
    tz = ZoneInfo("America/New_York")
    late = datetime(2026, 1, 6, 3, 0, tzinfo=UTC)  # 22:00 on the 5th in New York

    assert day_start(late, tz) == datetime(2026, 1, 5, 0, 0, tzinfo=tz)
    assert next_midnight(late, tz) == datetime(2026, 1, 6, 0, 0, tzinfo=tz)
