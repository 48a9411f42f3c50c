"""What every handler module shares: the engine context, worker-thread calls and replies."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.textsplit import split_text
from engine.campaigns import views
from engine.context import EngineContext
from engine.scheduler import SEND, Scheduler

T = TypeVar("T")
Ctx = ContextTypes.DEFAULT_TYPE

# A button's action gets the query, the context and the id after the prefix. It returns the
# text to answer with (also posted to the chat), or None when it has answered by itself.
ButtonAction = Callable[[CallbackQuery, Ctx, int], Awaitable[str | None]]


def ctx_of(context: Ctx) -> EngineContext:
    """The engine's context the application was built with."""
    ctx: EngineContext = context.application.bot_data["ctx"]
    return ctx


def engine_of(context: Ctx) -> Scheduler | None:
    """The running scheduler, if there is one (tests may run the bot without it)."""
    return context.application.bot_data.get("engine")


def wake_sending(context: Ctx) -> None:
    """After a change that may let an email go (a run, a resumed mailbox): send now, not at the
    next tick."""
    engine = engine_of(context)
    if engine is not None:
        engine.wake(SEND)


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Engine calls block (database, SMTP): run them in a worker thread."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def selection(update: Update, context: Ctx) -> views.Selection:
    """The campaign this admin's command acts on: their ``/campaign NAME``, else the oldest."""
    user = update.effective_user
    return await call(views.selection, ctx_of(context), user.id if user is not None else None)


def named(sel: views.Selection) -> str | None:
    """The campaign's name for an answer to say, when there are several; None with one."""
    return sel.name if sel.several else None


async def reply(update: Update, text: str, **kwargs: Any) -> None:
    """Answer in the chat the update came from; a long answer goes as several messages, cut
    at line boundaries (never mid-word), with any buttons on the last."""
    message = update.effective_message
    if message is None:
        return
    parts = split_text(text) or [text]
    for part in parts[:-1]:
        await message.reply_text(part)
    await message.reply_text(parts[-1], **kwargs)


async def drop_buttons(q: CallbackQuery, text: str | None = None) -> None:
    """A confirmation is used once: take its buttons away (and say what happened)."""
    with contextlib.suppress(Exception):
        if text is not None:
            await q.edit_message_text(text)
        else:
            await q.edit_message_reply_markup(None)


async def send(context: Ctx, chat_id: int, text: str, **kwargs: Any) -> None:
    """``reply`` for a button's answer, which has no command to answer: a new message in the
    chat, cut like ``reply`` (buttons on the last part)."""
    parts = split_text(text) or [text]
    for part in parts[:-1]:
        await context.bot.send_message(chat_id, part)
    await context.bot.send_message(chat_id, parts[-1], **kwargs)


async def show_in_place(
    q: CallbackQuery, context: Ctx, text: str, markup: InlineKeyboardMarkup | None
) -> bool:
    """Show ``text`` in the message whose button was pressed (a dashboard, a page): False when
    it already showed exactly that ("message is not modified"). A text too long for one
    message, or a message Telegram no longer lets us edit, comes as a new message instead."""
    chat_id = q.message.chat.id if q.message is not None else None
    if chat_id is not None and len(split_text(text)) > 1:
        await send(context, chat_id, text, reply_markup=markup)
        return True
    try:
        await q.edit_message_text(text, reply_markup=markup)
        return True
    except BadRequest as e:  # not a network failure: a retry would not help, a new message does
        if "not modified" in str(e).lower():
            return False
        if chat_id is None:
            raise
    await send(context, chat_id, text, reply_markup=markup)  # too old to edit, or gone
    return True
