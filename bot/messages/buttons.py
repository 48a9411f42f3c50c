"""The inline buttons under notifications (callback data well within Telegram's 64 bytes)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

LABEL_WORDS = {
    "interested": "👍 interested",
    "meeting": "📅 meeting",
    "question": "❓ question",
    "not_now": "⏳ not now",
    "referral": "👉 referral",
    "wrong_person": "🙅 wrong person",
    "other": "💬 other",
}
LABELS = tuple(LABEL_WORDS)  # a label's index is part of its button's callback data


def label_buttons(inbound_id: int) -> InlineKeyboardMarkup:
    """Every intent label, to correct a reply's: ``lblset:<inbound_id * 8 + index>``."""
    buttons = [
        InlineKeyboardButton(words, callback_data=f"lblset:{inbound_id * 8 + i}")
        for i, words in enumerate(LABEL_WORDS.values())
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def reply_buttons(
    lead_id: int, inbound_id: int | None = None, label: str | None = None
) -> InlineKeyboardMarkup:
    """Under a reply: answer it from the chat, stop the lead or its whole domain, mark the
    interest. A notice stored before replies kept their row (no ``inbound_id``) has no
    ✍️ Reply."""
    rows: list[list[InlineKeyboardButton]] = []
    if inbound_id is not None:
        rows.append([InlineKeyboardButton("✍️ Reply", callback_data=f"rpl:{inbound_id}")])
        if label is not None:
            words = LABEL_WORDS.get(label, label)
            rows.append(
                [InlineKeyboardButton(f"🏷 {words}: change", callback_data=f"lbl:{inbound_id}")]
            )
    rows += [
        [
            InlineKeyboardButton("🛑 Stop this lead", callback_data=f"stop:{lead_id}"),
            InlineKeyboardButton("🌐 Stop whole domain", callback_data=f"dom:{lead_id}"),
        ],
        [
            InlineKeyboardButton("👍 Interested", callback_data=f"int:{lead_id}"),
            InlineKeyboardButton("👎 Not interested", callback_data=f"notint:{lead_id}"),
        ],
    ]
    return InlineKeyboardMarkup(rows)


# A reply notice's "➕ Add" buttons carry the notice's id and the address's place in the list
# it offers, in one number: ref:<notice id * REFERRAL_SLOTS + place>.
REFERRAL_SLOTS = 4
MAX_SHOWN_ADDRESS = 40  # characters of an address on a button (the press re-reads it whole)


def reply_tool_rows(
    inbound_id: int | None, notice_id: int, referrals: list[str], calendar: bool
) -> list[list[InlineKeyboardButton]]:
    """Under a stored reply, after the lead's buttons: its whole text, the calendar answer
    (when CALENDAR_MODE is ask), and one "➕ Add" per address it names."""
    if inbound_id is None:
        return []
    first = [InlineKeyboardButton("📄 Full text", callback_data=f"full:{inbound_id}")]
    if calendar:
        first.append(
            InlineKeyboardButton("📅 Send calendar link", callback_data=f"cal:{inbound_id}")
        )
    rows = [first]
    for place, address in enumerate(referrals[: REFERRAL_SLOTS - 1]):
        shown = address if len(address) <= MAX_SHOWN_ADDRESS else address[:39] + "…"
        rows.append(
            [
                InlineKeyboardButton(
                    f"➕ Add {shown} as a lead",
                    callback_data=f"ref:{notice_id * REFERRAL_SLOTS + place}",
                )
            ]
        )
    return rows


def with_rows(
    markup: InlineKeyboardMarkup, rows: list[list[InlineKeyboardButton]]
) -> InlineKeyboardMarkup:
    """``markup`` with ``rows`` added at the bottom."""
    return InlineKeyboardMarkup([*markup.inline_keyboard, *rows])


def apply_anyway_button(notification_id: int) -> InlineKeyboardMarkup:
    """The button under an "⚠️ unverified sender" notice."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("Apply anyway", callback_data=f"apply:{notification_id}")]]
    )
