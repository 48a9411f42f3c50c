"""Words for the mailbox commands (/mailbox, /mailboxes, a CSV of mailboxes) and their buttons.
The engine returns data (``engine.mailboxes.service``); every sentence is here. No function
here is given a password, so none can show one."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.messages.holds import MAILBOX_HOLD_WORDS, reason_text
from engine.campaigns.dashboard import SAFE_CAP
from engine.mailboxes.service import (
    AddResult,
    BulkRow,
    Change,
    LoginFailure,
    MailboxView,
    Removal,
    RemovalPreview,
)
from engine.mailboxes.spec import KEYS, USAGE
from engine.states import CampaignState, MailboxHold, MailboxSource, MailboxStatus

USAGE_TEXT = (
    "📮 Mailboxes:\n"
    f"{USAGE} — add one (its SMTP and IMAP logins are checked first; your message is "
    "deleted, since it holds the password)\n"
    "/mailbox pause EMAIL, /mailbox resume EMAIL\n"
    "/mailbox remove EMAIL\n"
    "/mailbox set EMAIL KEY VALUE\n"
    "/mailboxes — every mailbox with its state and buttons\n"
    "Several at once: send a .csv file (header email,password plus any keys) with the "
    "caption /mailboxes.\n"
    f"Keys: {', '.join(KEYS)}. Servers not given come from the provider (Gmail, Outlook, "
    "Zoho, …) or else from SMTP_*/IMAP_*."
)
CHECKING = "⏳ Checking the SMTP and IMAP logins…"
DELETED = "🧹 I deleted your message: it held the password."
NOT_DELETED = "⚠️ I could not delete your message, and it holds the password: delete it yourself."
DELETED_UNSURE = "🧹 I deleted your message in case it held a password."
LOGIN_NAMES = {"smtp": "SMTP (sending)", "imap": "IMAP (reading replies)"}


def deleted_note(deleted: bool) -> str:
    return DELETED if deleted else NOT_DELETED


def failure_text(email: str, f: LoginFailure) -> str:
    return f"The {LOGIN_NAMES[f.login]} login of {email} failed. The server said: {f.words[:400]}"


def add_text(r: AddResult) -> str:
    """The answer to /mailbox add."""
    if r.failure is not None:
        return (
            f"❌ {failure_text(r.email, r.failure)}\nNothing was saved. Check the password (for "
            "Gmail an app password) and the servers, then send /mailbox add again."
        )
    where = f" Servers: {r.provider}." if r.provider else ""
    if r.outcome == "updated":
        return f"✅ {r.email} updated: both logins work.{where}"
    return f"✅ {r.email} added: both logins work, and it sends from the next round.{where}"


def bulk_text(rows: list[BulkRow], deleted: bool) -> str:
    """The report on a CSV of mailboxes: counts, then each line that failed and why."""
    added = [r for r in rows if r.result is not None and r.result.outcome == "added"]
    updated = [r for r in rows if r.result is not None and r.result.outcome == "updated"]
    failed = [r for r in rows if r.result is None or r.result.outcome == "failed"]
    lines = [
        f"📮 Mailboxes from the file: {len(added)} added, {len(updated)} updated, "
        f"{len(failed)} failed."
    ]
    lines += [
        f"  line {r.line}: ✅ {r.result.email} {r.result.outcome}"
        for r in added + updated
        if r.result
    ]
    for r in failed[:20]:
        if r.result is not None and r.result.failure is not None:
            why = failure_text(r.result.email, r.result.failure)
        else:
            why = r.problem or "not added"
        lines.append(f"  line {r.line}: ❌ {why[:300]}")
    if len(failed) > 20:
        lines.append(f"  … and {len(failed) - 20} more failed")
    lines.append(deleted_note(deleted).replace("message", "file"))
    return "\n".join(lines)[:4096]


def _state(v: MailboxView) -> str:
    if v.state == MailboxStatus.BROKEN:
        return "⛔ broken: its password cannot be decrypted with this SECRET_KEY"
    if v.state == MailboxStatus.PAUSED:
        # The stored reason (engine/reasons.py) says most; else the hold's own words.
        why = reason_text(v.hold_detail)[:150] or MAILBOX_HOLD_WORDS.get(v.hold or "", "")
        return f"⏸ paused{f' ({why})' if why else ''}"
    return "▶️ active"


def _when(dt: datetime | None, tz: ZoneInfo) -> str:
    return "never" if dt is None else dt.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def mailbox_block(v: MailboxView, tz: ZoneInfo) -> str:
    """One mailbox in /mailboxes."""
    source = " (the environment's)" if v.source == MailboxSource.ENV else ""
    if v.ramp_day is None:
        ramp = "off"
    elif v.ramp_day == 0:
        ramp = "starts with its first email"
    else:
        ramp = f"day {v.ramp_day}" + (" (done)" if v.cap >= v.daily_limit else "")
    rate = v.bounce_rate
    bounces = (
        "no first emails in 7 days"
        if rate is None
        else f"{rate:.1%} ({v.bounced} of {v.first_emails} first emails, 7 days)"
    )
    return "\n".join(
        [
            f"📮 {v.email}{source}",
            f"State: {_state(v)}",
            f"Sent today: {v.sent_today}/{v.cap}"
            + (f" (daily limit {v.daily_limit})" if v.cap != v.daily_limit else ""),
            f"Ramp-up: {ramp}",
            f"Bounce rate: {bounces}",
            f"Last reply check: {_when(v.last_check_at, tz)}",
            f"Servers: SMTP {v.smtp}, IMAP {v.imap}",
        ]
    )


def mailbox_buttons(v: MailboxView) -> InlineKeyboardMarkup:
    """⏸ Pause or ▶️ Resume, and 🗑 Remove (not on the environment's mailbox)."""
    row = [
        InlineKeyboardButton("▶️ Resume", callback_data=f"mbresume:{v.id}")
        if v.state == MailboxStatus.PAUSED
        else InlineKeyboardButton("⏸ Pause", callback_data=f"mbpause:{v.id}")
    ]
    if v.source != MailboxSource.ENV:
        row.append(InlineKeyboardButton("🗑 Remove", callback_data=f"mbrm:{v.id}"))
    return InlineKeyboardMarkup([row])


def overview_header(views: list[MailboxView], shown: int) -> str:
    active = sum(v.state == MailboxStatus.ACTIVE for v in views)
    more = f" The first {shown} follow." if shown < len(views) else ""
    text = f"📮 {len(views)} mailbox(es), {active} active.{more} /mailbox shows the commands."
    high = [
        v.email
        for v in views
        if v.state == MailboxStatus.ACTIVE and v.daily_limit > SAFE_CAP and v.ramp_day is None
    ]
    return f"{text}\n{safer_caps_line(high)}" if high else text


def safer_caps_line(emails: list[str]) -> str:
    """One line when a mailbox sends more than 50 a day without ramp-up (see the README's
    "Mailboxes, rotation, caps and ramp-up")."""
    which = emails[0] if len(emails) == 1 else f"{len(emails)} mailboxes"
    return (
        f"💡 {which} may send over {SAFE_CAP} a day with no ramp-up. 30–50 a day per mailbox, "
        "and RAMP_UP=5,2 for a new one, keep a domain out of spam folders: /mailbox set EMAIL "
        "daily_limit 40."
    )


def change_text(c: Change) -> str:
    if c.before == c.after:
        return f"{c.email} is already {c.after}."
    if c.after == MailboxStatus.PAUSED:
        return f"⏸ {c.email} paused: it sends nothing until resumed. Replies are still read."
    why = MAILBOX_HOLD_WORDS.get(c.hold or "", "")
    cleared = f" (it was paused: {why})" if why and c.hold != MailboxHold.ADMIN else ""
    text = f"▶️ {c.email} resumed: it sends again{cleared}."
    if c.campaign != CampaignState.RUNNING:
        text += f" The campaign is {c.campaign}: /run starts sending."
    return text


def remove_confirm(p: RemovalPreview) -> tuple[str, InlineKeyboardMarkup]:
    text = (
        f"🗑 Remove {p.email}? It will send nothing more and its replies are no longer read; "
        "its history stays."
        + (
            f" Next you choose what happens to its {p.in_sequence} lead(s) still in sequence."
            if p.in_sequence
            else ""
        )
    )
    return text, InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Yes, remove", callback_data=f"mbrmyes:{p.mailbox_id}"),
                InlineKeyboardButton("✖️ Cancel", callback_data=f"mbrmno:{p.mailbox_id}"),
            ]
        ]
    )


