"""A plain text message (no command, no file): a one-line pointer to /help, so a message
typed to the bot is never met with silence."""

from __future__ import annotations

from telegram import Update

from bot.handlers.common import Ctx, reply

HINT = "I act on commands: /help lists them, /status shows the dashboard."


async def plain_text_msg(update: Update, context: Ctx) -> None:
    """Any text that is not a command: the hint."""
    await reply(update, HINT)
