"""The buttons under a reply notification that read or act on the reply itself: 📄 Full text,
➕ Add a contact it names as a lead, 📅 Send calendar link (CALENDAR_MODE ask). The lead's own
buttons (stop, domain, interest) are in ``bot.handlers.leads``."""

from __future__ import annotations

from telegram import CallbackQuery

from bot.handlers.common import Ctx, call, ctx_of
from bot.messages.buttons import REFERRAL_SLOTS
from bot.messages.inbox import calendar_sent, full_text, referral_added
from bot.textsplit import split_text
from engine.inbox import reply_tools


async def full_text_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """📄 Full text: the reply's whole new text, in as many messages as it needs."""
    text = full_text(await call(reply_tools.reply_text, ctx_of(context), ident))
    await q.answer()
    if q.message is not None:
        for part in split_text(text):
            await context.bot.send_message(q.message.chat.id, part)
    return None


async def referral_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """➕ Add ADDRESS as a lead: the address joins the replier's campaign."""
    notice_id, place = divmod(ident, REFERRAL_SLOTS)
    return referral_added(await call(reply_tools.add_referral, ctx_of(context), notice_id, place))


async def calendar_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """📅 Send calendar link: the calendar answer is queued once, in the reply's thread."""
    return calendar_sent(await call(reply_tools.send_calendar, ctx_of(context), ident))
