"""A CSV of leads sent as a document: refused early if it cannot be one, imported with a
progress message that is edited as rows go in and ends with the report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import Future
from typing import Any

from telegram import Document, Message, Update

from bot import format as fmt
from bot.handlers.common import Ctx, call, ctx_of, reply, selection
from engine.campaigns.views import Selection
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.leads import imports
from engine.leads import service as leads
from engine.leads.csv_import import MAX_FILE_BYTES

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 2.0


async def document_msg(update: Update, context: Ctx) -> None:
    """Import a CSV of leads."""
    msg = update.effective_message
    if msg is None or msg.document is None:
        return
    doc = msg.document
    refusal = _refusal(doc)
    if refusal is not None:
        await reply(update, refusal)
        return
    sel = await selection(update, context)
    progress_msg = await msg.reply_text("⏳ Reading the file…")
    file = await doc.get_file()
    data = bytes(await file.download_as_bytearray())
    progress = _Progress(progress_msg, asyncio.get_running_loop())
    ctx = ctx_of(context)
    import_id = await call(
        imports.begin,
        ctx,
        doc.file_name or "the file",
        progress_msg.chat_id,
        progress_msg.message_id,
    )
    await _import(ctx, data, import_id, progress, sel)


def _refusal(doc: Document) -> str | None:
    """Why this file is not even downloaded, or None."""
    name = (doc.file_name or "").lower()
    if doc.file_size and doc.file_size > MAX_FILE_BYTES:
        return f"That file is {doc.file_size / 1e6:.1f} MB; the limit is {MAX_FILE_BYTES // (1024 * 1024)} MB. Split it into smaller CSV files and send them one by one."
    if name.endswith((".xlsx", ".xls", ".numbers", ".ods")):
        return "That is a spreadsheet file, not CSV. Save it as CSV (File → Save as → CSV UTF-8) and send it again."
    return None


async def _import(
    ctx: EngineContext, data: bytes, import_id: int, progress: _Progress, sel: Selection
) -> None:
    """The leads go into the selected campaign."""
    try:
        report = await call(
            leads.import_csv,
            ctx,
            data,
            progress=progress,
            import_id=import_id,
            campaign_id=sel.id,
        )
    except UserInputError as e:
        await call(imports.finish, ctx, import_id, imports.FAILED)
        await progress.finish(f"❌ {e}\nNothing was imported.")
        return
    except Exception:
        # The import's transaction was rolled back (the error came out of it). A cancellation
        # is left alone: the import may still be running, and if the process dies it is
        # reported on the next start.
        with contextlib.suppress(Exception):
            await call(imports.finish, ctx, import_id, imports.FAILED)
        raise
    await progress.finish(fmt.import_text(report, sel.several))


class _Progress:
    """The import's progress callback: called from the worker thread, it edits the ⏳ message
    at most every two seconds (and always at the end) on the bot's event loop."""

    def __init__(self, message: Message, loop: asyncio.AbstractEventLoop) -> None:
        self._message = message
        self._loop = loop
        self._last = 0.0
        self._edits: list[Future[None]] = []

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < PROGRESS_EVERY_SECONDS:
            return
        self._last = now
        text = f"⏳ Importing… {done}/{total} rows"
        self._edits.append(asyncio.run_coroutine_threadsafe(_edit(self._message, text), self._loop))

    async def finish(self, text: str) -> None:
        """The final answer, in place of the progress."""
        # A progress edit still in flight must not land after (and hide) the final answer.
        await asyncio.gather(*(asyncio.wrap_future(f) for f in self._edits), return_exceptions=True)
        await _edit(self._message, text)


async def _edit(message: Any, text: str) -> None:
    try:
        await message.edit_text(text[:4096])
    except Exception as e:  # noqa: BLE001 - "message is not modified" and the like
        log.debug("edit failed: %s", type(e).__name__)
