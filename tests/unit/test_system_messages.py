"""bot/messages/system.py and bot/notifier.compose: the bot words the engine's events (a kind and
a payload) and never parses engine text; rows stored with text by an older release still show."""

from __future__ import annotations

from typing import Any

import pytest

from bot.format import alert_line
from bot.messages import inbox, render, sending
from bot.messages.system import alert_text, cleared_text
from bot.notifier import compose
from engine.campaign import ActiveAlert
from engine.notify import Notification
from engine.states import AlertCondition, NoticeKind


def event(kind: str, payload: dict[str, Any] | None = None, *, id: int = 1) -> Notification:
    return Notification(id=id, kind=kind, text="", payload=payload or {})


def test_it_words_a_job_alert_and_its_clearing_from_the_payload() -> None:
    payload = {"condition": "job:send", "job": "send", "failures": 3, "error": "OSError: x"}

    assert render(event(NoticeKind.ALERT, payload)).text == (
        "⚙️ The send job failed 3 times in a row (OSError: x). It keeps retrying; see /status."
    )
    cleared = {"condition": "job:send", "job": "send"}
    assert render(event(NoticeKind.CLEARED, cleared)).text == "⚙️ The send job works again."


def test_it_looks_a_condition_up_in_the_other_areas_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbox, "ALERTS", {"x_inbox": lambda p: f"inbox {p['n']}"}, raising=False)
    monkeypatch.setattr(sending, "CLEARS", {"x_send": lambda p: "sending ok"}, raising=False)

    assert alert_text("x_inbox", {"n": 2}) == "inbox 2"
    assert cleared_text("x_send", {}) == "sending ok"


def test_it_names_an_unknown_condition_instead_of_failing() -> None:
    shown = render(event(NoticeKind.ALERT, {"condition": "nope", "n": 7})).text

    assert shown == "⚠️ Alert: nope (n: 7)"
    assert render(event(NoticeKind.CLEARED, {"condition": "nope"})).text == "✅ Cleared: nope"


def test_it_words_the_midnight_summary_as_before() -> None:
    payload = {"sent": 4, "replies": 1, "bounced": 2, "opted_out": 0, "campaign": "running"}

    assert render(event(NoticeKind.SUMMARY, payload)).text == (
        "🌙 Yesterday: 4 sent, 1 replies; 2 bounced and 0 opted out in total. "
        "Daily counter reset; campaign is running."
    )


def test_it_shows_a_row_stored_with_text_as_it_was_stored() -> None:
    stored = Notification(id=3, kind=NoticeKind.ALERT, text="⛔ old words\nline two")

    shown = render(stored)

    assert (shown.text, shown.line) == ("⛔ old words\nline two", "⛔ old words")


def test_it_groups_events_by_their_rendered_words_not_by_splitting_text() -> None:
    alert = event(NoticeKind.ALERT, {"condition": AlertCondition.IMAP, "failures": 3, "error": "E"})
    summary = event(
        NoticeKind.SUMMARY,
        {"sent": 1, "replies": 0, "bounced": 0, "opted_out": 0, "campaign": "paused"},
        id=2,
    )

    ((text, markup),) = compose([alert, summary])

    assert text == f"{render(alert).text}\n\n{render(summary).text}"
    assert markup is None


SYSTEM_CONDITIONS = [c for c in AlertCondition if c == AlertCondition.IMAP or c.startswith("job:")]


@pytest.mark.parametrize("condition", SYSTEM_CONDITIONS)
def test_it_has_words_for_every_condition_the_scheduler_raises(condition: AlertCondition) -> None:
    payload = {"job": condition.removeprefix("job:"), "failures": 3, "error": "E"}
    assert not alert_text(condition, payload).startswith("⚠️ Alert:")
    assert not cleared_text(condition, payload).startswith("✅ Cleared:")


def test_it_shows_a_status_line_from_the_payload_or_the_stored_text() -> None:
    structured = ActiveAlert("imap", {"error": "E", "failures": 3}, '{"error": "E", "failures": 3}')
    legacy = ActiveAlert("quota", None, "⛔ Quota used up.\nsecond line")

    assert alert_line(structured).startswith("📭 The reply check failed 3 times in a row (E).")
    assert alert_line(legacy) == "⛔ Quota used up."


def test_a_mailboxs_alert_names_it_once() -> None:
    from bot.messages.system import alert_text, cleared_text

    one = {"server": "535 5.7.8 no"}
    several = {**one, "mailbox": "bea@x.io", "primary": False, "campaign_paused": False}
    assert "bea@x.io" not in alert_text("account", one)
    named = alert_text("account", several)
    assert named.count("bea@x.io") >= 1 and "this mailbox is paused" in named
    assert cleared_text("account", {"by": "send", "mailbox": "bea@x.io"}).startswith(
        "📮 bea@x.io: "
    )
    imap = alert_text("imap", {"mailbox": "cai@x.io", "failures": 3, "error": "E"})
    assert not imap.startswith("📮")  # its own words name the mailbox already
    assert "cai@x.io" in imap
