"""Turning engine results into chat text. Plain text only: lead data is never parsed as markup."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.messages.holds import hold_text, reason_text
from bot.messages.mailboxes import safer_caps_line
from bot.messages.system import alert_text
from bot.messages.verification import import_lines
from engine.campaign import ActiveAlert, SettingLine, StatusReport
from engine.campaigns.config import CAMPAIGN_KEYS
from engine.config import Settings
from engine.leads.lead_file.cells import one_line
from engine.leads.lead_file.decoding import display_encoding
from engine.leads.service import ImportReport, LeadView
from engine.leads.suppressions import Page
from engine.sending.recovery import Settled
from engine.states import CampaignState, LeadStatus
from engine.templates import Template

COMMANDS: list[tuple[str, str]] = [
    ("start", "The dashboard (on a new setup: what this bot does)"),
    ("help", "Every command"),
    ("campaigns", "Every campaign: state, leads, sent, replies, with buttons"),
    ("stats", "Per step and A/B variant, with a 14-day chart; /stats all compares campaigns"),
    ("campaign", "Select one: /campaign NAME; also new, rename, delete"),
    ("status", "Dashboard with buttons: run/pause, refresh, stats, leads, mailboxes"),
    ("run", "Start or resume the campaign"),
    ("pause", "Pause sending"),
    ("stop", "Stop the campaign"),
    ("leads", "Lead counts by status; /leads STATUS lists them, 10 a page"),
    ("lead", "One lead: /lead ADDRESS"),
    ("find", "Search leads by address, name or company: /find TEXT"),
    ("verify", "Re-check the mail servers of the leads not emailed yet; fail the dead ones"),
    ("settings", "Limits and pacing; /settings KEY VALUE to change"),
    ("export", "All leads as a CSV file"),
    ("templates", "Show the email templates and their A/B variants"),
    ("template", "Change one: /template NAME [VARIANT], then Subject: and the body"),
    ("test", "Send the first email to yourself: /test ADDRESS"),
    ("uncertain", "Emails whose delivery is unknown after a crash"),
    ("suppressions", "The suppression list (never emailed again)"),
    ("unsuppress", "Take an entry off it: /unsuppress ADDRESS or DOMAIN"),
    ("mailboxes", "Sending mailboxes: state, sent today, ramp-up, bounces"),
    ("mailbox", "Add one: /mailbox add EMAIL PASSWORD; also pause, resume, remove, set"),
    ("system", "Replicas, leases, jobs, version and database"),
]

HELP = (
    "I send your cold-email campaign from your own mailbox, paced like a human, with "
    "follow-ups, and I stop the moment a lead answers, sending them your calendar link.\n\n"
    "Upload a .csv file of leads (an email column plus any others) to add them to the "
    "selected campaign; a .csv of "
    "mailboxes (email,password,…) with the caption /mailboxes adds sending mailboxes.\n\n"
    + "\n".join(f"/{c} — {d}" for c, d in COMMANDS)
    + "\n\nIn the lists of /leads STATUS and /find, tap a /lead_… to open that lead."
)


# ``name`` in the words below: the campaign acted on, given when there are several (with one,
# the answers read as they did before there were campaigns).


def _named(name: str | None) -> str:
    return f" {name}" if name else ""


def run_text(previous: CampaignState, name: str | None = None) -> str:
    verb = (
        "already running"
        if previous == CampaignState.RUNNING
        else "started"
        if previous == CampaignState.STOPPED
        else "resumed"
    )
    return f"▶️ Campaign{_named(name)} {verb}. /status shows progress."


def paused_text(in_flight: int, name: str | None = None) -> str:
    return (
        f"⏸ Campaign{_named(name)} paused."
        + _in_flight(in_flight)
        + " Replies are still checked. /run resumes."
    )


def stopped_text(in_flight: int, name: str | None = None) -> str:
    return (
        f"⏹ Campaign{_named(name)} stopped."
        + _in_flight(in_flight)
        + " Replies are still checked. /run starts it again."
    )


def _in_flight(n: int) -> str:
    """The brake stops every email that has not started; one already being handed to the mail
    server cannot be called back."""
    if n <= 0:
        return ""
    emails = "1 email was" if n == 1 else f"{n} emails were"
    return (
        f" {emails} already being handed to the mail server and may still arrive; no other starts."
    )


def when(dt: datetime | None, tz: ZoneInfo, now: datetime | None = None) -> str:
    if dt is None:
        return "—"
    local = dt.astimezone(tz)
    text = local.strftime("%Y-%m-%d %H:%M:%S %Z")
    if now is not None:
        secs = int((dt - now).total_seconds())
        if 0 < secs < 86_400 * 2:
            h, rem = divmod(secs, 3600)
            m, s = divmod(rem, 60)
            text += f" (in {h}h {m}m)" if h else f" (in {m}m {s}s)"
    return text


def _mailbox_lines(r: StatusReport) -> list[str]:
    """With several mailboxes: one line each, or where to see them when there are many."""
    if r.mailbox_count > 1 and not r.mailboxes:
        return [f"📮 {r.mailbox_count} mailboxes: see /mailboxes"]
    lines = []
    for m in r.mailboxes:
        state = "" if m.state == "active" else f" — {m.state}" + (f" ({m.hold})" if m.hold else "")
        lines.append(f"📮 {m.email}: {m.sent_today}/{m.cap}{state}")
    return lines


def status_text(r: StatusReport, tz: ZoneInfo) -> str:
    c = r.counts
    name = f" {r.campaign}" if r.campaign_count > 1 else ""
    lines = [
        f"📊 Campaign{name}: {r.state.upper()}"
        + (f" — {why}" if (why := reason_text(r.reason)) else ""),
        f"Sent today: {r.sent_today}/{r.daily_limit} (last 24 h: {r.sent_last_24h})",
        *_mailbox_lines(r),
        f"Replies: {r.replies_total} total, {r.replies_today} today — reply rate "
        f"{r.reply_rate:.1%}",
        f"Pending: {c.get(LeadStatus.PENDING, 0)} · In sequence: {c.get(LeadStatus.SENT, 0)} · "
        f"Completed: {c.get(LeadStatus.COMPLETED, 0)}",
        f"Failed: {c.get(LeadStatus.FAILED, 0)} · Bounced: {r.bounces} · Opt-outs: {r.opt_outs} · "
        + (f"Invalid: {c[LeadStatus.INVALID]} · " if c.get(LeadStatus.INVALID) else "")
        + f"Auto-replies seen: {r.auto_replies}",
        f"Leads: {r.total_leads}",
    ]
    if r.state == CampaignState.RUNNING:
        if r.hold is None:
            lines.append(f"Next send: {when(r.next_send_at, tz, r.now)}")
        elif r.next_send_at is not None:
            why = hold_text(r.hold, r.hold_detail)
            lines.append(f"Not sending: {why} — until {when(r.next_send_at, tz, r.now)}")
        else:
            lines.append(f"Not sending: {hold_text(r.hold, r.hold_detail)}")
    else:
        lines.append(f"Not sending: campaign is {r.state}. /run to start.")
    if r.high_caps:
        lines.append(safer_caps_line(r.high_caps))
    if r.domain_waiting:
        lines.append(
            f"⏳ {r.domain_waiting} lead(s) wait for per-domain spacing (at most {r.per_domain} "
            "first emails a day to one company's domain); they go first on the next days."
        )
    if r.uncertain:
        lines.append(
            f"⚠️ {r.uncertain} email(s) with unknown delivery after a crash — see /uncertain"
        )
    if r.sent_copy_check == "none":
        lines.append(
            "ℹ️ This mail server keeps no Sent copy, so after a crash an email that may have "
            "gone out is NOT resent without your word (/uncertain)."
        )
    lines += [f"🔔 {alert_line(a)}" for a in r.alerts]
    if r.jobs:
        parts = []
        for j in r.jobs:
            flag = f" ❗{j.consecutive_failures} failures" if j.consecutive_failures else ""
            parts.append(f"{j.job}: {when(j.last_success_at, tz)}{flag}")
        lines.append("Last successful runs: " + "; ".join(parts))
    return "\n".join(lines)


def alert_line(alert: ActiveAlert) -> str:
    """A standing alert's first line: its words from the condition's table
    (bot/messages/system.py), or the text an older release stored with it."""
    text = alert.detail if alert.payload is None else alert_text(alert.condition, alert.payload)
    return (text.splitlines() or [""])[0]


def _setting_line(row: SettingLine) -> str:
    note = ""
    if row.key == "daily_limit" and row.value == "off":
        note = " (no cap of its own: each mailbox's cap holds, see /mailboxes)"
    return f"{row.key}: {row.value}{' ✎' if row.changed else ''}{note}"


def settings_text(rows: list[SettingLine], s: Settings, campaign: str | None = None) -> str:
    """/settings: each chat-tunable setting (✎: changed from the chat), then the job intervals,
    which only the environment sets. With several campaigns (``campaign`` given) in two
    sections: the selected campaign's own keys, and the global ones every campaign shares."""
    if campaign is None:
        lines = ["⚙️ Settings (✎ = changed from the chat):"]
        lines += [_setting_line(r) for r in rows]
    else:
        lines = [f"⚙️ This campaign ({campaign}; ✎ = set on it):"]
        lines += [_setting_line(r) for r in rows if r.campaign]
        lines.append("\n🌐 Global, for every campaign (✎ = changed from the chat):")
        lines += [_setting_line(r) for r in rows if not r.campaign]
    lines.append(
        f"send_interval: {s.send_interval}s, reply_check_interval: {s.reply_check_interval}s"
        " (environment only)"
    )
    lines.append("Change one with /settings KEY VALUE, e.g. /settings daily_limit 50")
    return "\n".join(lines)


