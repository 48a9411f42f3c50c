"""The imports ledger: every CSV import from the chat is recorded when it starts. Its leads are
stored in the same transaction that marks it finished (``leads.import_csv``), so an import that
never finished stored nothing, and the next start can say so instead of leaving "Importing…"
on screen for ever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.storage import leases
from engine.storage.models import ImportRun, Replica

DONE, FAILED, INTERRUPTED = "done", "failed", "interrupted"
# A replica whose heartbeat is older than this is taken for gone (it beats every 15 s).
REPLICA_GONE_SECONDS = 120.0


@dataclass(frozen=True)
class Interrupted:
    id: int
    file_name: str
    chat_id: int
    message_id: int | None


def begin(ctx: EngineContext, file_name: str, chat_id: int, message_id: int | None) -> int:
    """Record an import that is starting (committed before any row is read)."""
    with ctx.db.transaction() as session:
        run = ImportRun(
            file_name=file_name[:255],
            chat_id=chat_id,
            message_id=message_id,
            owner=ctx.owner,
            started_at=ctx.clock.now(),
        )
        session.add(run)
        session.flush()
        return int(run.id)


def finish_in(session: Session, ctx: EngineContext, import_id: int, outcome: str) -> None:
    """Mark an import finished inside the caller's transaction."""
    session.execute(
        update(ImportRun)
        .where(ImportRun.id == import_id, ImportRun.finished_at.is_(None))
        .values(finished_at=ctx.clock.now(), outcome=outcome)
    )


def finish(ctx: EngineContext, import_id: int, outcome: str) -> None:
    with ctx.db.transaction() as session:
        finish_in(session, ctx, import_id, outcome)


def claim_interrupted(
    ctx: EngineContext, *, gone_after: float = REPLICA_GONE_SECONDS
) -> list[Interrupted]:
    """Imports whose process is gone without finishing them, each claimed (marked
    ``interrupted``, committed) by exactly one caller before it tells the operator."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        open_runs = list(
            session.scalars(
                select(ImportRun).where(
                    ImportRun.finished_at.is_(None), ImportRun.owner != ctx.owner
                )
            )
        )
        beats = {
            r.id: r.heartbeat_at
            for r in session.scalars(
                select(Replica).where(Replica.id.in_({r.owner for r in open_runs}))
            )
        }
    gone = []
    for run in open_runs:
        beat = beats.get(run.owner)
        if (
            ctx.db.is_sqlite  # one process per SQLite database: an earlier run left it
            or leases.owner_is_gone(run.owner, ctx.owner)
            or beat is None
            or now - beat > timedelta(seconds=gone_after)
        ):
            gone.append(run)
    claimed = []
    for run in gone:
        with ctx.db.transaction() as session:
            res = session.execute(
                update(ImportRun)
                .where(ImportRun.id == run.id, ImportRun.finished_at.is_(None))
                .values(finished_at=now, outcome=INTERRUPTED)
            )
            if res.rowcount:  # type: ignore[attr-defined]
                claimed.append(Interrupted(run.id, run.file_name, run.chat_id, run.message_id))
    return claimed
