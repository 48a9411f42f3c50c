"""The lead commands (/leads /lead /find /verify /export /suppressions /unsuppress), the
``/lead_ID`` shortcuts in the lists, and the buttons that act on a lead, a domain or a
suppression entry, with their confirmations, or turn a list's page."""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import datetime

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import format as fmt
from bot.handlers.common import (
    Ctx,
    call,
    ctx_of,
    drop_buttons,
    named,
    reply,
    selection,
    send,
    show_in_place,
)
from bot.handlers.progress import ProgressMessage
from bot.messages import leads as words
from bot.messages import verification as verification_words
from engine import campaign
from engine.campaigns import views
from engine.leads import listing, recheck, suppressions
from engine.leads import service as leads
from engine.states import LeadStatus

CANCELLED = "Cancelled; nothing was changed."


async def leads_cmd(update: Update, context: Ctx) -> None:
    """/leads: the selected campaign's lead counts by status, with a button per status;
    /leads STATUS: that status's leads, 10 a page, newest activity first."""
    sel = await selection(update, context)
    msg = update.effective_message
    if msg is None:
        return
    if context.args:
        try:
            status = LeadStatus(context.args[0].lower())
        except ValueError:
            await reply(update, words.unknown_status_text(context.args[0]))
            return
        await _first_page(context, msg.chat_id, sel.id, status)
        return
    await show_counts(context, msg.chat_id, sel)


async def show_counts(context: Ctx, chat_id: int, sel: views.Selection) -> None:
    """A campaign's lead counts by status, with a button per status that lists its leads
    (/leads, and 👥 Leads on the dashboard)."""
    ctx = ctx_of(context)

    def counts() -> dict[str, int]:
        with ctx.db.transaction() as session:
            return leads.counts_by_status(session, campaign_id=sel.id)

    found = await call(counts)
    markup = words.status_buttons(sel.id, found)
    text = fmt.leads_text(found, named(sel))
    await send(
        context, chat_id, f"{text}\n{words.COUNTS_HINT}" if markup else text, reply_markup=markup
    )


async def _first_page(context: Ctx, chat_id: int, campaign_id: int, status: LeadStatus) -> None:
    ctx = ctx_of(context)
    page = await call(listing.status_page, ctx, campaign_id, status, 0)
    text = words.page_text(page, ctx.clock.now())
    await send(context, chat_id, text, reply_markup=words.pager(page))


async def lead_cmd(update: Update, context: Ctx) -> None:
    """One lead with its history and buttons."""
    if not context.args:
        await reply(
            update, "Which lead? Send /lead followed by an email address, e.g. /lead ana@acme.com"
        )
        return
    ctx = ctx_of(context)
    sel = await selection(update, context)
    await _show_lead(update, context, await call(leads.find_lead, ctx, context.args[0], sel.id))


# /lead_12 as a list shows it: Telegram makes only a /word tappable, so the id is in the word.
LEAD_SHORTCUT = re.compile(r"^/lead_(\d+)(?:@\w+)?\s*$")
_ID_DIGITS = 18  # more cannot be a row's id (and would not fit the database's integer)


async def lead_shortcut_msg(update: Update, context: Ctx) -> None:
    """/lead_ID (tapped in /leads STATUS or /find): that lead, as /lead ADDRESS shows it."""
    msg = update.effective_message
    m = LEAD_SHORTCUT.match(msg.text or "") if msg is not None else None
    if m is None:
        return
    if len(m.group(1)) > _ID_DIGITS:
        await reply(update, "❌ There is no such lead. /leads shows what is stored.")
        return
    view = await call(leads.lead_view, ctx_of(context), int(m.group(1)))
    await _show_lead(update, context, view)


async def _show_lead(update: Update, context: Ctx, view: leads.LeadView) -> None:
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("🛑 Stop", callback_data=f"stop:{view.lead.id}"),
                InlineKeyboardButton("🗑 Delete", callback_data=f"del:{view.lead.id}"),
            ]
        ]
    )
    await reply(update, fmt.lead_text(view, ctx_of(context).settings.tz), reply_markup=markup)


async def find_cmd(update: Update, context: Ctx) -> None:
    """/find TEXT: leads whose address, name or company holds each word, in every campaign."""
    text = " ".join(context.args or [])
    if not text:
        await reply(update, words.FIND_USAGE)
    elif len(text) > listing.QUERY_MAX:
        await reply(update, words.FIND_TOO_LONG)
    elif len(text) < 2:
        await reply(update, words.FIND_TOO_SHORT)
    else:
        ctx = ctx_of(context)
        found = await call(listing.find, ctx, text)
        await reply(update, words.found_text(found, ctx.clock.now()))


async def export_cmd(update: Update, context: Ctx) -> None:
    """The selected campaign's leads as a CSV document."""
    sel = await selection(update, context)
    data = await call(campaign.export_csv, ctx_of(context), sel.id)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    name = named(sel)
    filename = f"leads-{name}-{stamp}.csv" if name else f"leads-{stamp}.csv"
    caption = f"📎 The leads of campaign {name}" if name else "📎 All leads"
    if update.effective_message is not None:
        await update.effective_message.reply_document(
            document=data, filename=filename, caption=caption
        )


