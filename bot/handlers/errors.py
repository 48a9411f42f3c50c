"""What the operator sees when a handler fails: the error's meaning, never a traceback."""

from __future__ import annotations

import html
import logging

from telegram import Update

from bot.handlers.common import Ctx, reply
from engine.errors import OutreachError, SendError, UserInputError

log = logging.getLogger(__name__)


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
            await safe_reply(update, f"❌ {err}")
            return
        if isinstance(err, SendError):
            await safe_reply(update, f"❌ The mail server said no: {err.text[:300]}")
            return
        if isinstance(err, OutreachError):
            await safe_reply(
                update, f"❌ {type(err).__name__}: that did not work; please try again shortly."
            )
            return
    log.error("unexpected error while handling an update", exc_info=err)
    redact = context.application.bot_data.get("redact", lambda s: s)
    brief = html.escape(redact(f"{type(err).__name__}: {err}"))[:300]
    if isinstance(update, Update):
        await safe_reply(
            update,
            f"⚠️ Something went wrong ({brief}). It was logged; nothing was changed by the failed step.",
        )


async def safe_reply(update: Update, text: str) -> None:
    """Reply, and only log if even that fails (the chat may be gone)."""
    try:
        await reply(update, text)
    except Exception:  # noqa: BLE001
        log.warning("could not deliver an error message")
