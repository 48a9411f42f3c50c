"""Ramp-up: a new mailbox starts low and sends a little more each day, up to its daily cap.

``RAMP_UP=5,2`` (or a mailbox's ``ramp_up=5,2``): on the first sending day at most 5 emails,
then 7, 9, … until the daily cap is reached. ``off`` sends the full cap from the first day.
Pure: the caller says which sending day it is (day 1 = the mailbox's first sending day).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RampUp:
    """At most ``start`` emails on day 1, ``step`` more on each later day."""

    start: int
    step: int

    def __str__(self) -> str:
        return f"{self.start},{self.step}"


def ramp_cap(cap: int, ramp: RampUp | None, day: int) -> int:
    """The daily cap on sending day ``day`` (1 = the first sending day; a day before it counts
    as day 1, since the first email starts the ramp): ``cap`` without a ramp, otherwise
    ``start + step * (day - 1)`` but never more than ``cap``."""
    if ramp is None:
        return cap
    day = max(day, 1)
    return min(cap, ramp.start + ramp.step * (day - 1))
