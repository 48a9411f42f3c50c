"""The failure policy is a table: what a failed send means -> what to do. Pure, no servers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import (
    AccountBroken,
    ContentBlocked,
    QuotaExceeded,
    RecipientRejected,
    SendError,
    TooManyLogins,
    TryLater,
    Uncertain,
)
from engine.sending.failure_policy import (
    BUSY_ALERT_AFTER,
    Action,
    decide,
    streak_points_at_account,
)
from engine.states import AlertCondition, StateReason


@pytest.mark.parametrize(
    ("err", "action", "outcome", "alert"),
    [
        (Uncertain("dropped after DATA"), Action.UNCERTAIN, "uncertain", None),
        (AccountBroken("535 auth"), Action.PAUSE, "paused", AlertCondition.ACCOUNT),
        (TooManyLogins("454"), Action.BACK_OFF, "backoff", AlertCondition.TOO_MANY_LOGINS),
        (QuotaExceeded("550 5.4.5"), Action.BACK_OFF, "quota", AlertCondition.QUOTA),
        (ContentBlocked("554 5.7.1"), Action.PAUSE, "paused", AlertCondition.CONTENT),
        (RecipientRejected("550 5.1.1"), Action.BOUNCE, "bounced", None),
        (TryLater("421"), Action.RETRY, "retry", AlertCondition.SERVER_BUSY),
        (SendError("something unexpected"), Action.RETRY, "retry", AlertCondition.SERVER_BUSY),
    ],
)
def test_it_maps_each_meaning_to_one_action(
    err: SendError, action: Action, outcome: str, alert: AlertCondition | None
) -> None:
    d = decide(err)
    assert (d.action, d.outcome, d.alert) == (action, outcome, alert)


def test_it_pauses_the_campaign_only_for_account_and_content() -> None:
    paused = {
        type(e).__name__
        for e in (AccountBroken(""), ContentBlocked(""), TooManyLogins(""), QuotaExceeded(""))
        if decide(e).pause_reason
    }
    assert paused == {"AccountBroken", "ContentBlocked"}
    assert decide(AccountBroken("")).pause_reason == StateReason.LOGIN_FAILED
    assert decide(ContentBlocked("")).pause_reason == StateReason.CONTENT_BLOCKED


def test_it_backs_off_the_account_for_fifteen_minutes_or_a_day() -> None:
    assert decide(TooManyLogins("")).back_off == timedelta(minutes=15)
    assert decide(QuotaExceeded("")).back_off == timedelta(hours=24)
    assert decide(AccountBroken("")).back_off is None
    assert "quota" in decide(QuotaExceeded("")).block_reason


def test_it_alerts_about_a_busy_server_only_after_several_retries() -> None:
    assert decide(TryLater("")).alert_after == BUSY_ALERT_AFTER == 5
    assert decide(AccountBroken("")).alert_after == 1


def _refused(*domains: str) -> list[dict[str, str]]:
    return [{"domain": d} for d in domains]


def test_it_blames_the_account_for_three_refusals_on_three_domains() -> None:
    assert streak_points_at_account(_refused("a.io", "b.io", "c.io"))
    assert streak_points_at_account(_refused("a.io", "a.io", "b.io", "c.io"))


def test_it_blames_the_leads_for_refusals_on_one_or_two_domains() -> None:
    assert not streak_points_at_account(_refused("a.io", "b.io"))
    assert not streak_points_at_account(_refused("a.io", "a.io", "a.io", "b.io"))
    assert not streak_points_at_account([])
