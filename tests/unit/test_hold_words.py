"""The bot's words for why no email goes right now (bot/messages/holds.py): the engine reports a
``Hold`` with plain values, and /status reads the sentences the engine used to write."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.format import status_text
from bot.messages import holds
from bot.messages.holds import REASON_WORDS, hold_text, reason_text, window_text
from engine.campaign import StatusReport
from engine.reasons import Reason
from engine.sending.pacing import PacingRules, PacingState, SendCounts, SendWindow, gate
from engine.states import BlockReason, CampaignState, Hold, StateReason

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday
UTC_TZ = ZoneInfo("UTC")
OFFICE = {"start": "09:00", "end": "17:00", "days": [0, 1, 2, 3, 4], "tz": "Europe/Berlin"}

WORDS: list[tuple[Hold, dict[str, Any], str]] = [
    (Hold.CAMPAIGN_NOT_RUNNING, {"state": "paused", "reason": ""}, "campaign is paused"),
    (
        Hold.CAMPAIGN_NOT_RUNNING,
        {"state": "paused", "reason": "paused by an admin"},
        "campaign is paused (paused by an admin)",
    ),
    (
        Hold.BLOCKED,
        {"reason": BlockReason.TOO_MANY_LOGINS},
        "the server reported too many logins; backing off",
    ),
    (
        Hold.BLOCKED,
        {"reason": BlockReason.QUOTA},
        "the provider's daily sending quota is used up",
    ),
    # What an older release stored on the mailbox is shown as stored.
    (
        Hold.BLOCKED,
        {"reason": "the provider's daily sending quota is used up"},
        "the provider's daily sending quota is used up",
    ),
    (Hold.BLOCKED, {"reason": "backing off for a while"}, "backing off for a while"),
    (Hold.BLOCKED, {"reason": ""}, "sending is on hold"),
    (
        Hold.OUTSIDE_WINDOW,
        OFFICE,
        "outside the sending window (09:00-17:00 Mon-Fri, Europe/Berlin)",
    ),
    (Hold.DAILY_CAP, {"sent": 3, "limit": 3}, "daily limit reached (3/3)"),
    (Hold.ROLLING_CAP, {"sent": 4, "limit": 3}, "4 sent in the last 24 hours (limit 3)"),
    (Hold.PACING, {}, "pacing: waiting between emails"),
    (Hold.NOTHING_DUE, {}, "nothing is due (no pending leads or follow-ups)"),
    (Hold.BRAKE, {}, "the campaign was paused or stopped"),
    (
        Hold.MAILBOX_PAUSED,
        {"mailbox": "b@x.io", "state": "paused", "hold": "admin"},
        "mailbox b@x.io is paused (by an admin)",
    ),
    (
        Hold.MAILBOX_PAUSED,
        {"mailbox": "b@x.io", "state": "paused", "hold": "auth"},
        "mailbox b@x.io is paused (the server refuses the login)",
    ),
    (
        Hold.MAILBOX_PAUSED,
        {"mailbox": "b@x.io", "state": "broken", "hold": ""},
        "mailbox b@x.io is broken (its password cannot be decrypted)",
    ),
    (
        Hold.CAMPAIGN_LIMIT,
        {"sent": 40, "limit": 40},
        "the campaign's own daily limit is reached (40/40); more tomorrow",
    ),
    (
        Hold.NO_MAILBOX,
        {"mailboxes": "a@x.io"},
        "none of the campaign's mailboxes (a@x.io) exists; change its mailboxes setting, or add "
        "them with /mailbox add",
    ),
]


@pytest.mark.parametrize(("hold", "detail", "words"), WORDS)
def test_each_hold_reads_as_before(hold: Hold, detail: dict[str, Any], words: str) -> None:
    assert hold_text(hold, detail) == words


def test_every_hold_and_block_reason_has_words() -> None:
    assert set(holds.WORDS) == set(Hold)
    assert set(holds.BLOCK_WORDS) == set(BlockReason)
    assert {hold for hold, _, _ in WORDS} == set(Hold)  # the table above misses none


@pytest.mark.parametrize(
    ("start", "end", "days", "words"),
    [
        ("09:00", "17:00", range(7), "09:00-17:00 every day"),
        ("00:00", "00:00", range(5), "all day Mon-Fri"),
        ("22:00", "06:00", [4, 0, 2], "22:00-06:00 Mon,Wed,Fri"),
    ],
)
def test_the_window_reads_as_hours_and_days(
    start: str, end: str, days: range | list[int], words: str
) -> None:
    assert window_text({"start": start, "end": end, "days": list(days)}) == words


def _rules(window: SendWindow | None = None) -> PacingRules:
    return PacingRules(3, 0, 0, 0, 0, 0, window=window)


@pytest.mark.parametrize(
    ("state", "rules", "counts", "words"),
    [
        (
            PacingState(None, 0, NOW + timedelta(hours=1), BlockReason.QUOTA),
            _rules(),
            SendCounts(0, 0, None),
            "the provider's daily sending quota is used up",
        ),
        (
            PacingState(None, 0),
            _rules(SendWindow(time(11), time(12), frozenset({2}))),
            SendCounts(0, 0, None),
            "outside the sending window (11:00-12:00 Wed, UTC)",
        ),
        (PacingState(None, 0), _rules(), SendCounts(3, 3, NOW), "daily limit reached (3/3)"),
        (
            PacingState(None, 0),
            _rules(),
            SendCounts(0, 3, NOW),
            "3 sent in the last 24 hours (limit 3)",
        ),
        (
            PacingState(NOW + timedelta(seconds=30), 1),
            _rules(),
            SendCounts(0, 0, None),
            "pacing: waiting between emails",
        ),
    ],
)
def test_the_engine_gives_what_the_words_need(
    state: PacingState, rules: PacingRules, counts: SendCounts, words: str
) -> None:
    g = gate(NOW, state, rules, counts, UTC_TZ)
    assert g.hold is not None and hold_text(g.hold, g.detail) == words


REPORT = StatusReport(
    now=NOW,
    campaign="default",
    campaign_count=1,
    state=CampaignState.RUNNING,
    reason="",
    sent_today=0,
    sent_last_24h=0,
    daily_limit=3,
    counts={},
    total_leads=0,
    replies_today=0,
    replies_total=0,
    bounces=0,
    opt_outs=0,
    auto_replies=0,
    sent_leads=0,
    next_send_at=None,
    hold=Hold.NOTHING_DUE,
    hold_detail={},
    uncertain=0,
    sent_copy_check="",
)


def _sending_line(r: StatusReport) -> str:
    return status_text(r, UTC_TZ).splitlines()[6]


def test_status_says_when_the_next_email_goes() -> None:
    r = replace(REPORT, hold=None, next_send_at=NOW + timedelta(minutes=5))
    assert _sending_line(r) == "Next send: 2026-03-04 10:05:00 UTC (in 5m 0s)"
    assert _sending_line(replace(r, next_send_at=NOW)) == "Next send: 2026-03-04 10:00:00 UTC"


def test_status_says_why_not_and_until_when() -> None:
    until = NOW + timedelta(hours=14)
    r = replace(
        REPORT, hold=Hold.DAILY_CAP, hold_detail={"sent": 3, "limit": 3}, next_send_at=until
    )
    assert _sending_line(r) == (
        "Not sending: daily limit reached (3/3) — until 2026-03-05 00:00:00 UTC (in 14h 0m)"
    )


def test_status_says_why_not_without_a_time_when_nothing_is_due() -> None:
    assert _sending_line(REPORT) == "Not sending: nothing is due (no pending leads or follow-ups)"


# --- why the campaign (or a mailbox) was paused, as stored -----------------------------------


@pytest.mark.parametrize(
    ("why", "detail", "words"),
    [
        (StateReason.ADMIN_PAUSE, {}, "paused by an admin"),
        (StateReason.ADMIN_STOP, {}, "stopped by an admin"),
        (StateReason.LOGIN_FAILED, {}, "the mailbox login failed"),
        (StateReason.CONTENT_BLOCKED, {}, "the server rejected our message"),
        (StateReason.RECIPIENT_STREAK, {}, "several recipients were refused in a row"),
        (StateReason.BOUNCE_RATE, {"rate": 12.5}, "bounce rate 12.5%"),
        (StateReason.RECORD_FAILED, {}, "an email was sent but could not be recorded"),
    ],
)
def test_a_stored_reason_reads_as_it_always_did(
    why: StateReason, detail: dict[str, float], words: str
) -> None:
    stored = Reason.of(why, **detail).encode()
    assert stored.startswith("{")  # data, not a sentence
    assert reason_text(stored) == words
    assert Reason.decode(stored) == Reason(why, detail, stored)


def test_every_state_reason_has_words() -> None:
    assert set(REASON_WORDS) == set(StateReason)


@pytest.mark.parametrize("older", ["paused by an admin", "bounce rate 7.0%", "{not json", ""])
def test_a_reason_an_older_release_stored_as_text_is_shown_as_stored(older: str) -> None:
    assert reason_text(older) == older
