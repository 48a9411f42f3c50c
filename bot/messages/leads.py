"""Words and buttons for lists of leads: /leads (the counts, with a button per status),
/leads STATUS (a page at a time, ◀️ ▶️ turning it in place) and /find. Each lead ends with its
``/lead_ID`` shortcut: Telegram makes a ``/word`` tappable, so one tap opens the lead.

A status button under /leads (``ls:N``, a new message with the first page) and a page button
(``lp:N``, the same message turned) carry one integer holding the campaign, the status and the
page (see :func:`page_ref`), as every button is ``prefix:int``."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from engine.errors import UserInputError
from engine.leads.listing import FOUND_MAX, QUERY_MAX, Found, LeadLine, LeadPage
from engine.states import LeadStatus

STATUSES: list[LeadStatus] = list(LeadStatus)  # a page button holds a status as its index here
_CAMPAIGN = 10**9  # page_ref: campaign * _CAMPAIGN + page * 10 + status index
_PAGES = _CAMPAIGN // 10
assert len(STATUSES) <= 10, "a status index must fit one decimal digit of a page button"

FIND_USAGE = (
    "What should I look for? e.g. /find acme or /find ana lopez — I search addresses, first "
    "and last names and companies in every campaign (any case, part of a word is enough)."
)
FIND_TOO_SHORT = "Give at least 2 characters to look for, e.g. /find acme"
FIND_TOO_LONG = f"That is too long to look for: up to {QUERY_MAX} characters, e.g. /find acme"
COUNTS_HINT = "Tap a status to list its leads (or send /leads STATUS, e.g. /leads replied)."
PAGE_STALE = "That button is out of date; send /leads again."


def page_ref(campaign_id: int, status: LeadStatus, page: int) -> int:
    """The one integer of a page button: campaign, status and page (0-based)."""
    return campaign_id * _CAMPAIGN + min(max(page, 0), _PAGES - 1) * 10 + STATUSES.index(status)


def parse_page_ref(ref: int) -> tuple[int, LeadStatus, int]:
    """(campaign, status, page) of a page button; a value no button of ours carries is refused."""
    campaign_id, rest = divmod(ref, _CAMPAIGN)
    page, index = divmod(rest, 10)
    if ref < 0 or not 1 <= campaign_id < 2**31 or index >= len(STATUSES):
        raise UserInputError(PAGE_STALE)
    return campaign_id, STATUSES[index], page


def unknown_status_text(word: str) -> str:
    valid = ", ".join(STATUSES)
    return (
        f"❌ There is no lead status {word[:40]!r}. Use one of: {valid} — e.g. /leads replied. "
        "/leads alone shows how many there are of each."
    )


def status_buttons(campaign_id: int, counts: dict[str, int]) -> InlineKeyboardMarkup | None:
    """Under /leads: a button per status that has leads, opening its first page."""
    buttons = [
        InlineKeyboardButton(
            f"{status} ({n})", callback_data=f"ls:{page_ref(campaign_id, status, 0)}"
        )
        for status in STATUSES
        if (n := counts.get(status, 0))
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    return InlineKeyboardMarkup(rows) if rows else None


def short_when(dt: datetime, tz: ZoneInfo, now: datetime) -> str:
    """A list's short time in the admin's zone: "3 May 14:05", with the year when not this
    one."""
    local = dt.astimezone(tz)
    if local.year != now.astimezone(tz).year:
        return f"{local.day} {local:%b %Y}"
    return f"{local.day} {local:%b %H:%M}"


def _entry(n: int, lead: LeadLine, tz: ZoneInfo, now: datetime, *, status: bool) -> str:
    who = f"{lead.name[:60]} <{lead.email[:80]}>" if lead.name else lead.email[:80]
    parts = [who]
    if lead.company:
        parts.append(lead.company[:60])
    if status:
        parts.append(lead.status)
    parts += [short_when(lead.at, tz, now), f"/lead_{lead.id}"]
    return f"{n}. " + " · ".join(parts)


def page_text(p: LeadPage, now: datetime) -> str:
    """/leads STATUS: one page, newest activity first."""
    where = f" in campaign {p.campaign}" if p.several else ""
    if not p.total:
        return f"👥 No {p.status} leads{where}. /leads shows how many there are of each status."
    order = "newest first" if p.status == LeadStatus.PENDING else "newest activity first"
    many = f"more than {p.total:,}" if p.capped else str(p.total)
    of = "" if p.pages is None else f"/{p.pages}"
    lines = [
        f"👥 {many} {p.status} lead{'' if p.total == 1 else 's'}{where} — {order} "
        f"(page {p.page + 1}{of})"
    ]
    first = p.page * 10 + 1
    lines += [_entry(i, x, p.tz, now, status=False) for i, x in enumerate(p.leads, start=first)]
    lines.append("Tap a /lead_… to open that lead.")
    return "\n".join(lines)


def pager(p: LeadPage) -> InlineKeyboardMarkup | None:
    """◀️ ▶️ under a page, where there is a page that way."""
    row = []
    if p.page > 0:
        back = page_ref(p.campaign_id, p.status, p.page - 1)
        row.append(InlineKeyboardButton("◀️", callback_data=f"lp:{back}"))
    if p.has_next:
        on = page_ref(p.campaign_id, p.status, p.page + 1)
        row.append(InlineKeyboardButton("▶️", callback_data=f"lp:{on}"))
    return InlineKeyboardMarkup([row]) if row else None


def found_text(f: Found, now: datetime) -> str:
    """/find TEXT: the matches, newest first, each with its status (and campaign, if several)."""
    if not f.leads:
        return (
            f"🔎 No lead matches {f.text!r} (I looked in addresses, names and companies of "
            "every campaign)."
        )
    n = len(f.leads)
    head = f"more than {FOUND_MAX}" if f.more else str(n)
    one = n == 1 and not f.more
    lines = [f"🔎 {head} lead{'' if one else 's'} match{'es' if one else ''} {f.text!r}:"]
    for i, lead in enumerate(f.leads, start=1):
        line = _entry(i, lead, f.tz, now, status=True)
        lines.append(f"{line} · campaign {lead.campaign}" if f.several else line)
    if f.more:
        lines.append(f"Only the newest {FOUND_MAX} are shown: add a word to narrow it.")
    return "\n".join(lines)
