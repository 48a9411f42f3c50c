"""When may the next email go? Pure functions of the pacing state, the rules and the clock.

Two limits hold at once: the daily cap counted from midnight in TIMEZONE (what the operator sees
as "sent today"), and the same cap over any rolling 24 hours (what Gmail enforces), so a midnight
reset never allows twice the cap across midnight.

The send window is local time in a zone: the campaign's, or a lead's own (:func:`next_allowed`
gives the UTC instant a lead's email may next go, to be stored and looked up by index).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from engine.states import Hold
from engine.zones import zone_name

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

    def contains(self, now: datetime, tz: tzinfo) -> bool:
        local = now.astimezone(tz)
        t, day = local.time(), local.weekday()
        if self.start == self.end:  # all day, on the allowed days
            return day in self.days
        if self.start < self.end:
            return day in self.days and self.start <= t < self.end
        return (day in self.days and t >= self.start) or (
            (day - 1) % 7 in self.days and t < self.end
        )

    def next_open(self, now: datetime, tz: tzinfo) -> datetime:
        """``now`` if the window is open, else when it next opens (see :func:`next_allowed`)."""
        if self.contains(now, tz):
            return now
        return next_allowed(now, self, tz)

    @property
    def opens_at(self) -> time:
        """The local time the window opens on an allowed day: midnight when it is all day."""
        return time(0) if self.start == self.end else self.start

    def detail(self, tz: tzinfo) -> dict[str, Any]:
        """The window as plain values, for the words of an ``OUTSIDE_WINDOW`` hold."""
        return {
            "start": f"{self.start:%H:%M}",
            "end": f"{self.end:%H:%M}",
            "days": sorted(self.days),
            "tz": zone_name(tz),
        }


#: How far apart the UTC offset is sampled to find a zone's clock changes. No zone changes its
#: clocks twice within it: since 1970 tzdata's closest two changes are 6.96 days apart (Brazil in
#: 2000, Palestine's predicted 2040 Ramadan), so one day leaves a wide margin.
_OFFSET_SAMPLE = timedelta(days=1)


def next_allowed(at: datetime, window: SendWindow | None, tz: tzinfo) -> datetime:
    """The earliest instant at or after ``at`` when ``window`` is open in ``tz``, in UTC.

    The window opens where the local clock reaches its start on an allowed day (midnight for an
    all-day window), or where the clock jumps into it: a start inside a spring-forward gap
    (02:30 that never happens opens at 03:00, the moment of the change), or an hour repeated
    at a fall-back. Both are candidates; the earliest one at which the window is open wins.
    """
    if at.tzinfo is None:
        raise ValueError("next_allowed needs an aware datetime")
    at = at.astimezone(UTC)
    if window is None or window.contains(at, tz):
        return at
    if not window.days:
        return at + timedelta(days=7)  # no day allowed: configuration prevents this
    found = _next_opening(at, window, tz)
    limit = found if found is not None else at + timedelta(days=8)
    for change in _clock_changes(at, limit, tz):
        if window.contains(change, tz):
            return change
    return found if found is not None else at + timedelta(days=7)


def _next_opening(at: datetime, window: SendWindow, tz: tzinfo) -> datetime | None:
    """The first instant after ``at`` whose local time is the window's opening on an allowed
    day (either of two, in a repeated hour), or None within the next eight days."""
    today = at.astimezone(tz).date()
    for ahead in range(-1, 9):  # yesterday: a fall-back may repeat its last hour after ``at``
        day = today + timedelta(days=ahead)
        if day.weekday() not in window.days:
            continue
        for instant in _instants(day, window.opens_at, tz):
            if instant > at and window.contains(instant, tz):
                return instant
    return None


def _instants(day: date, wall: time, tz: tzinfo) -> list[datetime]:
    """The UTC instants whose local time in ``tz`` is ``day`` at ``wall``: none in a gap, two
    in a repeated hour, else one; in order."""
    naive = datetime.combine(day, wall)
    first, second = tz.utcoffset(naive), tz.utcoffset(naive.replace(fold=1))
    if first is None or second is None:
        raise ValueError(f"{tz!r} gives no UTC offset")
    if first == second:
        return [(naive - first).replace(tzinfo=UTC)]
    found = {(naive - offset).replace(tzinfo=UTC) for offset in (first, second)}
    return sorted(i for i in found if i.astimezone(tz).replace(tzinfo=None) == naive)


def _clock_changes(start: datetime, end: datetime, tz: tzinfo) -> list[datetime]:
    """The instants in ``(start, end]`` at which the UTC offset of ``tz`` changes, to the second."""
    if isinstance(tz, timezone):
        return []
    changes = []
    lo, lo_offset = start, start.astimezone(tz).utcoffset()
    while lo < end:
        hi = min(lo + _OFFSET_SAMPLE, end)
        hi_offset = hi.astimezone(tz).utcoffset()
        if hi_offset != lo_offset:
            changes.append(_first_with_offset(lo, hi, hi_offset, tz))
        lo, lo_offset = hi, hi_offset
    return changes


def _first_with_offset(
    lo: datetime, hi: datetime, offset: timedelta | None, tz: tzinfo
) -> datetime:
    """The first whole second in ``(lo, hi]`` from which ``tz``'s UTC offset is ``offset`` (it
    is not at ``lo`` and is at ``hi``; tzdata changes clocks on whole seconds)."""
    first, last = math.floor(lo.timestamp()) + 1, math.ceil(hi.timestamp())
    while first < last:
        mid = (first + last) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == offset:
            last = mid
        else:
            first = mid + 1
    return datetime.fromtimestamp(first, UTC)


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
