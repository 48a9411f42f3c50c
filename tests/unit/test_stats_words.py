"""bot/messages/stats.py: the /stats table, the note on variants with few sends, what does not
fit in one message, /stats all, and the midnight summary's line per running campaign."""

from __future__ import annotations

import html
import string

from bot.messages import render
from bot.messages.stats import LIMIT, campaign_day_line, compare_text, stats_text
from engine.campaigns.stats import CampaignDay, CampaignStats, CampaignTotals, Figures, StepStats
from engine.notify import Notification
from engine.states import CampaignState, NoticeKind


def _stats(*steps: StepStats, calendar: int = 0) -> CampaignStats:
    return CampaignStats(
        campaign_id=1,
        name="saas-founders",
        state=CampaignState.RUNNING,
        steps=steps,
        total=sum((s.figures for s in steps), Figures()),
        calendar_sent=calendar,
    )


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _visible(text: str) -> str:
    for tag in ("<pre>", "</pre>", "<b>", "</b>"):
        text = text.replace(tag, "")
    return html.unescape(text)


def test_it_lines_up_a_row_per_step_and_variant_with_the_total() -> None:
    text = stats_text(
        _stats(
            StepStats(0, "A", Figures(1200, 36, 12, 9, 3, 40)),
            StepStats(0, "B", Figures(1180, 24, 8, 7, 2, 38)),
            StepStats(1, "A", Figures(950, 10, 2, 1, 1, 20)),
        )
    )

    table = text.split("<pre>")[1].split("</pre>")[0].splitlines()
    assert table == [
        "Step   V  Sent Repl Rate Pos Bnc Opt Auto",
        "First  A 1,200   36 3.0%  12   9   3   40",
        "First  B 1,180   24 2.0%   8   7   2   38",
        "F-up 1 A   950   10 1.1%   2   1   1   20",
        "Total    3,330   70 2.1%  22  17   6   98",
    ]
    assert text.startswith("📊 <b>saas-founders</b> (running)")
    assert "Fewer than" not in text


def test_it_notes_the_variants_with_fewer_than_a_hundred_sends() -> None:
    text = stats_text(
        _stats(StepStats(0, "A", Figures(150, 3)), StepStats(0, "B", Figures(40, 2)), calendar=2)
    )

    assert "⚠️ Fewer than 100 sends: First B (40). With so few, their rates" in text
    assert "📅 Calendar answers sent to replies: 2." in text


def test_a_campaign_that_sent_nothing_says_so() -> None:
    assert "Nothing sent yet" in stats_text(_stats())


def test_rows_that_do_not_fit_in_one_message_are_left_out_and_said_to_be() -> None:
    letters = string.ascii_uppercase
    rows = [StepStats(s, v, Figures(1_000_000, 20_000, 500)) for s in range(12) for v in letters]

    text = stats_text(_stats(*rows))

    assert _utf16(_visible(text)) <= LIMIT
    shown = [line for line in _visible(text).splitlines() if line.startswith(("First", "F-up"))]
    more = next(line for line in _visible(text).splitlines() if line.startswith("+"))
    assert more.split()[0] == f"+{len(rows) - len(shown)}"
    assert "Total" in text


def test_stats_all_is_a_line_per_campaign_and_stays_in_one_message() -> None:
    rows = [
        CampaignTotals(i, f"campaign-{i:03d}", CampaignState.PAUSED, 10_000, Figures(9_000, 90))
        for i in range(200)
    ]

    text = compare_text(rows[:2])
    many = compare_text(rows)

    assert text.splitlines()[1] == (
        "• campaign-000 (paused, 10,000 leads): 9,000 sent, 90 replies (1.0%), 0 positive, "
        "0 bounces, 0 opt-outs"
    )
    assert _utf16(many) <= LIMIT
    assert "more campaigns (the message is full)" in many


def test_the_midnight_summary_has_a_line_per_running_campaign() -> None:
    days = [
        CampaignDay(1, "default", Figures(120, 3, 1, 2, 1, 4)).payload(),
        CampaignDay(2, "agency", Figures()).payload(),
    ]

    text = render(Notification(1, NoticeKind.SUMMARY, "", {"campaigns": days})).text

    assert text.splitlines() == [
        "🌙 Yesterday: 120 sent, 3 replies. Daily counter reset.",
        "• default: 120 sent, 3 replies (2.5%), 1 positive, 2 bounces, 1 opt-out, 4 auto-replies",
        "• agency: 0 sent, 0 replies, 0 positive, 0 bounces, 0 opt-outs, 0 auto-replies",
    ]
    assert campaign_day_line(days[1]) == text.splitlines()[2]
    quiet = render(Notification(2, NoticeKind.SUMMARY, "", {"campaigns": []})).text
    assert quiet == "🌙 Yesterday: 0 sent, 0 replies. Daily counter reset. No campaign is running."


def test_a_summary_from_before_campaign_lines_reads_as_it_did() -> None:
    payload = {"sent": 5, "replies": 1, "bounced": 2, "opted_out": 0, "campaign": "running"}

    assert render(Notification(1, NoticeKind.SUMMARY, "", payload)).text == (
        "🌙 Yesterday: 5 sent, 1 replies; 2 bounced and 0 opted out in total. "
        "Daily counter reset; campaign is running."
    )
