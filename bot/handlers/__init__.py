"""The Telegram handlers, one module per concern; ``register`` below is all the wiring.

- access: only admins, only in a private chat (runs before everything else)
- campaigns: /campaigns /campaign (select, new, rename, delete) and the buttons on campaigns
- dashboard: /status and /start (the dashboard with its buttons), /system
- campaign: /help, the commands on the selected campaign (/run /pause /stop /settings
  /templates /template /test) and /uncertain
- leads: /leads (and /leads STATUS, paged), /lead, /lead_ID, /find, /verify, /export, /suppressions,
  /unsuppress and the buttons on leads, lists and domains
- mailboxes: /mailbox /mailboxes, a CSV of mailboxes (caption /mailboxes), the mailbox buttons
- upload: a CSV or Excel document, or a link to one (a Google Sheet), verified and imported
  with progress (progress: the edited message)
- inbox: the buttons under a reply that act on the reply (full text, ➕ Add, calendar link)
- answers: answering a lead from the chat (✍️ Reply, the draft, 📨 Send); any other plain
  text with an http(s) link imports the list it points to (upload.link_msg), and the rest
  gets the one-line hint of hint.py
- buttons: the table from a button's prefix to its action
- errors: what the operator sees when a handler fails
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.handlers import answers, campaign, campaigns, dashboard, leads, mailboxes, stats
from bot.handlers.access import admin_gate
from bot.handlers.buttons import button
from bot.handlers.errors import error_handler
from bot.handlers.upload import document_msg


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """All the wiring, top to bottom."""
    mailboxes.guard_logs()  # before any update can be logged
    app.add_handler(TypeHandler(Update, admin_gate), group=-1)
    app.add_handler(CommandHandler("start", dashboard.start_cmd))
    app.add_handler(CommandHandler("help", campaign.help_cmd))
    app.add_handler(CommandHandler("campaigns", campaigns.campaigns_cmd))
    app.add_handler(CommandHandler("campaign", campaigns.campaign_cmd))
    app.add_handler(CommandHandler("stats", stats.stats_cmd))
    app.add_handler(CommandHandler("status", dashboard.status_cmd))
    app.add_handler(CommandHandler("system", dashboard.system_cmd))
    app.add_handler(CommandHandler("run", campaign.run_cmd))
    app.add_handler(CommandHandler("pause", campaign.pause_cmd))
    app.add_handler(CommandHandler("stop", campaign.stop_cmd))
    app.add_handler(CommandHandler("leads", leads.leads_cmd))
    app.add_handler(CommandHandler("lead", leads.lead_cmd))
    app.add_handler(CommandHandler("find", leads.find_cmd))
    app.add_handler(MessageHandler(filters.Regex(leads.LEAD_SHORTCUT), leads.lead_shortcut_msg))
    app.add_handler(CommandHandler("verify", leads.verify_cmd))
    app.add_handler(CommandHandler("settings", campaign.settings_cmd))
    app.add_handler(CommandHandler("export", leads.export_cmd))
    app.add_handler(CommandHandler("templates", campaign.templates_cmd))
    app.add_handler(CommandHandler("template", campaign.template_cmd))
    app.add_handler(CommandHandler("test", campaign.test_cmd))
    app.add_handler(CommandHandler("uncertain", campaign.uncertain_cmd))
    app.add_handler(CommandHandler("suppressions", leads.suppressions_cmd))
    app.add_handler(CommandHandler("unsuppress", leads.unsuppress_cmd))
    app.add_handler(CommandHandler("mailboxes", mailboxes.mailboxes_cmd))
    app.add_handler(CommandHandler("mailbox", mailboxes.mailbox_cmd))
    app.add_handler(
        MessageHandler(
            filters.Document.ALL & filters.CaptionRegex(mailboxes.CAPTION),
            mailboxes.mailboxes_csv_msg,
        )
    )
    app.add_handler(MessageHandler(filters.Document.ALL, document_msg))
    app.add_handler(CallbackQueryHandler(button))
    app.add_handler(MessageHandler(filters.COMMAND, campaign.help_cmd))
    # A text that is not a command: the answer awaited after ✍️ Reply, else a link to a lead
    # list to import, else a hint.
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, answers.text_msg))
    app.add_handler(
        MessageHandler(
            filters.Sticker.ALL
            | filters.PHOTO
            | filters.VOICE
            | filters.VIDEO
            | filters.VIDEO_NOTE
            | filters.AUDIO
            | filters.ANIMATION
            | filters.LOCATION
            | filters.CONTACT,
            answers.not_text_msg,
        )
    )
    app.add_error_handler(error_handler)
