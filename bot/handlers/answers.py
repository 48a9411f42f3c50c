"""Answering a lead from the chat: ✍️ Reply (or Telegram's reply on the notice) → the admin's
text → a preview with 📨 Send and ✖️ Cancel → the preview edited to say what happened.

Plain text that is not a draft and holds an http(s) link imports the list it points to
(``upload.link_msg``); any other gets a one-line hint. A draft may hold a link: it stays a draft. The engine (``engine.sending.answers``)
holds the draft's state, so two presses of Send, or two admins, send once."""

from __future__ import annotations

import contextlib

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.handlers import hint, upload
from bot.handlers.common import Ctx, call, ctx_of, reply
from bot.messages import answers as words
from bot.messages.buttons import LABEL_WORDS, LABELS, label_buttons
from bot.textsplit import split_text
from engine.errors import UserInputError
from engine.leads import service as leads
from engine.leads import sheet_links
from engine.sending import answers


def _reply_target(message: Message) -> int | None:
    """The reply a Telegram reply answers: the ✍️ Reply button under the notice it quotes."""
    quoted = message.reply_to_message
    markup = quoted.reply_markup if quoted is not None else None
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            data = button.callback_data
            if isinstance(data, str) and data.startswith("rpl:"):
                with contextlib.suppress(ValueError):
                    return int(data.partition(":")[2])
    return None


async def reply_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """✍️ Reply under a reply: the admin's next text is the draft."""
    ctx = ctx_of(context)
    chat_id = q.message.chat.id if q.message is not None else q.from_user.id
    try:
        prompt = await call(answers.start, ctx, q.from_user.id, chat_id, ident)
    except UserInputError as e:
        return str(e)
    await q.answer("Write your answer")
    await context.bot.send_message(
        chat_id,
        words.prompt_text(prompt, ctx.settings.tz),
        reply_markup=words.cancel_only(prompt.draft_id),
    )
    return None


async def text_msg(update: Update, context: Ctx) -> None:
    """A text that is not a command: the draft awaited (or a Telegram reply on a notice),
    else a link to a lead list to import, else a hint."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    ctx = ctx_of(context)
    text = message.text or ""
    try:
        target = _reply_target(message)
        if target is not None:
            await call(answers.start, ctx, user.id, message.chat.id, target)
        preview = await call(answers.take_text, ctx, user.id, text)
    except UserInputError as e:
        await reply(update, str(e))
        return
    if preview is None:
        url = sheet_links.find_url(text)
        if url is not None:  # not a draft: a link to a lead list (a Google Sheet, a CSV…)
            await upload.link_msg(update, context, url)
            return
        await hint.plain_text_msg(update, context)
        return
    parts = split_text(words.preview_text(preview)) or [words.preview_text(preview)]
    for part in parts[:-1]:
        await message.reply_text(part)
    shown = await message.reply_text(
        parts[-1], reply_markup=words.preview_buttons(preview.draft_id)
    )
    await call(answers.attach_preview, ctx, preview.draft_id, shown.message_id)


async def not_text_msg(update: Update, context: Ctx) -> None:
    """A sticker, photo, voice message… : refused as a draft; otherwise the hint."""
    user = update.effective_user
    if user is None:
        return
    waiting = await call(answers.awaiting, ctx_of(context), user.id)
    if waiting is None:
        await hint.plain_text_msg(update, context)
        return
    await reply(update, words.NOT_TEXT)


async def send_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """📨 Send: at most once, whoever presses and however often."""
    await q.answer("Sending…")
    try:
        result = await call(answers.send, ctx_of(context), ident)
    except UserInputError as e:
        return str(e)
    await _show(q, context, result)
    return None


async def cancel_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """✖️ Cancel: the draft is dropped unless it was already claimed."""
    try:
        result = await call(answers.cancel, ctx_of(context), ident)
    except UserInputError as e:
        return str(e)
    await q.answer("Cancelled" if result.outcome == answers.Outcome.CANCELLED else "Too late")
    await _show(q, context, result)
    return None


async def _show(q: CallbackQuery, context: Ctx, result: answers.Result) -> None:
    """Edit the pressed message to say what happened (buttons kept while the draft can still
    be sent); a text too long for one message is cut, and the full text sent after it."""
    ctx = ctx_of(context)
    text = words.result_text(result, ctx.settings.tz)
    markup: InlineKeyboardMarkup | None = (
        words.preview_buttons(result.preview.draft_id) if words.keeps_buttons(result) else None
    )
    parts = split_text(text) or [text]
    try:
        await q.edit_message_text(parts[0], reply_markup=markup if len(parts) == 1 else None)
    except BadRequest as e:
        if "not modified" not in str(e).lower():
            raise
    if q.message is not None:
        for i, part in enumerate(parts[1:], start=1):
            await context.bot.send_message(
                q.message.chat.id, part, reply_markup=markup if i == len(parts) - 1 else None
            )


async def label_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """🏷 …: change under a reply: the labels to choose from."""
    await q.answer()
    if q.message is not None:
        await context.bot.send_message(
            q.message.chat.id,
            "Which intent does this reply have? (Your choice is stored, and /stats counts "
            "interested and meeting as positive.)",
            reply_markup=label_buttons(ident),
        )
    return None


async def label_set_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """A label chosen: stored on the reply (and its lead, when it is the latest reply)."""
    inbound_id, index = divmod(ident, 8)
    if index >= len(LABELS):
        return "Unknown label; nothing was changed."
    try:
        done = await call(
            leads.set_reply_label, ctx_of(context), inbound_id, LABELS[index], q.from_user.id
        )
    except UserInputError as e:
        return str(e)
    words = LABEL_WORDS[done.label]
    text = f"🏷 {done.email}'s reply is now labelled {words}."
    if not done.latest:
        text += " (A later reply's label is the lead's.)"
    await q.answer("Saved")
    with contextlib.suppress(BadRequest):
        await q.edit_message_text(text)
    return None
