"""When may the next email go? Pure functions of the pacing state, the rules and the clock.

Two limits hold at once: the daily cap counted from midnight in TIMEZONE (what the operator sees
as "sent today"), and the same cap over any rolling 24 hours (what Gmail enforces), so a midnight
reset never allows twice the cap across midnight.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.states import Hold

ROLLING_WINDOW = timedelta(hours=24)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class SendWindow:
    """Local hours (and weekdays) when emails may go out, e.g. 09:00-17:00 Mon-Fri.

    ``start > end`` is an overnight window (22:00-06:00) whose early-morning part belongs to the
    day it started on; ``start == end`` means all day on the allowed days."""

    start: time
    end: time
    days: frozenset[int]  # 0 = Monday … 6 = Sunday

    def contains(self, now: datetime, tz: ZoneInfo) -> bool:
        local = now.astimezone(tz)
        t, day = local.time(), local.weekday()
        if self.start == self.end:  # all day, on the allowed days
            return day in self.days
        if self.start < self.end:
            return day in self.days and self.start <= t < self.end
        return (day in self.days and t >= self.start) or (
            (day - 1) % 7 in self.days and t < self.end
        )

    def next_open(self, now: datetime, tz: ZoneInfo) -> datetime:
        """``now`` if the window is open, else when it next opens."""
        if self.contains(now, tz):
            return now
        local = now.astimezone(tz)
        for ahead in range(8):
            d = local.date() + timedelta(days=ahead)
            opening = datetime.combine(d, self.start, tzinfo=tz)
            if d.weekday() in self.days and opening > now:
                return opening
        return now + timedelta(days=7)  # no day allowed: configuration prevents this

    def detail(self, tz: ZoneInfo) -> dict[str, Any]:
        """The window as plain values, for the words of an ``OUTSIDE_WINDOW`` hold."""
        return {
            "start": f"{self.start:%H:%M}",
            "end": f"{self.end:%H:%M}",
            "days": sorted(self.days),
            "tz": getattr(tz, "key", None) or str(tz),
        }


@dataclass(frozen=True)
class PacingRules:
    daily_limit: int
    min_delay: int
    max_delay: int
    pause_every: int
    pause_min: int
    pause_max: int
    window: SendWindow | None = None


@dataclass(frozen=True)
class PacingState:
    next_send_at: datetime | None
    batch_count: int
    blocked_until: datetime | None = None
    blocked_reason: str = ""  # a BlockReason; an older release stored a sentence


@dataclass(frozen=True)
class SendCounts:
    sent_today: int  # since local midnight
    sent_last_24h: int
    oldest_in_window: datetime | None  # attempted_at of the oldest send inside the last 24 h


@dataclass(frozen=True)
class Gate:
    """May an email go now? ``hold`` says why not (None: it may), with the plain values its
    words need in ``detail`` (worded by ``bot/messages/holds.py``), and ``wait_until`` says
    when to look again."""

    hold: Hold | None = None
    wait_until: datetime | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.hold is None

    def __str__(self) -> str:
        """The log form: the hold and its detail, e.g. ``daily_cap sent=3 limit=3``."""
        return " ".join([str(self.hold or "open"), *(f"{k}={v}" for k, v in self.detail.items())])


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
        detail = {"sent": counts.sent_today, "limit": rules.daily_limit}
        return Gate(Hold.DAILY_CAP, next_midnight(now, tz), detail)
    if counts.sent_last_24h >= rules.daily_limit:
        until = (counts.oldest_in_window or now) + ROLLING_WINDOW
        detail = {"sent": counts.sent_last_24h, "limit": rules.daily_limit}
        return Gate(Hold.ROLLING_CAP, until, detail)
    return Gate()


def gate(
    now: datetime, state: PacingState, rules: PacingRules, counts: SendCounts, tz: ZoneInfo
) -> Gate:
    """May an email go now? If not, why, and when to look again."""
    if state.blocked_until is not None and now < state.blocked_until:
        return Gate(Hold.BLOCKED, state.blocked_until, {"reason": state.blocked_reason})
    if rules.window is not None and not rules.window.contains(now, tz):
        return Gate(Hold.OUTSIDE_WINDOW, rules.window.next_open(now, tz), rules.window.detail(tz))
    cap = daily_cap_gate(now, rules, counts, tz)
    if not cap.allowed:
        return cap
    if state.next_send_at is not None and now < state.next_send_at:
        return Gate(Hold.PACING, state.next_send_at)
    return Gate()


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
