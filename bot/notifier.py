"""The engine's Notifier, implemented on the Telegram Bot API."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.messages import render
from bot.messages.inbox import apply_anyway_button, reply_buttons
from engine.notify import Notification, NotifierError
from engine.states import NoticeKind

log = logging.getLogger(__name__)
MAX_TEXT = 4000
# Telegram allows about one message per second per chat.
CHAT_GAP_SECONDS = 1.0


def compose(batch: list[Notification]) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """Replies get a message each (with buttons) unless there is a burst; everything else is
    grouped into one message."""
    shown = [(n, render(n)) for n in batch]
    replies = [(n, r) for n, r in shown if n.kind == NoticeKind.REPLY]
    held = [(n, r) for n, r in shown if n.kind == NoticeKind.UNVERIFIED]
    others = [(n, r) for n, r in shown if n.kind not in (NoticeKind.REPLY, NoticeKind.UNVERIFIED)]
    messages: list[tuple[str, InlineKeyboardMarkup | None]] = [
        (r.text[:MAX_TEXT], r.buttons or apply_anyway_button(n.id)) for n, r in held
    ]
    if len(replies) <= 5:
        for n, r in replies:
            messages.append((r.text[:MAX_TEXT], r.buttons or _lead_buttons(n)))
    else:
        others = replies + others
    if others:
        chunk = ""
        for n, r in others:
            line = _grouped_line(n, r.line) if n.kind == NoticeKind.REPLY else r.text
            if chunk and len(chunk) + len(line) + 2 > MAX_TEXT:
                messages.append((chunk, None))
                chunk = ""
            chunk = f"{chunk}\n\n{line}" if chunk else line
        if chunk:
            messages.append((chunk[:MAX_TEXT], None))
    return messages


def _lead_buttons(n: Notification) -> InlineKeyboardMarkup | None:
    """The reply buttons of a reply row stored with text by an older release."""
    lead_id = n.payload.get("lead_id")
    return reply_buttons(int(lead_id)) if lead_id is not None else None


def _grouped_line(n: Notification, line: str) -> str:
    """A reply in a grouped message: its first paragraph (for rows stored with text by an
    older release) or its rendered line."""
    return n.text.split("\n\n")[0] if n.text else line


class TelegramNotifier:
    def __init__(self, bot: Bot, admin_ids: tuple[int, ...], *, ready: bool = True) -> None:
        self.bot = bot
        self.admin_ids = admin_ids
        self.ready = ready  # False until the bot has reached Telegram once

    async def deliver(self, batch: list[Notification]) -> None:
        if not self.ready:
            raise NotifierError("Telegram has not been reached yet")
        messages = compose(batch)
        failures: list[str] = []
        for chat_id in self.admin_ids:
            for i, (text, markup) in enumerate(messages):
                if i:
                    await asyncio.sleep(CHAT_GAP_SECONDS)
                try:
                    await self._send(chat_id, text, markup)
                except Forbidden:
                    log.warning("admin %s has blocked the bot or never started it", chat_id)
                    break
                except BadRequest as e:
                    log.warning("Telegram refused a notification for %s: %s", chat_id, e)
                except (NetworkError, TelegramError) as e:
                    failures.append(type(e).__name__)
                    break
        if failures:
            raise NotifierError(f"Telegram unreachable: {', '.join(sorted(set(failures)))}")

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
        try:
            await self.bot.send_message(chat_id, text, reply_markup=markup)
        except RetryAfter as e:
            delay = e.retry_after
            seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
            await asyncio.sleep(min(seconds, 30))
            await self.bot.send_message(chat_id, text, reply_markup=markup)
