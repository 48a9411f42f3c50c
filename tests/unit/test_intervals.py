"""OUTREACH_TEST_INTERVALS: the one way tests give ``python -m bot`` small intervals."""

from __future__ import annotations

import pytest

from engine.intervals import Intervals, parse


def test_it_keeps_the_production_timing_when_unset() -> None:
    assert parse("") == Intervals()
    assert (Intervals().notifications, Intervals().maintenance) == (2.0, 15.0)
    assert (Intervals().notification_lease, Intervals().recovery_lease) == (60.0, 120.0)
    assert Intervals().notification_claim == 300.0


def test_it_changes_only_the_named_fields() -> None:
    iv = parse("notifications=0.2, maintenance=0.5,send_start=0")
    assert (iv.notifications, iv.maintenance, iv.send_start) == (0.2, 0.5, 0.0)
    assert iv.recovery_lease == Intervals().recovery_lease
    assert iv.send is None  # still SEND_INTERVAL_SECONDS


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("outbox=1", "'outbox=1' is not NAME=SECONDS"),
        ("maintenance", "'maintenance' is not NAME=SECONDS"),
        ("maintenance=soon", "maintenance='soon' is not a number of seconds"),
        ("maintenance=0", "maintenance='0' is not a positive number of seconds"),
        ("send=nan", "send='nan' is not a positive number of seconds"),
    ],
)
def test_it_says_what_is_wrong_with_a_bad_value(text: str, says: str) -> None:
    with pytest.raises(ValueError, match="OUTREACH_TEST_INTERVALS") as e:
        parse(text)
    assert says in str(e.value)
