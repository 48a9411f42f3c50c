"""Words and buttons for the campaigns themselves: /campaigns, /campaign and its forms, and the
buttons under them (callback data ``prefix:campaign id``, see bot/handlers/buttons.py)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from engine.campaigns.registry import CampaignLine, DeletePreview
from engine.states import CampaignState

MAX_LISTED = 30  # campaigns listed (with a row of buttons each) by /campaigns

STATE_WORDS: dict[str, str] = {
    CampaignState.RUNNING: "▶️ running",
    CampaignState.PAUSED: "⏸ paused",
    CampaignState.STOPPED: "⏹ stopped",
}

USAGE_TEXT = (
    "/campaign NAME — select it: /status, /run, /pause, /stop, /settings, /templates, "
    "/template, /leads, /export, /test and CSV uploads act on it\n"
    "/campaign new NAME — a new campaign with the shipped templates and the current settings "
    "(1–40 letters, digits, - and _)\n"
    "/campaign rename OLD NEW\n"
    "/campaign delete NAME — asks first; not while it runs; the suppression list stays\n"
    "/campaigns — every campaign with its numbers and buttons"
)


def state_words(state: str) -> str:
    return STATE_WORDS.get(state, state)


def current_text(name: str, state: str, count: int) -> str:
    """``/campaign`` alone: which campaign this admin acts on, and the forms."""
    several = f" ({count} campaigns: /campaigns lists them)" if count > 1 else ""
    return (
        f"🎯 Your commands act on campaign {name} — {state_words(state)}{several}.\n\n{USAGE_TEXT}"
    )


def selected_text(name: str, state: str) -> str:
    return (
        f"🎯 Campaign {name} selected ({state_words(state)}). /status, /run, /pause, /stop, "
        "/settings, /templates, /template, /leads, /export and CSV uploads now act on it."
    )


def created_text(name: str) -> str:
    return (
        f"✅ Campaign {name} created and selected. It is stopped, with the shipped templates "
        "and your current settings. Send a CSV of its leads, check /templates and /settings, "
        "then /run."
    )


def renamed_text(before: str, after: str) -> str:
    return f"✏️ Campaign {before} is now called {after}; its leads, templates and settings stay."


def delete_confirm(p: DeletePreview) -> tuple[str, InlineKeyboardMarkup]:
    text = (
        f"🗑 Delete campaign {p.name} with its {p.leads} lead(s), their emails' history, its "
        "templates and its settings? This cannot be undone. The suppression list stays as it is."
    )
    return text, InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"✅ Yes, delete {p.name}"[:60], callback_data=f"cpdel:{p.campaign_id}"
                ),
                InlineKeyboardButton("✖️ Cancel", callback_data=f"cpdelno:{p.campaign_id}"),
            ]
        ]
    )


def deleted_text(p: DeletePreview, now_on: str) -> str:
    return (
        f"🗑 Campaign {p.name} deleted with its {p.leads} lead(s); the suppression list is "
        f"unchanged. Your commands act on {now_on}."
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _line(c: CampaignLine) -> str:
    mark = "👉 " if c.selected else ""
    leads = _count(c.leads, "lead", "leads")
    replies = _count(c.replied, "reply", "replies")
    return (
        f"{mark}{c.name} — {state_words(c.state)} · {leads} · {c.sent} sent · "
        f"{replies} ({c.reply_rate:.1f}%)"
    )


def overview_text(lines: list[CampaignLine]) -> str:
    """/campaigns: one line per campaign; 👉 marks the one this admin's commands act on."""
    shown = lines[:MAX_LISTED]
    head = f"🎯 {len(lines)} campaign(s); 👉 = yours. Sent = leads emailed; rate = replies/sent."
    text = [head, *(_line(c) for c in shown)]
    if len(lines) > len(shown):
        text.append(f"… and {len(lines) - len(shown)} more: /campaign NAME selects any.")
    return "\n".join(text)


def overview_buttons(lines: list[CampaignLine]) -> InlineKeyboardMarkup:
    """A row per campaign: select it, run or pause it (by its state), its numbers."""
    rows = []
    for c in lines[:MAX_LISTED]:
        select = InlineKeyboardButton(
            f"{'✅' if c.selected else '🎯'} {c.name}", callback_data=f"cpsel:{c.id}"
        )
        toggle = (
            InlineKeyboardButton("⏸ Pause", callback_data=f"cppause:{c.id}")
            if c.state == CampaignState.RUNNING
            else InlineKeyboardButton("▶️ Run", callback_data=f"cprun:{c.id}")
        )
        rows.append(
            [select, toggle, InlineKeyboardButton("📈 Stats", callback_data=f"cpstats:{c.id}")]
        )
    return InlineKeyboardMarkup(rows)
