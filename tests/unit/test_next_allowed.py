"""engine.sending.pacing.next_allowed: when a lead's send window next opens in its own zone,
as a UTC instant, across clock changes, overnight and all-day windows and fixed offsets."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.sending.pacing import SendWindow, next_allowed
from engine.zones import parse_zone

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")  # clocks change at midnight
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # a half-hour change
APIA = ZoneInfo("Pacific/Apia")  # skipped 30 December 2011 entirely
EVERY_DAY = frozenset(range(7))
WEEKDAYS = frozenset(range(5))
OFFICE = SendWindow(time(9), time(17), WEEKDAYS)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(tz: tzinfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=tz, fold=fold).astimezone(UTC)  # type: ignore[misc]


# --------------------------------------------------------------------------- examples


def test_each_lead_gets_its_email_in_its_own_working_hours() -> None:
    now = utc(2026, 3, 4, 20, 0)  # Wednesday: 05:00 Thursday in Tokyo, 15:00 in New York
    assert next_allowed(now, OFFICE, TOKYO) == local(TOKYO, 2026, 3, 5, 9)
    assert next_allowed(now, OFFICE, NEW_YORK) == now  # open: it goes at once
    assert next_allowed(utc(2026, 3, 4, 23), OFFICE, NEW_YORK) == local(NEW_YORK, 2026, 3, 5, 9)


def test_it_is_at_itself_when_open_or_without_a_window() -> None:
    at = utc(2026, 3, 4, 10, 17, 3)
    assert next_allowed(at, OFFICE, BERLIN) == at
    assert next_allowed(at, None, BERLIN) == at
    assert next_allowed(at, None, BERLIN).tzinfo is UTC


def test_it_skips_the_weekend_in_the_leads_zone() -> None:
    friday_evening = local(TOKYO, 2026, 3, 6, 18)
    assert next_allowed(friday_evening, OFFICE, TOKYO) == local(TOKYO, 2026, 3, 9, 9)


def test_a_fixed_offset_zone_works_like_any_other() -> None:
    plus_0530 = parse_zone("UTC+05:30")
    assert next_allowed(utc(2026, 3, 4, 12), OFFICE, plus_0530) == utc(2026, 3, 5, 3, 30)


def test_an_overnight_window_is_open_after_midnight_of_an_allowed_day() -> None:
    friday_night = SendWindow(time(22), time(6), frozenset({4}))
    saturday_1am = local(BERLIN, 2026, 3, 7, 1)
    assert next_allowed(saturday_1am, friday_night, BERLIN) == saturday_1am
    assert next_allowed(local(BERLIN, 2026, 3, 7, 6), friday_night, BERLIN) == local(
        BERLIN, 2026, 3, 13, 22
    )


def test_an_all_day_window_opens_at_midnight_of_the_next_allowed_day() -> None:
    mondays = SendWindow(time(0), time(0), frozenset({0}))
    assert next_allowed(utc(2026, 3, 7, 12), mondays, BERLIN) == local(BERLIN, 2026, 3, 9, 0)


def test_it_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError):
        next_allowed(datetime(2026, 3, 4, 12), OFFICE, BERLIN)


# --------------------------------------------------------------------------- clock changes
# Each of these was wrong in SendWindow.next_open before it used next_allowed.


def test_a_start_inside_the_spring_forward_gap_opens_when_the_clock_jumps() -> None:
    # 29 March 2026, Berlin: 02:00 CET -> 03:00 CEST. 02:30 never happens; at 03:00 the
    # window (02:30-04:00) is open. next_open said 03:30 (02:30 read as CET).
    window = SendWindow(time(2, 30), time(4), EVERY_DAY)
    at = local(BERLIN, 2026, 3, 29, 0, 30)
    assert next_allowed(at, window, BERLIN) == utc(2026, 3, 29, 1, 0)
    assert window.next_open(at, BERLIN) == utc(2026, 3, 29, 1, 0)


def test_a_half_hour_change_opens_a_window_inside_the_gap_at_the_change() -> None:
    # 4 October 2026, Lord Howe: 02:00 +10:30 -> 02:30 +11:00.
    window = SendWindow(time(2, 15), time(5), EVERY_DAY)
    at = local(LORD_HOWE, 2026, 10, 4, 1)
    assert next_allowed(at, window, LORD_HOWE) == local(LORD_HOWE, 2026, 10, 4, 2, 30)


def test_a_change_at_midnight_opens_the_all_day_window_at_the_change() -> None:
    # 6 September 2026, Santiago: Sunday 00:00 -04 -> 01:00 -03; midnight never happens.
    sundays = SendWindow(time(0), time(0), frozenset({6}))
    at = local(SANTIAGO, 2026, 9, 5, 20)
    opened = next_allowed(at, sundays, SANTIAGO)
    assert opened == utc(2026, 9, 6, 4, 0)
    assert opened.astimezone(SANTIAGO).time() == time(1)
    after_half = SendWindow(time(0, 30), time(6), EVERY_DAY)
    assert next_allowed(utc(2026, 9, 6, 3), after_half, SANTIAGO) == utc(2026, 9, 6, 4, 0)


def test_the_repeated_hour_of_a_fall_back_opens_the_window_again() -> None:
    # 25 October 2026, Berlin: 03:00 CEST -> 02:00 CET. At 02:40 CEST the 01:30-02:30 window
    # has closed, and it is open again from 02:00 CET. next_open said 01:30 the next day.
    window = SendWindow(time(1, 30), time(2, 30), EVERY_DAY)
    at = local(BERLIN, 2026, 10, 25, 2, 40)
    assert next_allowed(at, window, BERLIN) == local(BERLIN, 2026, 10, 25, 2, 0, fold=1)
    assert window.next_open(at, BERLIN) == utc(2026, 10, 25, 1, 0)


def test_a_start_in_the_repeated_hour_opens_at_its_first_occurrence() -> None:
    window = SendWindow(time(2, 15), time(2, 45), EVERY_DAY)
    at = local(BERLIN, 2026, 10, 25, 1)
    assert next_allowed(at, window, BERLIN) == local(BERLIN, 2026, 10, 25, 2, 15, fold=0)
    second = local(BERLIN, 2026, 10, 25, 2, 50, fold=0)  # between the two 02:15s
    assert next_allowed(second, window, BERLIN) == local(BERLIN, 2026, 10, 25, 2, 15, fold=1)


def test_a_day_that_never_happened_is_skipped() -> None:
    # Samoa went from 29 December 2011 23:59:59 to 31 December 00:00 (Friday 30th skipped).
    fridays = SendWindow(time(9), time(17), frozenset({4}))
    thursday = local(APIA, 2011, 12, 29, 18)
    assert next_allowed(thursday, fridays, APIA) == local(APIA, 2012, 1, 6, 9)
    all_friday = SendWindow(time(0), time(0), frozenset({4, 5}))  # Friday or Saturday
    assert next_allowed(thursday, all_friday, APIA) == local(APIA, 2011, 12, 31, 0)


def test_the_office_window_across_a_change_keeps_local_hours() -> None:
    # US spring forward on 8 March 2026: Monday 09:00 EDT is 13:00 UTC, not 14:00.
    friday_evening = local(NEW_YORK, 2026, 3, 6, 18)
    assert next_allowed(friday_evening, OFFICE, NEW_YORK) == utc(2026, 3, 9, 13, 0)


# --------------------------------------------------------------------------- properties

ZONES: list[tzinfo] = [
    *(
        ZoneInfo(name)
        for name in (
            "Europe/Berlin",
            "America/New_York",
            "America/Santiago",
            "America/Havana",
            "Asia/Beirut",
            "Australia/Lord_Howe",
            "Pacific/Chatham",
            "Pacific/Apia",
            "Africa/Casablanca",
            "Asia/Tehran",
            "America/St_Johns",
            "Asia/Kolkata",
            "UTC",
        )
    ),
    timezone(timedelta(hours=5, minutes=45)),
    timezone(-timedelta(hours=9, minutes=30)),
    timezone(timedelta(hours=14)),
]

# Minutes of the day where clocks change somewhere, and any minute at all.
CLOCK_CHANGE_MINUTES = [0, 30, 60, 90, 120, 135, 150, 180, 1380, 1410]
minute_of_day = st.one_of(st.sampled_from(CLOCK_CHANGE_MINUTES), st.integers(0, 24 * 60 - 1))
day_sets = st.frozensets(st.integers(0, 6), min_size=1)


@cache
def clock_changes(tz: tzinfo) -> list[datetime]:
    """The clock changes of ``tz`` in 2010-2030, found day by day then to the second."""
    found = []
    t = utc(2010, 1, 1)
    while t < utc(2030, 1, 1):
        nxt = t + timedelta(days=1)
        if t.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            lo, hi = int(t.timestamp()), int(nxt.timestamp())
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if datetime.fromtimestamp(mid, tz).utcoffset() == t.astimezone(tz).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(datetime.fromtimestamp(hi, UTC))
        t = nxt
    return found


@st.composite
def cases(draw: st.DrawFn) -> tuple[datetime, SendWindow, tzinfo]:
    tz = draw(st.sampled_from(ZONES))
    start, end = draw(minute_of_day), draw(minute_of_day)
    window = SendWindow(time(*divmod(start, 60)), time(*divmod(end, 60)), draw(day_sets))
    changes = clock_changes(tz)
    if changes and draw(st.booleans()):  # near a clock change, where the bugs live
        around = draw(st.sampled_from(changes))
        at = around + timedelta(seconds=draw(st.integers(-3 * 86400, 86400)))
    else:
        moment = draw(st.datetimes(datetime(1990, 1, 1), datetime(2060, 1, 1)))
        at = moment.replace(tzinfo=UTC)
    return at, window, tz


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_next_allowed_is_the_first_open_instant(case: tuple[datetime, SendWindow, tzinfo]) -> None:
    at, window, tz = case
    result = next_allowed(at, window, tz)
    assert result >= at
    assert result.tzinfo is UTC
    assert window.contains(result, tz)
    assert result - at <= timedelta(days=8)
    # No whole minute between ``at`` and the result is inside the window.
    minute = at.replace(second=0, microsecond=0)
    if minute < at:
        minute += timedelta(minutes=1)
    while minute < result:
        assert not window.contains(minute, tz), (minute, result)
        minute += timedelta(minutes=1)


@settings(max_examples=100, deadline=None)
@given(cases())
def test_next_open_agrees_with_next_allowed(case: tuple[datetime, SendWindow, tzinfo]) -> None:
    at, window, tz = case
    assert window.next_open(at, tz) == next_allowed(at, window, tz)


def test_the_property_cases_reach_clock_changes() -> None:
    assert len(clock_changes(BERLIN)) == 40
    assert clock_changes(APIA)[0].date() <= date(2011, 12, 30)