def setting_changed_text(key: str, value: str, campaign: str | None = None) -> str:
    """The answer to /settings KEY VALUE: the new value, and whose it is."""
    of = f" of {campaign}" if campaign else ""
    if key == "daily_limit":
        if value == "off":
            return (
                f"✅ daily_limit{of} is now off (saved): only the mailboxes' own caps hold the "
                "campaign back."
            )
        return (
            f"✅ daily_limit{of} is now {value} (saved): the campaign's own cap of emails a day, "
            "on top of each mailbox's cap."
        )
    if key == "mailboxes":
        which = "every mailbox" if value == "all" else "only these mailboxes"
        return f"✅ mailboxes{of} is now {value} (saved): the campaign sends from {which}."
    if key in CAMPAIGN_KEYS:
        if campaign:
            return (
                f"✅ {key}{of} is now {value} (saved on this campaign; the other campaigns keep "
                "their own)."
            )
        return f"✅ {key} is now {value} (saved; it overrides the environment)."
    every = " and applies to every campaign" if campaign else ""
    return f"✅ {key} is now {value} (saved; it overrides the environment{every})."


def settled_text(d: Settled) -> str:
    if d.resend:
        return f"📨 {d.to_email} will get that email again (same Message-ID)."
    return f"✔️ Recorded as sent to {d.to_email}."


