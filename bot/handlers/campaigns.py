"""The campaigns themselves: /campaigns, /campaign (select, new, rename, delete) and the buttons
under them. Which campaign the other commands act on is each admin's selection (stored in the
database by ``engine.campaigns.registry``), read by ``common.selection``."""

from __future__ import annotations

from telegram import CallbackQuery, Update
from telegram.error import TelegramError

from bot import format as fmt
from bot.handlers.common import Ctx, call, ctx_of, drop_buttons, reply, wake_sending
from bot.handlers.stats import show_stats
from bot.messages import campaigns as words
from engine import campaign
from engine.campaigns import registry, views


def _admin(update: Update) -> int | None:
    return update.effective_user.id if update.effective_user is not None else None


async def campaigns_cmd(update: Update, context: Ctx) -> None:
    """Every campaign with its numbers, and buttons to select, run or pause it, or see more."""
    lines = await call(registry.overview, ctx_of(context), _admin(update))
    await reply(update, words.overview_text(lines), reply_markup=words.overview_buttons(lines))


async def campaign_cmd(update: Update, context: Ctx) -> None:
    """/campaign NAME | new NAME | rename OLD NEW | delete NAME, or alone: the selected one."""
    ctx = ctx_of(context)
    args = context.args or []
    sub = args[0].lower() if args else ""
    admin = _admin(update)
    if not args:
        sel = await call(views.selection, ctx, admin)
        await reply(update, words.current_text(sel.name, sel.state, sel.count))
    elif sub == "new":
        if len(args) < 2:
            await reply(update, "Give the new campaign a name, e.g. /campaign new saas-founders")
            return
        camp = await call(registry.create, ctx, admin, " ".join(args[1:]))
        await reply(update, words.created_text(camp.name))
    elif sub == "rename":
        if len(args) < 3:
            await reply(
                update, "Give the old name and the new one, e.g. /campaign rename default saas-q3"
            )
            return
        before, after = await call(registry.rename, ctx, args[1], " ".join(args[2:]))
        await reply(update, words.renamed_text(before, after))
    elif sub == "delete":
        if len(args) < 2:
            await reply(update, "Which campaign? e.g. /campaign delete saas-founders")
            return
        preview = await call(registry.preview_delete, ctx, " ".join(args[1:]))
        text, markup = words.delete_confirm(preview)
        await reply(update, text, reply_markup=markup)
    elif admin is not None:
        camp = await call(registry.select_for, ctx, admin, " ".join(args))
        await reply(update, words.selected_text(camp.name, camp.state))


# --- buttons: each gets the campaign id after its prefix (see bot/handlers/buttons.py) ----------
async def select_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """🎯 NAME under /campaigns: this admin's commands act on it from now on."""
    ctx = ctx_of(context)
    name = await call(views.campaign_name, ctx, ident)
    camp = await call(registry.select_for, ctx, q.from_user.id, name)
    await _refresh(q, context)
    return words.selected_text(camp.name, camp.state)


async def run_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """▶️ Run under /campaigns: start or resume that campaign."""
    name = await call(views.campaign_name, ctx_of(context), ident)
    previous = await call(campaign.run, ctx_of(context), ident)
    wake_sending(context)
    await _refresh(q, context)
    return fmt.run_text(previous, name)


async def pause_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """⏸ Pause under /campaigns: pause that campaign."""
    name = await call(views.campaign_name, ctx_of(context), ident)
    result = await call(campaign.pause, ctx_of(context), ident)
    await _refresh(q, context)
    return fmt.paused_text(result.in_flight, name)


async def stats_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """📈 Stats under /campaigns: what /stats says about that campaign (figures, then chart)."""
    await call(views.campaign_name, ctx_of(context), ident)  # deleted: a clear answer
    await q.answer()
    if q.message is not None:
        await show_stats(context, q.message.chat.id, ident)
    return None


async def delete_yes_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """✅ Yes, delete: the campaign goes with its leads; the suppression list stays."""
    ctx = ctx_of(context)
    deleted = await call(registry.delete_campaign, ctx, ident)
    await drop_buttons(q)
    now_on = await call(views.selection, ctx, q.from_user.id)
    return words.deleted_text(deleted, now_on.name)


async def _refresh(q: CallbackQuery, context: Ctx) -> None:
    """The /campaigns message shown again in place, with the numbers and buttons of now."""
    lines = await call(registry.overview, ctx_of(context), q.from_user.id)
    try:
        await q.edit_message_text(
            words.overview_text(lines), reply_markup=words.overview_buttons(lines)
        )
    except TelegramError:  # "message is not modified" on a double tap, or too old to edit
        pass
