"""The imports ledger: an import whose process is gone is reported once, in its chat (its
progress message edited, or a new message if that fails); a live replica's import is left
alone; an import stores all its rows or none. Real PTB bot, fake Bot API, both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import report_interrupted_imports
from engine.clock import FakeClock
from engine.leads import imports
from engine.leads import service as leads
from engine.storage.models import ImportRun, Lead, Replica
from tests.e2e.test_faults import leads_csv
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, RunningBot

running_bot = bot_harness.running_bot

NOTICE = "❌ The import of {} was interrupted; nothing was imported. Send it again."


def add_run(bot: RunningBot, owner: str, message_id: int | None, name: str = "a.csv") -> int:
    with bot.ctx.db.transaction() as session:
        run = ImportRun(
            file_name=name,
            chat_id=ADMIN,
            message_id=message_id,
            owner=owner,
            started_at=bot.ctx.clock.now(),
        )
        session.add(run)
        session.flush()
        return int(run.id)


def outcomes(bot: RunningBot) -> dict[str, str | None]:
    with bot.ctx.db.transaction() as session:
        return {r.file_name: r.outcome for r in session.scalars(select(ImportRun))}


def lead_count(bot: RunningBot) -> int:
    with bot.ctx.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Lead)) or 0)


async def test_it_edits_the_progress_message_of_an_import_whose_process_is_gone(
    running_bot: RunningBot,
) -> None:
    progress = await running_bot.app.bot.send_message(ADMIN, "⏳ Importing… 2000/100000 rows")
    add_run(running_bot, "somehost:1:dead01", progress.message_id, "big.csv")
    mark = running_bot.fake.mark()
    assert await report_interrupted_imports(running_bot.ctx, running_bot.app.bot) == 1
    notice = await running_bot.fake.wait_for_async("interrupted", chat_id=ADMIN, after=mark)
    assert (notice["method"], notice["message_id"]) == ("editMessageText", progress.message_id)
    assert notice["text"] == NOTICE.format("big.csv")
    assert await report_interrupted_imports(running_bot.ctx, running_bot.app.bot) == 0
    assert outcomes(running_bot) == {"big.csv": "interrupted"}


async def test_it_sends_a_new_message_when_the_progress_message_cannot_be_edited(
    running_bot: RunningBot,
) -> None:
    add_run(running_bot, "somehost:1:dead01", 987_654, "gone.csv")
    mark = running_bot.fake.mark()
    assert await report_interrupted_imports(running_bot.ctx, running_bot.app.bot) == 1
    notice = await running_bot.fake.wait_for_async("interrupted", chat_id=ADMIN, after=mark)
    assert (notice["method"], notice["text"]) == ("sendMessage", NOTICE.format("gone.csv"))


async def test_it_leaves_its_own_running_import_alone(running_bot: RunningBot) -> None:
    add_run(running_bot, running_bot.ctx.owner, None, "mine.csv")
    assert await report_interrupted_imports(running_bot.ctx, running_bot.app.bot) == 0
    assert outcomes(running_bot) == {"mine.csv": None}


async def test_a_live_replicas_import_is_reported_only_once_its_heartbeat_stops(
    running_bot: RunningBot, clock: FakeClock
) -> None:
    ctx = running_bot.ctx
    if ctx.db.is_sqlite:
        pytest.skip("SQLite serves one process: there is no other live replica")
    owner = "otherhost:4242:beef01"  # another machine: only its heartbeat tells
    with ctx.db.transaction() as session:
        now = ctx.clock.now()
        session.add(
            Replica(id=owner, hostname="otherhost", pid=4242, started_at=now, heartbeat_at=now)
        )
    add_run(running_bot, owner, None, "theirs.csv")
    assert await report_interrupted_imports(ctx, running_bot.app.bot) == 0
    clock.advance(timedelta(seconds=imports.REPLICA_GONE_SECONDS - 1))
    assert await report_interrupted_imports(ctx, running_bot.app.bot) == 0
    clock.advance(timedelta(seconds=2))
    mark = running_bot.fake.mark()
    assert await report_interrupted_imports(ctx, running_bot.app.bot) == 1
    await running_bot.fake.wait_for_async(NOTICE.format("theirs.csv"), chat_id=ADMIN, after=mark)


async def test_an_upload_is_recorded_and_marked_done_or_failed(running_bot: RunningBot) -> None:
    await running_bot.upload("good.csv", b"email\nana@acme.io\n", expect="Imported: 1")
    await running_bot.upload("bad.csv", b"name,company\nAna,Acme\n", expect="Nothing was imported")
    assert outcomes(running_bot) == {"good.csv": "done", "bad.csv": "failed"}
    assert await report_interrupted_imports(running_bot.ctx, running_bot.app.bot) == 0


async def test_an_import_that_fails_after_its_first_chunks_stores_nothing(
    running_bot: RunningBot,
) -> None:
    ctx = running_bot.ctx
    run_id = imports.begin(ctx, "half.csv", ADMIN, None)

    def progress(done: int, total: int) -> None:
        if done >= 2 * leads.CHUNK:  # two chunks are in the transaction already
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        await asyncio.to_thread(
            leads.import_csv,
            ctx,
            leads_csv(3 * leads.CHUNK + 10),
            progress=progress,
            import_id=run_id,
        )
    assert lead_count(running_bot) == 0
    assert outcomes(running_bot) == {"half.csv": None}
