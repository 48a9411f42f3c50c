"""When may the next email go? Pure functions of the pacing state, the rules and the clock.

Two limits hold at once: the daily cap counted from midnight in TIMEZONE (what the operator sees
as "sent today"), and the same cap over any rolling 24 hours (what Gmail enforces), so a midnight
reset never allows twice the cap across midnight.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

ROLLING_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class PacingRules:
    daily_limit: int
    min_delay: int
    max_delay: int
    pause_every: int
    pause_min: int
    pause_max: int


@dataclass(frozen=True)
class PacingState:
    next_send_at: datetime | None
    batch_count: int
    blocked_until: datetime | None = None
    blocked_reason: str = ""


@dataclass(frozen=True)
class SendCounts:
    sent_today: int  # since local midnight
    sent_last_24h: int
    oldest_in_window: datetime | None  # attempted_at of the oldest send inside the last 24 h


@dataclass(frozen=True)
class Gate:
    allowed: bool
    reason: str = ""
    wait_until: datetime | None = None


def day_start(now: datetime, tz: ZoneInfo) -> datetime:
    """The start of ``now``'s local day in ``tz``, as an aware datetime."""
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def next_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    tomorrow = (local + timedelta(days=1)).date()
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=tz)


def daily_cap_gate(now: datetime, rules: PacingRules, counts: SendCounts, tz: ZoneInfo) -> Gate:
    """Where the daily cap is enforced: both the local day and any rolling 24 hours."""
    if counts.sent_today >= rules.daily_limit:
        return Gate(
            False,
            f"daily limit reached ({counts.sent_today}/{rules.daily_limit})",
            next_midnight(now, tz),
        )
    if counts.sent_last_24h >= rules.daily_limit:
        until = (counts.oldest_in_window or now) + ROLLING_WINDOW
        return Gate(
            False,
            f"{counts.sent_last_24h} sent in the last 24 hours (limit {rules.daily_limit})",
            until,
        )
    return Gate(True)


def gate(
    now: datetime, state: PacingState, rules: PacingRules, counts: SendCounts, tz: ZoneInfo
) -> Gate:
    """May an email go now? If not, why, and when to look again."""
    if state.blocked_until is not None and now < state.blocked_until:
        return Gate(False, state.blocked_reason or "sending is on hold", state.blocked_until)
    cap = daily_cap_gate(now, rules, counts, tz)
    if not cap.allowed:
        return cap
    if state.next_send_at is not None and now < state.next_send_at:
        return Gate(False, "pacing: waiting between emails", state.next_send_at)
    return Gate(True)


def after_send(
    now: datetime, state: PacingState, rules: PacingRules, rng: random.Random
) -> PacingState:
    """The pacing state once an email has been claimed at ``now``: a random human-like gap,
    and after every ``pause_every`` emails a longer pause."""
    batch = state.batch_count + 1
    delay = rng.uniform(rules.min_delay, rules.max_delay)
    if rules.pause_every > 0 and batch >= rules.pause_every:
        delay += 60 * rng.uniform(rules.pause_min, rules.pause_max)
        batch = 0
    return PacingState(
        next_send_at=now + timedelta(seconds=delay),
        batch_count=batch,
        blocked_until=state.blocked_until,
        blocked_reason=state.blocked_reason,
    )


def retry_backoff(
    attempts: int, rng: random.Random, *, base: float = 60.0, cap: float = 3600.0
) -> timedelta:
    """Exponential backoff with full jitter for a message the server asked us to retry."""
    ceiling = min(cap, base * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))
