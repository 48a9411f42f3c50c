"""The bot's words for the sending alerts (bot/messages/sending.py): every condition the
sending pipeline raises has words for its start and its end, today's wording kept."""

from __future__ import annotations

from bot.messages import render, sending
from engine.notify import Notification
from engine.states import AlertCondition, NoticeKind

SENDING_CONDITIONS = {
    AlertCondition.ACCOUNT,
    AlertCondition.CONTENT,
    AlertCondition.QUOTA,
    AlertCondition.SERVER_BUSY,
    AlertCondition.TOO_MANY_LOGINS,
    AlertCondition.BOUNCE_RATE,
    AlertCondition.UNCERTAIN,
    AlertCondition.RECORD_FAILED,
}


def test_every_sending_condition_has_words_for_start_and_end() -> None:
    assert set(sending.ALERTS) == SENDING_CONDITIONS
    assert set(sending.CLEARS) == SENDING_CONDITIONS


def test_the_login_alert_quotes_the_server_and_says_what_to_check() -> None:
    text = sending.ALERTS[AlertCondition.ACCOUNT]({"server": "535 5.7.8 bad credentials"})
    assert text == (
        "⚠️ The mailbox refused to log in, so the campaign is paused. No lead was touched.\n"
        "Server said: 535 5.7.8 bad credentials\n"
        "Check EMAIL_ADDRESS / EMAIL_PASSWORD (for Gmail use an app password), then /run."
    )


def test_the_recipient_streak_alert_counts_recipients_and_domains() -> None:
    text = sending.ALERTS[AlertCondition.ACCOUNT](
        {"cause": "recipients", "recipients": 3, "domains": 3, "server": "550 nope"}
    )
    assert text.startswith("⚠️ 3 recipients on 3 different domains were refused in a row")
    assert text.endswith("\nLast server answer: 550 nope")


def test_the_bounce_rate_alert_formats_rate_and_limit() -> None:
    text = sending.ALERTS[AlertCondition.BOUNCE_RATE](
        {"bounced": 5, "sent": 20, "rate": 25.0, "limit": 5.0}
    )
    assert text.startswith("🛡 5 of the last 20 first emails bounced (25.0%, limit 5%).")


def test_the_record_failed_alert_names_at_most_five_addresses() -> None:
    payload = {
        "cause": "unreachable",
        "count": 7,
        "error": "DatabaseUnavailable: down",
        "emails": ["a@x.io", "b@x.io", "c@x.io", "d@x.io", "e@x.io"],
        "more": 2,
    }
    text = sending.ALERTS[AlertCondition.RECORD_FAILED](payload)
    assert "database was unreachable (DatabaseUnavailable: down)" in text
    assert "a@x.io, b@x.io, c@x.io, d@x.io, e@x.io and 2 more" in text


def test_a_cleared_alert_says_who_cleared_it() -> None:
    clears = sending.CLEARS
    assert clears[AlertCondition.QUOTA]({"by": "send"}) == (
        "The sending quota is available again: emails are going out."
    )
    assert (
        clears[AlertCondition.ACCOUNT]({"by": "admin"}) == "The campaign was resumed by an admin."
    )
    assert (
        clears[AlertCondition.CONTENT]({"by": "admin"}) == "The campaign was resumed by an admin."
    )


def test_a_bad_address_notice_is_one_line() -> None:
    n = Notification(1, NoticeKind.BAD_ADDRESS, "", {"email": "a b@x", "reason": "no @"})
    r = render(n)
    assert r.text == r.line == "⚠️ 'a b@x' cannot be emailed (no @); lead marked failed."