def leads_text(counts: dict[str, int], campaign: str | None = None) -> str:
    total = sum(counts.values())
    lines = [f"👥 {total} leads" + (f" in {campaign}" if campaign else "")]
    lines += [f"{status}: {n}" for status, n in counts.items() if n or status == "pending"]
    return "\n".join(lines)


def _zone_line(v: LeadView) -> list[str]:
    """The lead's zone and its local time now, e.g. "Zone: Asia/Tokyo (its own), 14:05 there"."""
    if not v.zone:
        return []
    whose = "its own" if v.own_zone else "the campaign's"
    local = f", {v.local_now:%a %H:%M} there now" if v.local_now is not None else ""
    return [f"Zone: {v.zone} ({whose}){local}"]


def lead_text(v: LeadView, tz: ZoneInfo) -> str:
    lead = v.lead
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or "—"
    lines = [
        f"👤 {lead.email}",
        f"Name: {name}",
        f"Company: {lead.company or '—'}",
        f"Status: {lead.status}" + (f" ({lead.interest})" if lead.interest else ""),
        f"Follow-ups sent: {lead.followups_sent}",
        f"Mailbox: {v.mailbox or 'not chosen yet (its first email picks one)'}",
        *([f"Campaign: {v.campaign}"] if v.campaigns > 1 else []),
        *([f"Variant: {lead.variant}"] if lead.variant else []),
        *_zone_line(v),
        f"Last sent: {when(lead.last_sent_at, tz)}",
        f"Replied: {when(lead.replied_at, tz)}",
    ]
    if lead.away_until is not None:
        lines.append(f"Away until: {lead.away_until:%d %b %Y} (out-of-office reply)")
    if lead.next_send_at is not None and lead.queue is not None:
        lines.append(f"Next email: {when(lead.next_send_at, tz)}")
    if lead.last_error:
        lines.append(f"Note: {lead.last_error[:200]}")
    for k, val in sorted((lead.custom or {}).items()):
        lines.append(f"{k}: {val}")
    if v.outbound:
        lines.append("\n📤 Sent:")
        for m in v.outbound:
            lines.append(
                f"• {m.kind} {m.step if m.kind == 'followup' else ''} — {m.state} "
                f"{when(m.sent_at or m.attempted_at, tz)} — {m.subject[:60]}"
            )
    if v.inbound:
        lines.append("\n📥 Received:")
        for i in v.inbound:
            lines.append(f"• {i.kind} {when(i.received_at or i.seen_at, tz)} — {i.subject[:60]}")
    return "\n".join(lines)


def _workbook_lines(r: ImportReport) -> list[str]:
    """Where an Excel import's rows came from, and what of the workbook was left out."""
    if not r.sheet:
        return []
    others = r.sheets - 1
    lines = [
        f"Sheet: {r.sheet}"
        + (
            f" (the workbook's other {others} sheet{'s' if others > 1 else ''} ignored)"
            if others
            else ""
        )
    ]
    if r.macros_ignored:
        lines.append("Macros: ignored (never run); only the cells' values were read")
    if r.formulas_without_value:
        lines.append(
            f"Formulas without a saved value: {r.formulas_without_value}, read as empty. "
            "Open the file in Excel or Google Sheets and save it again to store their values."
        )
    return lines


