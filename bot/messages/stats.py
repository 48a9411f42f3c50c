"""Words for /stats: a campaign's table per step and A/B variant (HTML, the table in a monospace
block), the note on variants with few sends, the chart's title and caption, /stats all, and the
midnight summary's line per running campaign. The figures come from
``engine.campaigns.stats``; what each one counts is said there."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from engine.campaigns.stats import (
    DAYS,
    SMALL_SAMPLE,
    CampaignStats,
    CampaignTotals,
    Figures,
    StepStats,
)
from engine.storage.models import CALENDAR_STEP

LIMIT = 4096  # Telegram's limit for a message, in characters after entities are parsed
HEADERS = ("Step", "V", "Sent", "Repl", "Rate", "Pos", "Bnc", "Opt", "Auto")
LEGEND = (
    "Repl: leads who replied (a reply counts for the step it answered) · Rate: replies ÷ sent "
    "· Pos: replies marked interested · Bnc: hard bounces, with addresses the mail server "
    "refused · Opt: opt-outs · Auto: auto-replies. V is the A/B variant."
)
USAGE = "/stats — the selected campaign; /stats NAME — another one; /stats all — every campaign."
CHART_FAILED = "⚠️ The chart could not be drawn this time; the figures above are complete."
CHART_NOT_SENT = "⚠️ The chart could not be sent this time; the figures above are complete."


def step_name(step: int) -> str:
    if step == 0:
        return "First"
    if step == CALENDAR_STEP:
        return "Calendar"
    return f"F-up {step}"


def rate(f: Figures) -> str:
    r = f.reply_rate
    return "—" if r is None else f"{r * 100:.1f}%"


def _n(x: int) -> str:
    return f"{x:,}"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def _cells(step: str, variant: str, f: Figures) -> list[str]:
    return [
        step,
        variant,
        _n(f.sent),
        _n(f.replies),
        rate(f),
        _n(f.positive),
        _n(f.bounces),
        _n(f.opt_outs),
        _n(f.auto_replies),
    ]


def _table(rows: Sequence[StepStats], total: Figures, hidden: int) -> str:
    lines = [list(HEADERS)]
    lines += [_cells(step_name(r.step), r.variant or "-", r.figures) for r in rows]
    if hidden:
        lines.append([f"+{hidden} more", "", "", "", "", "", "", "", ""])
    lines.append(_cells("Total", "", total))
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS))]
    text = "\n".join(
        " ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    )
    return f"<pre>{html.escape(text)}</pre>"


def _headline(st: CampaignStats) -> str:
    name = html.escape(st.name)
    return f"📊 <b>{name}</b> ({st.state})"


def small_sample_note(st: CampaignStats) -> str:
    """Which step and variant have fewer than SMALL_SAMPLE sends, and what that means."""
    small = st.small_samples
    if not small:
        return ""
    shown = ", ".join(
        f"{step_name(r.step)} {r.variant or '-'} ({r.figures.sent:,})" for r in small[:8]
    )
    more = f" and {len(small) - 8} more" if len(small) > 8 else ""
    return (
        f"⚠️ Fewer than {SMALL_SAMPLE} sends: {shown}{more}. With so few, their rates (and a "
        "difference between variants) are mostly chance; compare once each has "
        f"{SMALL_SAMPLE} or more."
    )


def stats_text(st: CampaignStats) -> str:
    """The /stats message (HTML): headline, table, legend, the small-sample note, calendar
    answers. Rows that do not fit in one message are left out and said to be."""
    if not st.steps:
        return (
            f"{_headline(st)}\nNothing sent yet: the figures appear after the first email. "
            + html.escape(USAGE)
        )
    tail = [html.escape(LEGEND)]
    note = small_sample_note(st)
    if note:
        tail.append(html.escape(note))
    if st.calendar_sent:
        tail.append(f"📅 Calendar answers sent to replies: {st.calendar_sent:,}.")
    rows = list(st.steps)
    hidden = 0
    while True:
        text = "\n\n".join([_headline(st), _table(rows, st.total, hidden), *tail])
        if _length(_plain(text)) <= LIMIT or not rows:
            return text
        rows.pop()
        hidden += 1


def _length(text: str) -> int:
    """Telegram counts UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def _plain(text: str) -> str:
    """What Telegram counts against the limit: the text without its HTML tags."""
    for tag in ("<pre>", "</pre>", "<b>", "</b>"):
        text = text.replace(tag, "")
    return html.unescape(text)


def chart_title(st: CampaignStats, days: int = DAYS) -> str:
    return f"{st.name}: emails sent and replies, last {days} days"


def chart_caption(name: str, timezone: str, days: int = DAYS) -> str:
    return (
        f"📈 {name}: emails sent and leads who replied, per day over the last {days} days "
        f"({timezone})."
    )


def compare_text(rows: Sequence[CampaignTotals]) -> str:
    """/stats all: a line per campaign (plain text)."""
    head = "📊 All campaigns (sent, replies and reply rate, positive, bounces, opt-outs):"
    lines = [head]
    for i, t in enumerate(rows):
        f = t.figures
        line = (
            f"• {t.name} ({t.state}, {_count(t.leads, 'lead')}): {f.sent:,} sent, "
            f"{_count(f.replies, 'reply', 'replies')} ({rate(f)}), {f.positive:,} positive, "
            f"{_count(f.bounces, 'bounce')}, {_count(f.opt_outs, 'opt-out')}"
        )
        rest = len(rows) - i
        if _length("\n".join([*lines, line])) + 100 > LIMIT and rest > 1:
            lines.append(f"… and {rest} more campaigns (the message is full).")
            break
        lines.append(line)
    lines.append("/stats NAME shows one campaign per step and variant.")
    return "\n".join(lines)


def campaign_day_line(p: dict[str, Any]) -> str:
    """One running campaign's day in the midnight summary (``CampaignDay.payload()``)."""
    sent, replies = int(p.get("sent", 0)), int(p.get("replies", 0))
    rate_text = f" ({replies / sent * 100:.1f}%)" if sent else ""
    return (
        f"• {p.get('name')}: {sent:,} sent, {_count(replies, 'reply', 'replies')}{rate_text}, "
        f"{int(p.get('positive', 0)):,} positive, {_count(int(p.get('bounces', 0)), 'bounce')}, "
        f"{_count(int(p.get('opted_out', 0)), 'opt-out')}, "
        f"{_count(int(p.get('auto_replies', 0)), 'auto-reply', 'auto-replies')}"
    )
