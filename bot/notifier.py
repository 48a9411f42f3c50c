"""The engine's Notifier, implemented on the Telegram Bot API."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.messages import render
from bot.messages.buttons import apply_anyway_button, reply_buttons
from engine.notify import Notification, NotifierError
from engine.states import NoticeKind

__all__ = ["TelegramNotifier", "apply_anyway_button", "compose", "reply_buttons"]

log = logging.getLogger(__name__)
MAX_TEXT = 4000
# Telegram allows about one message per second per chat.
CHAT_GAP_SECONDS = 1.0


# Standalone notifications of these kinds share one grouped message when more than
# BURST of them arrive at once (each keeps its own message otherwise); other standalone ones
# (an unverified sender's "Apply anyway") always get their own.
BURST_KINDS = frozenset({NoticeKind.REPLY})
BURST = 5


def compose(batch: list[Notification]) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """The Telegram messages for a batch, from each notification's words (bot.messages.render):
    standalone ones get a message each with their buttons unless there is a burst; everything
    else is grouped into one message (a standalone one in a group by its first line)."""
    shown = [(n, render(n)) for n in batch]
    own = [(n, r) for n, r in shown if r.standalone and n.kind not in BURST_KINDS]
    bursty = [(n, r) for n, r in shown if r.standalone and n.kind in BURST_KINDS]
    grouped = [r.text for _, r in shown if not r.standalone]
    if len(bursty) <= BURST:
        own += bursty
    else:
        grouped = [r.line for _, r in bursty] + grouped
    messages = [(r.text[:MAX_TEXT], r.buttons) for _, r in own]
    chunk = ""
    for line in grouped:
        if chunk and len(chunk) + len(line) + 2 > MAX_TEXT:
            messages.append((chunk, None))
            chunk = ""
        chunk = f"{chunk}\n\n{line}" if chunk else line
    if chunk:
        messages.append((chunk[:MAX_TEXT], None))
    return messages


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
