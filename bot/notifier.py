"""The engine's Notifier, implemented on the Telegram Bot API."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.messages import render
from engine.notify import REPLY, UNVERIFIED, Notification, NotifierError

log = logging.getLogger(__name__)
MAX_TEXT = 4000
# Telegram allows about one message per second per chat.
CHAT_GAP_SECONDS = 1.0


def reply_buttons(lead_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("🛑 Stop this lead", callback_data=f"stop:{lead_id}"),
                InlineKeyboardButton("🌐 Stop whole domain", callback_data=f"dom:{lead_id}"),
            ],
            [
                InlineKeyboardButton("👍 Interested", callback_data=f"int:{lead_id}"),
                InlineKeyboardButton("👎 Not interested", callback_data=f"notint:{lead_id}"),
            ],
        ]
    )


def apply_anyway_button(notification_id: int) -> InlineKeyboardMarkup:
    """The button under an "⚠️ unverified sender" notice (callback data well within 64 bytes)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("Apply anyway", callback_data=f"apply:{notification_id}")]]
    )


def compose(batch: list[Notification]) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """Replies get a message each (with buttons) unless there is a burst; everything else is
    grouped into one message."""
    replies = [n for n in batch if n.kind == REPLY]
    held = [n for n in batch if n.kind == UNVERIFIED]
    others = [n for n in batch if n.kind not in (REPLY, UNVERIFIED)]
    messages: list[tuple[str, InlineKeyboardMarkup | None]] = [
        (n.text[:MAX_TEXT], apply_anyway_button(n.id)) for n in held
    ]
    if len(replies) <= 5:
        for n in replies:
            lead_id = n.payload.get("lead_id")
            markup = reply_buttons(int(lead_id)) if lead_id is not None else None
            messages.append((n.text[:MAX_TEXT], markup))
    else:
        others = replies + others
    if others:
        chunk = ""
        for n in others:
            line = n.text or render(n).line if n.kind != REPLY else n.text.split("\n\n")[0]
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
