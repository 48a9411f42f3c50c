"""The sending window: local hours and weekdays when emails may go out (pure, no servers)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.messages.holds import hold_text
from engine.config import load_settings
from engine.errors import ConfigError
from engine.sending.pacing import PacingRules, PacingState, SendCounts, SendWindow, gate
from engine.states import Hold
from tests.conftest import BASE_ENV

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = frozenset(range(5))
OFFICE = SendWindow(time(9), time(17), WEEKDAYS)
NIGHT = SendWindow(time(22), time(6), frozenset({4}))  # Friday night only


def at(y: int, mo: int, d: int, h: int, mi: int = 0, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz).astimezone(UTC)


def test_it_is_open_inside_office_hours_on_a_weekday() -> None:
    assert OFFICE.contains(at(2026, 3, 4, 10), BERLIN)  # Wednesday 10:00 Berlin


def test_it_is_closed_after_hours_and_opens_next_morning() -> None:
    now = at(2026, 3, 4, 17, 30)  # Wednesday 17:30
    assert not OFFICE.contains(now, BERLIN)
    assert OFFICE.next_open(now, BERLIN) == at(2026, 3, 5, 9)


def test_it_skips_the_weekend() -> None:
    now = at(2026, 3, 6, 18)  # Friday 18:00
    assert OFFICE.next_open(now, BERLIN) == at(2026, 3, 9, 9)  # Monday 09:00


def test_it_uses_local_time_not_utc() -> None:
    # 08:30 UTC is 09:30 in Berlin in winter: open there, though 08:30 is before 09:00.
    assert OFFICE.contains(datetime(2026, 3, 4, 8, 30, tzinfo=UTC), BERLIN)


def test_an_overnight_window_belongs_to_the_day_it_starts() -> None:
    assert NIGHT.contains(at(2026, 3, 6, 23), BERLIN)  # Friday 23:00
    assert NIGHT.contains(at(2026, 3, 7, 5), BERLIN)  # Saturday 05:00, Friday's night
    assert not NIGHT.contains(at(2026, 3, 8, 5), BERLIN)  # Sunday 05:00: Saturday is not allowed
    assert not NIGHT.contains(at(2026, 3, 6, 7), BERLIN)  # Friday 07:00


def test_the_gate_says_why_and_until_when() -> None:
    rules = PacingRules(500, 0, 0, 0, 0, 0, window=OFFICE)
    g = gate(at(2026, 3, 4, 20), PacingState(None, 0), rules, SendCounts(0, 0, None), BERLIN)
    assert (g.hold, g.wait_until) == (Hold.OUTSIDE_WINDOW, at(2026, 3, 5, 9))
    assert hold_text(g.hold, g.detail) == (
        "outside the sending window (09:00-17:00 Mon-Fri, Europe/Berlin)"
    )


def test_it_reads_the_window_from_the_environment() -> None:
    s = load_settings({**BASE_ENV, "SEND_WINDOW": "9:00-17:30", "SEND_DAYS": "mon-fri"})
    assert s.send_window == (time(9), time(17, 30))
    assert s.send_days == WEEKDAYS


def test_it_reads_wrapping_day_ranges() -> None:
    s = load_settings({**BASE_ENV, "SEND_DAYS": "fri-mon"})
    assert s.send_days == frozenset({4, 5, 6, 0})


def test_it_defaults_to_any_time() -> None:
    s = load_settings(BASE_ENV)
    assert s.send_window is None and s.send_days == frozenset(range(7))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SEND_WINDOW", "9-5"),
        ("SEND_WINDOW", "25:00-26:00"),
        ("SEND_WINDOW", "09:00-09:00"),
        ("SEND_DAYS", "weekdays"),
        ("SEND_DAYS", ","),
    ],
)
def test_it_refuses_a_bad_window(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings({**BASE_ENV, name: value})
    assert any(name in p for p in exc.value.problems)
