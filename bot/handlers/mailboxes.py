"""/mailbox and /mailboxes, a CSV of mailboxes sent with the caption /mailboxes, and the buttons
on a mailbox (pause, resume, remove with its two questions).

A message that holds a password (``/mailbox add``, the CSV) is deleted as soon as it has been
read, before the logins are checked, and the answer says whether that worked. Telegram's own
debug logging would print such a message; ``guard_logs`` withholds those lines.
"""

from __future__ import annotations

import logging
import re

from telegram import CallbackQuery, Message, Update
from telegram.error import TelegramError

from bot.handlers.common import (
    Ctx,
    call,
    ctx_of,
    drop_buttons,
    reply,
    send,
    wake_sending,
)
from bot.messages import mailboxes as words
from engine.errors import UserInputError
from engine.mailboxes import service
from engine.mailboxes.service import LeadsChoice
from engine.mailboxes.spec import MAX_CSV_BYTES, parse_mailbox_args, parse_mailbox_csv

log = logging.getLogger(__name__)

MAX_SHOWN = 20  # mailboxes shown by /mailboxes, one message each
# A document whose caption starts with /mailbox or /mailboxes is a CSV of mailboxes, never
# leads (its password column must not end up in a lead's fields).
CAPTION = r"(?i)^\s*/mailbox(es)?\b"


# --- logging -----------------------------------------------------------------------------------
_COMMAND_WITH_ARGS = re.compile(r"(?i)/mailbox(?:@\w+)?\s+\S")
_TELEGRAM_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot", "telegram.ext.Application")


class _WithholdMailboxCommands(logging.Filter):
    """python-telegram-bot logs whole updates and API answers at DEBUG: a line holding a
    /mailbox command (which may carry a password) is replaced by a note."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is left to logging
            return True
        if _COMMAND_WITH_ARGS.search(text):
            record.msg, record.args = (
                "(withheld: a /mailbox command, which may hold a password)",
                None,
            )
        return True


_GUARD = _WithholdMailboxCommands()


def guard_logs() -> None:
    """Install the filter on python-telegram-bot's loggers (once; adding it again is a no-op)."""
    for name in _TELEGRAM_LOGGERS:
        logging.getLogger(name).addFilter(_GUARD)


# --- helpers -----------------------------------------------------------------------------------
async def _delete(message: Message) -> bool:
    """Delete the admin's message that held a password; False if Telegram refused."""
    try:
        return bool(await message.delete())
    except TelegramError as e:
        log.warning("could not delete a message holding a password: %s", type(e).__name__)
        return False


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text[:4096])
    except TelegramError:
        await message.get_bot().send_message(message.chat_id, text[:4096])


def _refused(e: UserInputError) -> str:
    text = str(e)
    return f"❌ {text}" if "Nothing was saved" in text else f"❌ {text} Nothing was saved."


# --- commands ----------------------------------------------------------------------------------
async def mailbox_cmd(update: Update, context: Ctx) -> None:
    """/mailbox add|pause|resume|remove|set …, or the list of its forms."""
    msg = update.effective_message
    if msg is None:
        return
    parts = (msg.text or "").split(None, 2)
    sub = parts[1].lower() if len(parts) > 1 else ""
    rest = parts[2] if len(parts) > 2 else ""
    if sub == "add" and rest.strip():
        await _add(msg, context, rest)
    elif sub in ("pause", "resume", "remove") and rest.strip():
        await _by_address(update, context, sub, rest.strip())
    elif sub == "set":
        await _set(update, context, rest)
    elif len((msg.text or "").split()) > 2:
        # Not a form we know, and long enough to be "/mailbox EMAIL PASSWORD": take no risk.
        deleted = await _delete(msg)
        note = words.DELETED_UNSURE if deleted else words.NOT_DELETED
        await msg.get_bot().send_message(msg.chat_id, f"{words.USAGE_TEXT}\n\n{note}")
    else:
        await reply(update, words.USAGE_TEXT)


async def _add(msg: Message, context: Ctx, rest: str) -> None:
    """/mailbox add EMAIL PASSWORD [key=value …]: the message goes first, then the check."""
    deleted = await _delete(msg)
    note = words.deleted_note(deleted)
    bot = msg.get_bot()
    try:
        spec = parse_mailbox_args(rest)
    except UserInputError as e:
        await bot.send_message(msg.chat_id, f"{_refused(e)}\n{note}")
        return
    progress = await bot.send_message(msg.chat_id, words.CHECKING)
    try:
        result = await call(service.add, ctx_of(context), spec)
    except UserInputError as e:
        await _edit(progress, f"{_refused(e)}\n{note}")
        return
    except Exception:
        await _edit(progress, f"⚠️ The check could not finish; nothing was saved.\n{note}")
        raise
    await _edit(progress, f"{words.add_text(result)}\n{note}")
    if result.outcome != "failed":
        wake_sending(context)


async def _by_address(update: Update, context: Ctx, sub: str, email: str) -> None:
    ctx = ctx_of(context)
    if sub == "remove":
        text, markup = words.remove_confirm(await call(service.remove_preview, ctx, email))
        await reply(update, text, reply_markup=markup)
        return
    action = service.pause if sub == "pause" else service.resume
    await reply(update, words.change_text(await call(action, ctx, email)))
    wake_sending(context)


