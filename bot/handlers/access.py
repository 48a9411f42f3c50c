"""Who may use the bot: only admins, only in a private chat; strangers get a rare refusal."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.handlers.common import Ctx, ctx_of, reply
from bot.ratelimit import RefusalLimiter

log = logging.getLogger(__name__)

PRIVATE_ONLY = "Use me in a private chat: lead data is never shown in a group."


async def admin_gate(update: Update, context: Ctx) -> None:
    """Runs before every handler. Strangers get a short refusal (at most one a minute each) and
    nothing else; an admin in a group is told to use a private chat, and nothing is done."""
    admins: tuple[int, ...] = context.application.bot_data["admin_ids"]
    user = update.effective_user
    chat = update.effective_chat
    if user is not None and user.id in admins:
        if chat is None or chat.type == ChatType.PRIVATE:
            return
        await _refuse_in_group(update)
        log.info("refused an admin's update in a non-private chat")
        raise ApplicationHandlerStop
    answer = update.callback_query is not None or (
        update.effective_message is not None and chat is not None and chat.type == ChatType.PRIVATE
    )
    if (
        answer
        and user is not None
        and _refusals(context).allow(user.id, ctx_of(context).clock.now())
    ):
        if update.callback_query is not None:
            try:
                await update.callback_query.answer("Not allowed.", show_alert=False)
            except Exception:  # noqa: BLE001 - a refusal that fails to arrive changes nothing
                pass
        else:
            await reply(update, "Sorry, this is a private bot.")
    log.info("refused an update from a non-admin user")
    raise ApplicationHandlerStop


async def _refuse_in_group(update: Update) -> None:
    """Answer only what was addressed to the bot (a command, a file, a button)."""
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(PRIVATE_ONLY[:190], show_alert=True)
            return
        msg = update.effective_message
        if msg is not None and (msg.document is not None or (msg.text or "").startswith("/")):
            await reply(update, PRIVATE_ONLY)
    except Exception:  # noqa: BLE001 - the answer is a courtesy; nothing was done either way
        log.debug("could not answer in a group")


def _refusals(context: Ctx) -> RefusalLimiter:
    limiter: RefusalLimiter = context.application.bot_data.setdefault("refusals", RefusalLimiter())
    return limiter
