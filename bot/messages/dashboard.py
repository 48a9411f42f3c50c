"""Words and buttons of the dashboard (/status, and /start once the bot is set up) and of
/system. The buttons carry the campaign's id (``prefix:id``, see bot/handlers/buttons.py), so
a dashboard keeps acting on the campaign it shows, whichever one is selected later."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.format import when
from engine.states import CampaignState
from engine.system import SystemReport

UP_TO_DATE = "Up to date"
REFRESHED = "Refreshed"


def dashboard_buttons(campaign_id: int, state: str) -> InlineKeyboardMarkup:
    """Run or Pause (whichever the campaign's state calls for), Refresh, then the three views."""
    if state == CampaignState.RUNNING:
        toggle = InlineKeyboardButton("⏸ Pause", callback_data=f"dpause:{campaign_id}")
    else:
        toggle = InlineKeyboardButton("▶️ Run", callback_data=f"drun:{campaign_id}")
    return InlineKeyboardMarkup(
        [
            [toggle, InlineKeyboardButton("🔄 Refresh", callback_data=f"dref:{campaign_id}")],
            [
                InlineKeyboardButton("📈 Stats", callback_data=f"dstats:{campaign_id}"),
                InlineKeyboardButton("👥 Leads", callback_data=f"dleads:{campaign_id}"),
                InlineKeyboardButton("📬 Mailboxes", callback_data=f"dmbox:{campaign_id}"),
            ],
        ]
    )


def ago(now: datetime, then: datetime) -> str:
    """How long ago, roughly: "12 s ago", "5 min ago", "3 h ago", "2 d ago"."""
    secs = max(0, int((now - then).total_seconds()))
    if secs < 120:
        return f"{secs} s ago"
    if secs < 7200:
        return f"{secs // 60} min ago"
    if secs < 172_800:
        return f"{secs // 3600} h ago"
    return f"{secs // 86_400} d ago"


def system_text(r: SystemReport, tz: ZoneInfo) -> str:
    """/system: the release and database, the replicas, the leases and the jobs."""
    alive = sum(1 for x in r.replicas if x.alive)
    lines = [
        f"🖥 outreach {r.version} — database: {r.database}",
        "",
        f"Replicas: {alive} alive of {r.replicas_total} known",
    ]
    for x in r.replicas:
        state = "alive" if x.alive else "gone"
        lines.append(
            f"• {x.id} — {state}, last heartbeat {ago(r.now, x.heartbeat_at)} "
            f"(started {when(x.started_at, tz)})"
        )
    if r.replicas_total > len(r.replicas):
        lines.append(f"  … and {r.replicas_total - len(r.replicas)} older")
    if not r.replicas_total:
        lines.append("• none has reported a heartbeat yet")
    lines += ["", "Leases (singleton work, taken by one replica at a time):"]
    for le in r.leases:
        if le.held:
            lines.append(f"• {le.name} → {le.owner}, until {when(le.expires_at, tz)}")
        else:
            lines.append(
                f"• {le.name} — free (last {le.owner}, expired {ago(r.now, le.expires_at)})"
            )
    if not r.leases:
        lines.append("• none taken yet")
    lines += ["", "Jobs:"]
    for j in r.jobs:
        failing = (
            f", ❗{j.consecutive_failures} failures in a row" if j.consecutive_failures else ""
        )
        error = f", last error {when(j.last_error_at, tz)}" if j.last_error_at else ""
        lines.append(f"• {j.job}: last success {when(j.last_success_at, tz)}{failing}{error}")
    if not r.jobs:
        lines.append("• none has run yet")
    return "\n".join(lines)
