"""engine.mailboxes.ramp: the daily cap of a ramping mailbox, day by day."""

from __future__ import annotations

import pytest

from engine.mailboxes.ramp import RampUp, ramp_cap


def test_it_sends_the_full_cap_without_a_ramp() -> None:
    assert [ramp_cap(50, None, day) for day in (1, 2, 30)] == [50, 50, 50]


def test_it_starts_at_start_and_adds_step_each_day_up_to_the_cap() -> None:
    ramp = RampUp(start=5, step=2)

    assert [ramp_cap(12, ramp, day) for day in range(1, 8)] == [5, 7, 9, 11, 12, 12, 12]


def test_it_never_exceeds_the_cap_even_on_day_one() -> None:
    assert ramp_cap(3, RampUp(start=10, step=5), 1) == 3


def test_it_stays_at_start_with_a_step_of_zero() -> None:
    assert ramp_cap(500, RampUp(start=20, step=0), 365) == 20


@pytest.mark.parametrize("day", [0, -3])
def test_it_counts_a_day_before_the_first_as_day_one(day: int) -> None:
    assert ramp_cap(500, RampUp(start=5, step=2), day) == 5


def test_it_reaches_the_cap_on_a_very_late_day() -> None:
    assert ramp_cap(100_000, RampUp(start=1, step=100_000), 10**9) == 100_000


def test_it_shows_as_the_setting_is_written() -> None:
    assert str(RampUp(5, 2)) == "5,2"