def import_text(r: ImportReport, several: bool = False) -> str:
    """The import report; ``several``: there are several campaigns, so it names the one the
    leads went into."""
    into = f" into {r.campaign}" if several and r.campaign else ""
    lines = [
        f"✅ Import{into} finished"
        if r.imported
        else f"Import{into} finished — nothing new was added",
        f"Imported: {r.imported}",
        f"Duplicates: {r.duplicates} ({len(r.duplicates_in_file)} within the file, "
        f"{len(r.already_stored)} already stored)",
    ]
    if r.suppressed:
        lines.append(f"Skipped (on the suppression list): {len(r.suppressed)}")
    for name, rows in sorted(r.in_other_campaign.items()):
        lines.append(f"Skipped (pending or in sequence in campaign {name}): {len(rows)}")
    for name, rows in sorted(r.answered_elsewhere.items()):
        lines.append(f"Skipped (replied or bounced in campaign {name}): {len(rows)}")
    zones = r.zone_sources
    if zones.get("column") or zones.get("country") or r.bad_zones:  # a list with zones
        lines.append(
            f"Time zones: {zones.get('column', 0)} from the timezone column, "
            f"{zones.get('country', 0)} from the country, {zones.get('campaign', 0)} the "
            "campaign's"
        )
    for line, why in r.bad_zones[:5]:
        lines.append(f"  line {line}: {why[:200]} — the campaign's zone is used")
    if len(r.bad_zones) > 5:
        lines.append(f"  … and {len(r.bad_zones) - 5} more unreadable time zones")
    lines += _workbook_lines(r)
    lines.append(f"Invalid: {len(r.invalid)}")
    for bad in r.invalid[:5]:
        lines.append(f"  line {bad.line}: {bad.reason}")
    if len(r.invalid) > 5:
        lines.append(f"  … and {len(r.invalid) - 5} more")
    lines += import_lines(r)
    lines += encoding_lines(r)
    if r.recased:
        lines.append(
            f"Names re-cased: {r.recased} (typed all in lower or upper case, stored like "
            '"Müller" or "van der Berg")'
        )
    extra = [c for c in r.columns if c not in ("email", "first_name", "last_name", "company")]
    if extra:
        lines.append(
            "Custom fields usable in templates: " + ", ".join("{" + c + "}" for c in extra[:15])
        )
    return "\n".join(lines)


def encoding_lines(r: ImportReport) -> list[str]:
    """The file's encoding, and, when the code page was a guess, the first names as read and
    what to do if they look wrong."""
    if not r.encoding or r.sheet:  # a workbook's cells are Unicode: no encoding to name
        return []
    name = display_encoding(r.encoding)
    if not r.encoding_unsure:
        return [f"Encoding: {name}"]
    lines = [f"⚠️ Encoding: {name} — a guess; another encoding was about as likely."]
    if r.first_names:
        shown = ", ".join(f'"{one_line(n, 60)}"' for n in r.first_names)
        lines.append(f"First names as read: {shown}.")
    lines.append(
        "If they look garbled, please export the list as CSV UTF-8 (Excel: File > Save as > "
        "CSV UTF-8; Google Sheets: File > Download > CSV) and send that file. The leads of "
        "this file were imported as read; open one with /lead to check or delete it."
    )
    return lines


def template_text(t: Template, variant: str | None = None) -> str:
    """One template; ``variant`` names its A/B letter (given when the step has several)."""
    label = f"{t.name} — variant {variant}" if variant else t.name
    subject = f"Subject: {t.subject}\n" if t.subject else "(sent as a reply in the thread)\n"
    return f"📝 {label}\n{subject}\n{t.body}"


def suppressions_text(p: Page, tz: ZoneInfo) -> str:
    if not p.total:
        return "🚫 The suppression list is empty."
    first = p.page * 20 + 1
    lines = [
        f"🚫 Suppression list: {p.total} entr{'y' if p.total == 1 else 'ies'} (page {p.page + 1}/{p.pages})"
    ]
    for i, e in enumerate(p.entries, start=first):
        reason = f" — {e.reason[:60]}" if e.reason else ""
        lines.append(
            f"{i}. {e.value[:80]} ({e.kind}, {e.created_at.astimezone(tz):%Y-%m-%d}){reason}"
        )
    lines.append("/unsuppress VALUE takes one off.")
    return "\n".join(lines)
