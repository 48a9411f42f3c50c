"""One message that shows a long task's progress: edited in place as the engine reports from
its worker thread (at most every two seconds, and always at the end), then replaced by the
answer. The CSV upload and /verify use it."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future
from typing import Any

from telegram import Message

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 2.0


class ProgressMessage:
    """``show`` is called from the worker thread; the edit runs on the bot's event loop."""

    def __init__(self, message: Message, loop: asyncio.AbstractEventLoop) -> None:
        self._message = message
        self._loop = loop
        self._last = 0.0
        self._shown = ""
        self._edits: list[Future[None]] = []

    def show(self, text: str, *, last: bool = False) -> None:
        """Show ``text`` unless the previous edit is under two seconds old (``last``: show it
        anyway, it is the end of a phase)."""
        now = time.monotonic()
        if text == self._shown or (not last and now - self._last < PROGRESS_EVERY_SECONDS):
            return
        self._last, self._shown = now, text
        self._edits.append(asyncio.run_coroutine_threadsafe(edit(self._message, text), self._loop))

    async def finish(self, text: str) -> None:
        """The final answer, in place of the progress."""
        # A progress edit still in flight must not land after (and hide) the final answer.
        await asyncio.gather(*(asyncio.wrap_future(f) for f in self._edits), return_exceptions=True)
        await edit(self._message, text)


async def edit(message: Any, text: str) -> None:
    try:
        await message.edit_text(text[:4096])
    except Exception as e:  # noqa: BLE001 - "message is not modified" and the like
        log.debug("edit failed: %s", type(e).__name__)
