"""Every inline button is ``prefix:id``; the prefix picks its action from one table."""

from __future__ import annotations

from telegram import Update

from bot.handlers import answers, campaign, campaigns, dashboard, inbox, leads, mailboxes
from bot.handlers.common import ButtonAction, Ctx

ACTIONS: dict[str, ButtonAction] = {
    # answering a lead from the chat: on a reply notification, the prompt and the preview
    "rpl": answers.reply_button,
    "dsend": answers.send_button,
    "dcancel": answers.cancel_button,
    # a reply's intent label, and its correction
    "lbl": answers.label_button,
    "lblset": answers.label_set_button,
    # on a reply notification and on /lead
    "stop": leads.stop_button,
    "dom": leads.domain_button,
    "domyes": leads.domain_yes_button,
    "domno": leads.cancel_button,
    "int": leads.interested_button,
    "notint": leads.not_interested_button,
    "del": leads.delete_button,
    "delyes": leads.delete_yes_button,
    # on an unverified-sender notice
    "apply": leads.apply_button,
    # on a reply notification: the reply's text, a contact it names, the calendar answer (ask)
    "full": inbox.full_text_button,
    "ref": inbox.referral_button,
    "cal": inbox.calendar_button,
    # on /leads (a status: its first page) and a list of leads (◀️ ▶️); the id packs the
    # campaign, the status and the page (bot/messages/leads.py, page_ref)
    "ls": leads.status_list_button,
    "lp": leads.page_button,
    # on the dashboard (/status, /start); the id is the campaign it shows
    "drun": dashboard.run_button,
    "dpause": dashboard.pause_button,
    "dref": dashboard.refresh_button,
    "dstats": campaigns.stats_button,
    "dleads": dashboard.leads_button,
    "dmbox": dashboard.mailboxes_button,
    # on /suppressions and /unsuppress
    "supp": leads.suppressions_page_button,
    "unsup": leads.unsuppress_button,
    "unsupno": leads.cancel_button,
    # on /uncertain
    "resend": campaign.resend_button,
    "wassent": campaign.was_sent_button,
    # on /mailboxes and /mailbox remove
    "mbpause": mailboxes.pause_button,
    "mbresume": mailboxes.resume_button,
    "mbrm": mailboxes.remove_button,
    "mbrmyes": mailboxes.remove_yes_button,
    "mbrmstop": mailboxes.remove_stop_button,
    "mbrmnew": mailboxes.remove_restart_button,
    "mbrmno": leads.cancel_button,
    # on /campaigns and /campaign delete
    "cpsel": campaigns.select_button,
    "cprun": campaigns.run_button,
    "cppause": campaigns.pause_button,
    "cpstats": campaigns.stats_button,
    "cpdel": campaigns.delete_yes_button,
    "cpdelno": leads.cancel_button,
}


async def button(update: Update, context: Ctx) -> None:
    """Any inline button: run its action; a text it returns is the answer, also posted."""
    q = update.callback_query
    if q is None or not q.data:
        return
    prefix, _, arg = q.data.partition(":")
    action = ACTIONS.get(prefix)
    try:
        ident = int(arg)
    except ValueError:
        action = None
    if action is None:
        await q.answer("Unknown button.")
        return
    text = await action(q, context, ident)
    if text is None:
        return
    await q.answer(text[:190])
    if q.message is not None:
        await context.bot.send_message(q.message.chat.id, text)
