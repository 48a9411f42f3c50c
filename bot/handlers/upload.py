"""A CSV or Excel workbook (.xlsx) of leads sent as a document: refused early if it cannot be one, imported with a
progress message that is edited while its domains are verified and its rows go in, and ends
with the report."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Document, Update

from bot import format as fmt
from bot.handlers.common import Ctx, call, ctx_of, reply, selection
from bot.handlers.progress import ProgressMessage, edit
from bot.messages import verification as verification_words
from engine.campaigns.views import Selection
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.leads import imports, sheet_links
from engine.leads import service as leads
from engine.leads.csv_import import MAX_FILE_BYTES

log = logging.getLogger(__name__)


async def document_msg(update: Update, context: Ctx) -> None:
    """Import a CSV or an Excel workbook of leads (told apart by content, in the engine)."""
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


async def link_msg(update: Update, context: Ctx, url: str) -> None:
    """Import the list a link serves (a Google Sheet's CSV export, or a CSV/XLSX file): the
    same import as an uploaded document, after the download."""
    msg = update.effective_message
    if msg is None:
        return
    sel = await selection(update, context)
    progress_msg = await msg.reply_text("⏳ Downloading the list…")
    ctx = ctx_of(context)
    try:
        got = await call(sheet_links.download, url)
    except UserInputError as e:
        await edit(progress_msg, f"❌ {e}\nNothing was imported.")
        return
    await edit(progress_msg, "⏳ Reading the file…")
    progress = _Progress(progress_msg, asyncio.get_running_loop())
    import_id = await call(
        imports.begin, ctx, got.name, progress_msg.chat_id, progress_msg.message_id
    )
    await _import(ctx, got.data, import_id, progress, sel)


def _refusal(doc: Document) -> str | None:
    """Why this file is not even downloaded, or None."""
    name = (doc.file_name or "").lower()
    if doc.file_size and doc.file_size > MAX_FILE_BYTES:
        return f"That file is {doc.file_size / 1e6:.1f} MB; the limit is {MAX_FILE_BYTES // (1024 * 1024)} MB. Split it into smaller CSV files and send them one by one."
    if name.endswith((".numbers", ".ods")):
        return "That spreadsheet format can't be read here. Save it as .xlsx or CSV (File → Export → Excel or CSV) and send it again."
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
            verifying=progress.domains,
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


class _Progress(ProgressMessage):
    """The import's progress callbacks, called from the worker thread: the rows stored, and
    before that the domains looked up while the import waits for DNS."""

    def __call__(self, done: int, total: int) -> None:
        self.show(f"⏳ Importing… {done}/{total} rows", last=done >= total)

    def domains(self, done: int, total: int) -> None:
        self.show(verification_words.import_verifying_text(done, total), last=done >= total)