async def _set(update: Update, context: Ctx, rest: str) -> None:
    """/mailbox set EMAIL KEY VALUE (a value with spaces may be in quotes)."""
    parts = rest.split(None, 2)
    if len(parts) < 3:
        await reply(
            update,
            "Give the mailbox, the key and the value, e.g. /mailbox set sam@acme.io "
            f"daily_limit 40. {words.USAGE_TEXT.splitlines()[-1]}",
        )
        return
    email, key, value = parts
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    address, key, shown = await call(service.set_option, ctx_of(context), email, key, value)
    await reply(update, f"✅ {address}: {key} is now {shown}.")


async def mailboxes_cmd(update: Update, context: Ctx) -> None:
    """Every mailbox: state, sent today of its cap, ramp-up, bounces, last reply check."""
    msg = update.effective_message
    if msg is not None:
        await show_mailboxes(context, msg.chat_id)


async def show_mailboxes(context: Ctx, chat_id: int) -> None:
    """The overview, then a message per mailbox with its buttons (/mailboxes, and 📬 Mailboxes
    on the dashboard)."""
    ctx = ctx_of(context)
    views = await call(service.overview, ctx)
    shown = views[:MAX_SHOWN]
    await send(context, chat_id, words.overview_header(views, len(shown)))
    for v in shown:
        await send(
            context,
            chat_id,
            words.mailbox_block(v, ctx.settings.tz),
            reply_markup=words.mailbox_buttons(v),
        )


async def mailboxes_csv_msg(update: Update, context: Ctx) -> None:
    """A CSV of mailboxes (caption /mailboxes): each line checked and added; the file deleted."""
    msg = update.effective_message
    if msg is None or msg.document is None:
        return
    doc = msg.document
    data: bytes | None = None
    try:
        if not doc.file_size or doc.file_size <= MAX_CSV_BYTES:
            data = bytes(await (await doc.get_file()).download_as_bytearray())
    finally:
        deleted = await _delete(msg)
    note = words.deleted_note(deleted).replace("message", "file")
    if data is None:
        await msg.get_bot().send_message(
            msg.chat_id, f"❌ The file is over 1 MB; split it. Nothing was saved.\n{note}"
        )
        return
    progress = await msg.get_bot().send_message(msg.chat_id, "⏳ Checking each mailbox's logins…")
    try:
        rows = await call(parse_mailbox_csv, data)
        report = await call(service.add_many, ctx_of(context), rows)
    except UserInputError as e:
        await _edit(progress, f"{_refused(e)}\n{note}")
        return
    await _edit(progress, words.bulk_text(report, deleted))
    wake_sending(context)


# --- buttons: each gets the mailbox id after its prefix (see bot/handlers/buttons.py) -------------
async def pause_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """⏸ Pause under a mailbox."""
    change = await call(service.pause, ctx_of(context), ident)
    await _refresh(q, context, ident)
    return words.change_text(change)


async def resume_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """▶️ Resume under a mailbox."""
    change = await call(service.resume, ctx_of(context), ident)
    await _refresh(q, context, ident)
    wake_sending(context)
    return words.change_text(change)


async def _refresh(q: CallbackQuery, context: Ctx, ident: int) -> None:
    """The mailbox's block shown again in place, with the buttons for its new state."""
    ctx = ctx_of(context)
    view = next((v for v in await call(service.overview, ctx) if v.id == ident), None)
    if view is None:
        return
    try:
        await q.edit_message_text(
            words.mailbox_block(view, ctx.settings.tz), reply_markup=words.mailbox_buttons(view)
        )
    except TelegramError:
        log.debug("could not refresh a mailbox's block")


async def remove_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """🗑 Remove: first ask."""
    text, markup = words.remove_confirm(await call(service.remove_preview, ctx_of(context), ident))
    await q.answer()
    if q.message is not None:
        await context.bot.send_message(q.message.chat.id, text, reply_markup=markup)
    return None


async def remove_yes_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """✅ Yes, remove: ask what happens to its leads in sequence (if it has any)."""
    preview = await call(service.remove_preview, ctx_of(context), ident)
    if not preview.in_sequence:
        return await _remove(q, context, ident, "stop")
    text, markup = words.leads_question(preview)
    await q.answer()
    await q.edit_message_text(text, reply_markup=markup)
    return None


async def remove_stop_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """🛑 Stop them: the mailbox goes, its leads in sequence are stopped."""
    return await _remove(q, context, ident, "stop")


async def remove_restart_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """🔁 Restart from another mailbox: the mailbox goes, its leads start new threads."""
    return await _remove(q, context, ident, "restart")


async def _remove(q: CallbackQuery, context: Ctx, ident: int, leads: LeadsChoice) -> str:
    removal = await call(service.remove, ctx_of(context), ident, leads)
    await drop_buttons(q)
    if removal.restarted:
        wake_sending(context)
    return words.removed_text(removal)
