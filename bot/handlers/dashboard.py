"""The dashboard you can tap: /status (and /start once the bot is set up) shows the selected
campaign's report with buttons — ▶️ Run or ⏸ Pause, 🔄 Refresh (the same message, edited), and
📈 Stats, 👥 Leads, 📬 Mailboxes — and /system shows the service's internals (replicas,
leases, jobs, version, database), which /status no longer carries.

Each button holds the id of the campaign its dashboard shows, so an old dashboard keeps acting
on its own campaign after the admin selects another one."""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardMarkup, Update

from bot import format as fmt
from bot.handlers import leads, mailboxes
from bot.handlers.common import (
    Ctx,
    call,
    ctx_of,
    named,
    reply,
    selection,
    show_in_place,
    wake_sending,
)
from bot.messages import dashboard as words
from engine import campaign
from engine.campaigns import views
from engine.system import system_report


async def status_cmd(update: Update, context: Ctx) -> None:
    """The dashboard of the selected campaign, with its buttons."""
    sel = await selection(update, context)
    text, markup = await _dashboard(context, sel.id)
    await reply(update, text, reply_markup=markup)


async def start_cmd(update: Update, context: Ctx) -> None:
    """/start: the dashboard once there is something on it (leads, or a mailbox added from the
    chat); on a fresh install, what the bot does and every command."""
    if await call(views.is_set_up, ctx_of(context)):
        await status_cmd(update, context)
    else:
        await reply(update, fmt.HELP)


async def system_cmd(update: Update, context: Ctx) -> None:
    """Replicas, leases, jobs, the version and the kind of database."""
    ctx = ctx_of(context)
    await reply(update, words.system_text(await call(system_report, ctx), ctx.settings.tz))


async def _dashboard(context: Ctx, campaign_id: int) -> tuple[str, InlineKeyboardMarkup]:
    """The report's words and the buttons its state calls for."""
    ctx = ctx_of(context)
    report = await call(campaign.status, ctx, campaign_id)
    return fmt.status_text(report, ctx.settings.tz), words.dashboard_buttons(
        campaign_id, report.state
    )


# --- buttons: each gets the dashboard's campaign id (see bot/handlers/buttons.py) ---------------
async def refresh_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """🔄 Refresh: the same message, with the report of now ("Up to date" if nothing moved)."""
    await call(views.campaign_ref, ctx_of(context), ident)  # deleted: a clear answer
    text, markup = await _dashboard(context, ident)
    changed = await show_in_place(q, context, text, markup)
    await q.answer(words.REFRESHED if changed else words.UP_TO_DATE)
    return None


async def run_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """▶️ Run: what /run does, then the dashboard shows the new state (and ⏸ Pause)."""
    ctx = ctx_of(context)
    sel = await call(views.campaign_ref, ctx, ident)
    previous = await call(campaign.run, ctx, ident)
    wake_sending(context)
    await show_in_place(q, context, *await _dashboard(context, ident))
    return fmt.run_text(previous, named(sel))


async def pause_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """⏸ Pause: what /pause does, then the dashboard shows the new state (and ▶️ Run)."""
    ctx = ctx_of(context)
    sel = await call(views.campaign_ref, ctx, ident)
    result = await call(campaign.pause, ctx, ident)
    await show_in_place(q, context, *await _dashboard(context, ident))
    return fmt.paused_text(result.in_flight, named(sel))


async def leads_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """👥 Leads: what /leads shows for this campaign, with a button per status."""
    sel = await call(views.campaign_ref, ctx_of(context), ident)
    await q.answer()
    if q.message is not None:
        await leads.show_counts(context, q.message.chat.id, sel)
    return None


async def mailboxes_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """📬 Mailboxes: what /mailboxes shows (the mailboxes are every campaign's)."""
    await q.answer()
    if q.message is not None:
        await mailboxes.show_mailboxes(context, q.message.chat.id)
    return None