async def suppressions_cmd(update: Update, context: Ctx) -> None:
    """The suppression list, 20 entries a page, with ◀️ ▶️ buttons."""
    page = await call(suppressions.page, ctx_of(context), 0)
    await reply(
        update, fmt.suppressions_text(page, ctx_of(context).settings.tz), reply_markup=_pager(page)
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
        await reply(
            update,
            "Which entry? Send /unsuppress followed by an address or a domain, e.g. "
            "/unsuppress ana@acme.io — /suppressions shows the list.",
        )
        return
    entry = await call(suppressions.find, ctx_of(context), " ".join(context.args))
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Yes, remove it", callback_data=f"unsup:{entry.id}"),
                InlineKeyboardButton("✖️ Cancel", callback_data=f"unsupno:{entry.id}"),
            ]
        ]
    )
    await reply(
        update,
        f"Remove {entry.value} ({entry.kind}; {entry.reason or 'no reason noted'}) from the "
        "suppression list? New imports of it are then accepted again; leads already stopped "
        "stay stopped.",
        reply_markup=markup,
    )


# --- buttons: each gets the id after its prefix (see bot/handlers/buttons.py) ---------------------
async def stop_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """🛑 Stop: nothing more is sent to this lead."""
    lead = await call(leads.stop_lead, ctx_of(context), ident)
    return f"🛑 Nothing more will be sent to {lead.email}."


async def domain_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """🌐 Stop whole domain: first ask, saying what it would stop."""
    await q.answer()
    await _confirm_domain_stop(
        q, context, await call(leads.preview_domain_stop, ctx_of(context), ident)
    )
    return None


async def _confirm_domain_stop(q: CallbackQuery, context: Ctx, stop: leads.DomainStop) -> None:
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


async def domain_yes_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """✅ Yes, stop the domain: every lead there is stopped, later imports skipped."""
    domain, n = await call(leads.stop_domain, ctx_of(context), ident)
    await drop_buttons(q)
    return f"🌐 Nothing more will be sent to anyone at {domain} ({n} lead(s))."


async def cancel_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """✖️ Cancel on a confirmation: nothing changes, the buttons go."""
    await q.answer(CANCELLED)
    await drop_buttons(q, f"✖️ {CANCELLED}")
    return None


async def suppressions_page_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """◀️ ▶️ on the suppression list: show that page in place."""
    ctx = ctx_of(context)
    page = await call(suppressions.page, ctx, ident)
    await q.answer()
    with contextlib.suppress(Exception):  # "message is not modified" on a double tap
        await q.edit_message_text(
            fmt.suppressions_text(page, ctx.settings.tz), reply_markup=_pager(page)
        )
    return None


async def unsuppress_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """✅ Yes, remove it: the entry leaves the suppression list."""
    value = await call(suppressions.remove, ctx_of(context), ident)
    await drop_buttons(q)
    return f"✅ {value} is off the suppression list; new imports of it are accepted again."


async def status_list_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """A status under /leads: its first page, as a new message below the counts."""
    campaign_id, status, _ = words.parse_page_ref(ident)
    await q.answer()
    if q.message is not None:
        await _first_page(context, q.message.chat.id, campaign_id, status)
    return None


async def page_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """◀️ ▶️ under a list of leads: that page, in the same message."""
    ctx = ctx_of(context)
    campaign_id, status, number = words.parse_page_ref(ident)
    page = await call(listing.status_page, ctx, campaign_id, status, number)
    await show_in_place(q, context, words.page_text(page, ctx.clock.now()), words.pager(page))
    await q.answer()
    return None


async def interested_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """👍 Interested on a reply."""
    return await _mark(context, ident, "interested")


async def not_interested_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """👎 Not interested on a reply."""
    return await _mark(context, ident, "not interested")


async def _mark(context: Ctx, ident: int, interest: str) -> str:
    lead = await call(leads.set_interest, ctx_of(context), ident, interest)
    return f"Marked {lead.email} as {interest}."


async def delete_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """🗑 Delete: first ask, since it cannot be undone."""
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
    return None


async def delete_yes_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """Yes, delete: the lead and its history are gone."""
    email = await call(leads.delete_lead, ctx_of(context), ident)
    return f"🗑 Deleted {email}."


async def apply_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """Apply anyway on an unverified-sender notice: the held action, applied once."""
    # Imported on use, as the scheduler does: the inbox pipeline loads only when it is needed.
    from bot.messages.inbox import applied
    from engine.inbox.sync import apply_unverified

    return applied(await call(apply_unverified, ctx_of(context), ident))


async def verify_cmd(update: Update, context: Ctx) -> None:
    """Re-check the mail servers of the selected campaign's leads not emailed yet, showing the
    progress in one message."""
    msg = update.effective_message
    if msg is None:
        return
    sel = await selection(update, context)
    progress_msg = await msg.reply_text("🔎 Looking for the leads to check…")
    progress = ProgressMessage(progress_msg, asyncio.get_running_loop())

    def checking(done: int, total: int) -> None:
        progress.show(verification_words.recheck_progress_text(done, total), last=done >= total)

    found = await call(recheck.recheck_waiting_leads, ctx_of(context), sel.id, checking)
    await progress.finish(verification_words.recheck_text(found, sel.several))