def leads_question(p: RemovalPreview) -> tuple[str, InlineKeyboardMarkup]:
    text = (
        f"{p.email} has {p.in_sequence} lead(s) still in sequence. Stop them (nothing more is "
        "sent to them), or restart them from another mailbox (a new thread from the first "
        "email)?"
    )
    return text, InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("🛑 Stop them", callback_data=f"mbrmstop:{p.mailbox_id}")],
            [
                InlineKeyboardButton(
                    "🔁 Restart from another mailbox", callback_data=f"mbrmnew:{p.mailbox_id}"
                )
            ],
            [InlineKeyboardButton("✖️ Cancel", callback_data=f"mbrmno:{p.mailbox_id}")],
        ]
    )


def removed_text(r: Removal) -> str:
    parts = [f"🗑 {r.email} removed; its history stays."]
    if r.restarted:
        parts.append(f"{r.restarted} lead(s) start again from another mailbox, as new threads.")
    if r.stopped:
        parts.append(f"{r.stopped} lead(s) stopped.")
    if r.in_flight:
        parts.append(
            f"({r.in_flight} of them had an email on its way to the server right then, so they "
            "were stopped rather than sent the first email twice.)"
        )
    if r.cancelled:
        parts.append(f"{r.cancelled} queued email(s) will not go.")
    return " ".join(parts)
