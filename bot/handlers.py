"""One handler per command, each short; the wiring is in ``register`` at the bottom."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import format as fmt
from bot.ratelimit import RefusalLimiter
from engine import campaign
from engine.context import EngineContext
from engine.errors import OutreachError, SendError, UserInputError
from engine.leads import imports, suppressions
from engine.leads import service as leads
from engine.leads.csv_import import MAX_FILE_BYTES
from engine.scheduler import SEND, Scheduler

log = logging.getLogger(__name__)
T = TypeVar("T")
Ctx = ContextTypes.DEFAULT_TYPE


def _ctx(context: Ctx) -> EngineContext:
    ctx: EngineContext = context.application.bot_data["ctx"]
    return ctx


def _engine(context: Ctx) -> Scheduler | None:
    return context.application.bot_data.get("engine")


async def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Engine calls block (database, SMTP): run them in a worker thread."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def _reply(update: Update, text: str, **kwargs: Any) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(text[:4096], **kwargs)


# --- the gate: only admins, only in a private chat -------------------------------------------
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
    if answer and user is not None and _refusals(context).allow(user.id, _ctx(context).clock.now()):
        if update.callback_query is not None:
            try:
                await update.callback_query.answer("Not allowed.", show_alert=False)
            except Exception:  # noqa: BLE001 - a refusal that fails to arrive changes nothing
                pass
        else:
            await _reply(update, "Sorry, this is a private bot.")
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
            await _reply(update, PRIVATE_ONLY)
    except Exception:  # noqa: BLE001 - the answer is a courtesy; nothing was done either way
        log.debug("could not answer in a group")


def _refusals(context: Ctx) -> RefusalLimiter:
    limiter: RefusalLimiter = context.application.bot_data.setdefault("refusals", RefusalLimiter())
    return limiter


# --- commands ------------------------------------------------------------------------------------
async def help_cmd(update: Update, context: Ctx) -> None:
    """What the bot does and every command."""
    await _reply(update, fmt.HELP)


async def status_cmd(update: Update, context: Ctx) -> None:
    """The dashboard."""
    ctx = _ctx(context)
    report = await _call(campaign.status, ctx)
    await _reply(update, fmt.status_text(report, ctx.settings.tz))


async def run_cmd(update: Update, context: Ctx) -> None:
    """Start or resume the campaign."""
    previous = await _call(campaign.run, _ctx(context))
    engine = _engine(context)
    if engine is not None:
        engine.wake(SEND)
    verb = (
        "already running"
        if previous == "running"
        else "started"
        if previous == "stopped"
        else "resumed"
    )
    await _reply(update, f"▶️ Campaign {verb}. /status shows progress.")


async def pause_cmd(update: Update, context: Ctx) -> None:
    """Pause sending; nothing is lost."""
    result = await _call(campaign.pause, _ctx(context))
    await _reply(update, fmt.paused_text(result.in_flight))


async def stop_cmd(update: Update, context: Ctx) -> None:
    """Stop the campaign."""
    result = await _call(campaign.stop, _ctx(context))
    await _reply(update, fmt.stopped_text(result.in_flight))


async def leads_cmd(update: Update, context: Ctx) -> None:
    """Lead counts by status."""
    ctx = _ctx(context)

    def counts() -> dict[str, int]:
        with ctx.db.transaction() as session:
            return leads.counts_by_status(session)

    await _reply(update, fmt.leads_text(await _call(counts)))


async def lead_cmd(update: Update, context: Ctx) -> None:
    """One lead with its history and buttons."""
    if not context.args:
        await _reply(
            update, "Which lead? Send /lead followed by an email address, e.g. /lead ana@acme.com"
        )
        return
    ctx = _ctx(context)
    view = await _call(leads.find_lead, ctx, context.args[0])
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("🛑 Stop", callback_data=f"stop:{view.lead.id}"),
                InlineKeyboardButton("🗑 Delete", callback_data=f"del:{view.lead.id}"),
            ]
        ]
    )
    await _reply(update, fmt.lead_text(view, ctx.settings.tz), reply_markup=markup)


async def settings_cmd(update: Update, context: Ctx) -> None:
    """Show the effective limits and pacing, or change one."""
    ctx = _ctx(context)
    args = context.args or []
    if len(args) == 1:
        await _reply(update, f"Give a value too, e.g. /settings {args[0]} 50")
        return
    if len(args) >= 2:
        value = await _call(campaign.change_setting, ctx, args[0], " ".join(args[1:]))
        await _reply(
            update, f"✅ {args[0].lower()} is now {value} (saved; it overrides the environment)."
        )
        return
    rows = await _call(campaign.settings_view, ctx)
    lines = ["⚙️ Settings (✎ = changed from the chat):"]
    lines += [f"{k}: {v}{' ✎' if o else ''}" for k, v, o in rows]
    s = ctx.settings
    lines.append(
        f"send_interval: {s.send_interval}s, reply_check_interval: {s.reply_check_interval}s (environment only)"
    )
    lines.append("Change one with /settings KEY VALUE, e.g. /settings daily_limit 50")
    await _reply(update, "\n".join(lines))


async def export_cmd(update: Update, context: Ctx) -> None:
    """Every lead as a CSV document."""
    data = await _call(campaign.export_csv, _ctx(context))
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    if update.effective_message is not None:
        await update.effective_message.reply_document(
            document=data, filename=f"leads-{stamp}.csv", caption="📎 All leads"
        )


async def templates_cmd(update: Update, context: Ctx) -> None:
    """Show the templates."""
    for t in await _call(campaign.templates_view, _ctx(context)):
        await _reply(update, fmt.template_text(t))
    await _reply(
        update,
        "To change one, send /template NAME on the first line, then an optional "
        "'Subject: …' line, then the body. Placeholders: {first_name}, {company|your team}, "
        "any CSV column, {calendar_link}.",
    )


async def template_cmd(update: Update, context: Ctx) -> None:
    """Change a template: /template NAME, newline, Subject: …, body."""
    msg = update.effective_message
    text = msg.text if msg is not None and msg.text else ""
    first, _, rest = text.partition("\n")
    parts = first.split(maxsplit=1)
    if len(parts) < 2:
        await _reply(
            update,
            "Which template? e.g.\n/template initial\nSubject: Quick question, {first_name|there}\nHi {first_name|there}, …",
        )
        return
    name, _, inline = parts[1].partition(" ")
    body = (inline + "\n" + rest).strip() if inline else rest
    t = await _call(campaign.change_template, _ctx(context), name, body)
    await _reply(update, "✅ Saved.\n\n" + fmt.template_text(t))


async def test_cmd(update: Update, context: Ctx) -> None:
    """Send the first template with sample data to an address."""
    if not context.args:
        await _reply(update, "To which address? e.g. /test you@yourdomain.com")
        return
    subject = await _call(campaign.send_test, _ctx(context), context.args[0])
    await _reply(update, f"📨 Test email sent to {context.args[0]} — subject: {subject}")


async def uncertain_cmd(update: Update, context: Ctx) -> None:
    """Emails whose delivery is unknown after a crash, with buttons to decide."""
    from engine.sending import recovery

    rows = await _call(recovery.list_uncertain, _ctx(context))
    if not rows:
        await _reply(update, "✅ No email has an unknown delivery.")
        return
    for r in rows[:10]:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("📨 Send again", callback_data=f"resend:{r.id}"),
                    InlineKeyboardButton("✔️ It was sent", callback_data=f"wassent:{r.id}"),
                ]
            ]
        )
        await _reply(
            update,
            f"❔ {r.kind} to {r.to_email} — {r.subject[:80]}\n{r.error or ''}",
            reply_markup=markup,
        )


async def suppressions_cmd(update: Update, context: Ctx) -> None:
    """The suppression list, 20 entries a page, with ◀️ ▶️ buttons."""
    page = await _call(suppressions.page, _ctx(context), 0)
    await _reply(
        update, fmt.suppressions_text(page, _ctx(context).settings.tz), reply_markup=_pager(page)
    )


def _pager(page: suppressions.Page) -> InlineKeyboardMarkup | None:
    row = []
    if page.page > 0:
        row.append(InlineKeyboardButton("◀️", callback_data=f"supp:{page.page - 1}"))
    if page.page + 1 < page.pages:
        row.append(InlineKeyboardButton("▶️", callback_data=f"supp:{page.page + 1}"))
    return InlineKeyboardMarkup([row]) if row else None


async def unsuppress_cmd(update: Update, context: Ctx) -> None:
    """Take an address or a domain off the suppression list, after a confirmation."""
    if not context.args:
        await _reply(
            update,
            "Which entry? Send /unsuppress followed by an address or a domain, e.g. "
            "/unsuppress ana@acme.io — /suppressions shows the list.",
        )
        return
    entry = await _call(suppressions.find, _ctx(context), " ".join(context.args))
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Yes, remove it", callback_data=f"unsup:{entry.id}"),
                InlineKeyboardButton("✖️ Cancel", callback_data=f"unsupno:{entry.id}"),
            ]
        ]
    )
    await _reply(
        update,
        f"Remove {entry.value} ({entry.kind}; {entry.reason or 'no reason noted'}) from the "
        "suppression list? New imports of it are then accepted again; leads already stopped "
        "stay stopped.",
        reply_markup=markup,
    )


# --- documents: CSV import ---------------------------------------------------------------------
async def document_msg(update: Update, context: Ctx) -> None:
    """Import a CSV of leads."""
    msg = update.effective_message
    if msg is None or msg.document is None:
        return
    doc = msg.document
    name = (doc.file_name or "").lower()
    if doc.file_size and doc.file_size > MAX_FILE_BYTES:
        await _reply(
            update,
            f"That file is {doc.file_size / 1e6:.1f} MB; the limit is {MAX_FILE_BYTES // (1024 * 1024)} MB. Split it into smaller CSV files and send them one by one.",
        )
        return
    if name.endswith((".xlsx", ".xls", ".numbers", ".ods")):
        await _reply(
            update,
            "That is a spreadsheet file, not CSV. Save it as CSV (File → Save as → CSV UTF-8) and send it again.",
        )
        return
    progress_msg = await msg.reply_text("⏳ Reading the file…")
    file = await doc.get_file()
    data = bytes(await file.download_as_bytearray())
    loop = asyncio.get_running_loop()
    last = [0.0]
    edits: list[Any] = []

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 2.0:
            return
        last[0] = now
        text = f"⏳ Importing… {done}/{total} rows"
        edits.append(asyncio.run_coroutine_threadsafe(_edit(progress_msg, text), loop))

    async def finish(text: str) -> None:
        # A progress edit still in flight must not land after (and hide) the final answer.
        await asyncio.gather(*(asyncio.wrap_future(f) for f in edits), return_exceptions=True)
        await _edit(progress_msg, text)

    ctx = _ctx(context)
    import_id = await _call(
        imports.begin,
        ctx,
        doc.file_name or "the file",
        progress_msg.chat_id,
        progress_msg.message_id,
    )
    try:
        report = await _call(leads.import_csv, ctx, data, progress=progress, import_id=import_id)
    except UserInputError as e:
        await _call(imports.finish, ctx, import_id, imports.FAILED)
        await finish(f"❌ {e}\nNothing was imported.")
        return
    except Exception:
        # The import's transaction was rolled back (the error came out of it). A cancellation
        # is left alone: the import may still be running, and if the process dies it is
        # reported on the next start.
        with contextlib.suppress(Exception):
            await _call(imports.finish, ctx, import_id, imports.FAILED)
        raise
    await finish(fmt.import_text(report))


async def _edit(message: Any, text: str) -> None:
    try:
        await message.edit_text(text[:4096])
    except Exception as e:  # noqa: BLE001 - "message is not modified" and the like
        log.debug("edit failed: %s", type(e).__name__)


# --- buttons ------------------------------------------------------------------------------------
async def button(update: Update, context: Ctx) -> None:
    """Inline buttons on reply notifications and /lead."""
    q = update.callback_query
    if q is None or not q.data:
        return
    action, _, arg = q.data.partition(":")
    ctx = _ctx(context)
    try:
        ident = int(arg)
    except ValueError:
        await q.answer("Unknown button.")
        return
    if action == "stop":
        lead = await _call(leads.stop_lead, ctx, ident)
        text = f"🛑 Nothing more will be sent to {lead.email}."
    elif action == "dom":
        await q.answer()
        await _confirm_domain_stop(q, context, await _call(leads.preview_domain_stop, ctx, ident))
        return
    elif action == "domyes":
        domain, n = await _call(leads.stop_domain, ctx, ident)
        text = f"🌐 Nothing more will be sent to anyone at {domain} ({n} lead(s))."
        await _drop_buttons(q)
    elif action in ("domno", "unsupno"):
        await q.answer("Cancelled; nothing was changed.")
        await _drop_buttons(q, "✖️ Cancelled; nothing was changed.")
        return
    elif action == "supp":
        page = await _call(suppressions.page, ctx, ident)
        await q.answer()
        with contextlib.suppress(Exception):  # "message is not modified" on a double tap
            await q.edit_message_text(
                fmt.suppressions_text(page, ctx.settings.tz), reply_markup=_pager(page)
            )
        return
    elif action == "unsup":
        value = await _call(suppressions.remove, ctx, ident)
        text = f"✅ {value} is off the suppression list; new imports of it are accepted again."
        await _drop_buttons(q)
    elif action in ("int", "notint"):
        interest = "interested" if action == "int" else "not interested"
        lead = await _call(leads.set_interest, ctx, ident, interest)
        text = f"Marked {lead.email} as {interest}."
    elif action == "del":
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton("Yes, delete", callback_data=f"delyes:{ident}")]]
        )
        await q.answer()
        if q.message is not None:
            await context.bot.send_message(
                q.message.chat.id,
                "Delete this lead and its history? This cannot be undone.",
                reply_markup=markup,
            )
        return
    elif action == "delyes":
        email = await _call(leads.delete_lead, ctx, ident)
        text = f"🗑 Deleted {email}."
    elif action in ("resend", "wassent"):
        from engine.sending import recovery

        text = await _call(recovery.operator_decides, ctx, ident, action == "resend")
        engine = _engine(context)
        if engine is not None:
            engine.wake(SEND)
    else:
        await q.answer("Unknown button.")
        return
    await q.answer(text[:190])
    if q.message is not None:
        await context.bot.send_message(q.message.chat.id, text)


async def _confirm_domain_stop(q: Any, context: Ctx, stop: leads.DomainStop) -> None:
    if q.message is None:
        return
    if stop.free_mail:
        text = (
            f"🌐 {stop.domain} is a free-mail provider: its {stop.leads} lead(s) are unrelated "
            f"people, so it cannot be stopped as a domain. Stop only {stop.lead_email}?"
        )
        buttons = [InlineKeyboardButton("🛑 Stop this lead", callback_data=f"stop:{stop.lead_id}")]
    else:
        text = (
            f"🌐 Stop everyone at {stop.domain}? {stop.leads} lead(s) will get nothing more, and "
            f"later imports from {stop.domain} are skipped (/unsuppress {stop.domain} undoes that)."
        )
        buttons = [
            InlineKeyboardButton(
                f"✅ Yes, stop {stop.domain}"[:60], callback_data=f"domyes:{stop.lead_id}"
            ),
            InlineKeyboardButton("✖️ Cancel", callback_data=f"domno:{stop.lead_id}"),
        ]
    await context.bot.send_message(
        q.message.chat.id, text, reply_markup=InlineKeyboardMarkup([buttons])
    )


async def _drop_buttons(q: Any, text: str | None = None) -> None:
    """A confirmation is used once: take its buttons away (and say what happened)."""
    with contextlib.suppress(Exception):
        if text is not None:
            await q.edit_message_text(text)
        else:
            await q.edit_message_reply_markup(None)


async def apply_button(update: Update, context: Ctx) -> None:
    """ "Apply anyway" on an unverified-sender notice: the held action, applied once."""
    from engine.inbox.sync import apply_unverified

    q = update.callback_query
    if q is None or not q.data:
        return
    try:
        ident = int(q.data.partition(":")[2])
    except ValueError:
        await q.answer("Unknown button.")
        return
    text = await _call(apply_unverified, _ctx(context), ident)
    await q.answer(text[:190])
    if q.message is not None:
        await context.bot.send_message(q.message.chat.id, text)


# --- errors ------------------------------------------------------------------------------------
async def error_handler(update: object, context: Ctx) -> None:
    """Expected errors get their message; unexpected ones are logged and reported briefly."""
    err = context.error
    if isinstance(update, Update) and update.callback_query is not None:
        try:  # stop the button's spinner; the answer follows as a message
            await update.callback_query.answer()
        except Exception:  # noqa: BLE001 - already answered, or too late
            pass
    if isinstance(update, Update):
        if isinstance(err, UserInputError):
            await _safe_reply(update, f"❌ {err}")
            return
        if isinstance(err, SendError):
            await _safe_reply(update, f"❌ The mail server said no: {err.text[:300]}")
            return
        if isinstance(err, OutreachError):
            await _safe_reply(
                update, f"❌ {type(err).__name__}: that did not work; please try again shortly."
            )
            return
    log.error("unexpected error while handling an update", exc_info=err)
    redact = context.application.bot_data.get("redact", lambda s: s)
    brief = html.escape(redact(f"{type(err).__name__}: {err}"))[:300]
    if isinstance(update, Update):
        await _safe_reply(
            update,
            f"⚠️ Something went wrong ({brief}). It was logged; nothing was changed by the failed step.",
        )


async def _safe_reply(update: Update, text: str) -> None:
    try:
        await _reply(update, text)
    except Exception:  # noqa: BLE001
        log.warning("could not deliver an error message")


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """All the wiring, top to bottom."""
    app.add_handler(TypeHandler(Update, admin_gate), group=-1)
    app.add_handler(CommandHandler(["start", "help"], help_cmd))
    app.add_handler(CommandHandler("status", status_cmd))
    app.add_handler(CommandHandler("run", run_cmd))
    app.add_handler(CommandHandler("pause", pause_cmd))
    app.add_handler(CommandHandler("stop", stop_cmd))
    app.add_handler(CommandHandler("leads", leads_cmd))
    app.add_handler(CommandHandler("lead", lead_cmd))
    app.add_handler(CommandHandler("settings", settings_cmd))
    app.add_handler(CommandHandler("export", export_cmd))
    app.add_handler(CommandHandler("templates", templates_cmd))
    app.add_handler(CommandHandler("template", template_cmd))
    app.add_handler(CommandHandler("test", test_cmd))
    app.add_handler(CommandHandler("uncertain", uncertain_cmd))
    app.add_handler(CommandHandler("suppressions", suppressions_cmd))
    app.add_handler(CommandHandler("unsuppress", unsuppress_cmd))
    app.add_handler(MessageHandler(filters.Document.ALL, document_msg))
    app.add_handler(CallbackQueryHandler(apply_button, pattern=r"^apply:"))
    app.add_handler(CallbackQueryHandler(button))
    app.add_handler(MessageHandler(filters.COMMAND, help_cmd))
    app.add_error_handler(error_handler)
