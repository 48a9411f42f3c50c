"""/system: the service's own machinery, for whoever runs it — the replicas and their
heartbeats, the leases and who holds them, each job's last runs, the release and the kind of
database. /status keeps to the campaign; these internals live here so that it stays short."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from engine import __version__
from engine.context import EngineContext
from engine.storage.models import JobRun, Lease, Replica

REPLICAS_SHOWN = 10  # the most recent heartbeats; older rows are counted, not listed


@dataclass(frozen=True)
class ReplicaLine:
    id: str  # host:pid:suffix, as /health's ``replica``
    started_at: datetime
    heartbeat_at: datetime
    alive: bool  # its heartbeat is recent enough (``intervals.replica_live``)


@dataclass(frozen=True)
class LeaseLine:
    name: str
    owner: str  # the replica that took it last
    expires_at: datetime
    held: bool  # not expired yet: the owner still holds it


@dataclass(frozen=True)
class JobLine:
    """One scheduler job's record. The error's text is left out on purpose: it may quote a
    server's answer, and /health does not show it either; the logs have it."""

    job: str
    last_success_at: datetime | None
    consecutive_failures: int
    last_error_at: datetime | None


@dataclass(frozen=True)
class SystemReport:
    now: datetime
    version: str
    database: str  # "sqlite" or "postgresql": the dialect, never the URL
    replicas: list[ReplicaLine]
    replicas_total: int  # rows in the table, listed or not
    leases: list[LeaseLine]
    jobs: list[JobLine]


def system_report(ctx: EngineContext) -> SystemReport:
    """Everything /system shows, read in one transaction."""
    now = ctx.clock.now()
    live = ctx.intervals.replica_live
    with ctx.db.transaction() as session:
        replicas = [
            ReplicaLine(
                r.id, r.started_at, r.heartbeat_at, (now - r.heartbeat_at).total_seconds() < live
            )
            for r in session.scalars(
                select(Replica).order_by(Replica.heartbeat_at.desc()).limit(REPLICAS_SHOWN)
            )
        ]
        total = int(session.scalar(select(func.count()).select_from(Replica)) or 0)
        leases = [
            LeaseLine(le.name, le.owner, le.expires_at, le.expires_at > now)
            for le in session.scalars(select(Lease).order_by(Lease.name))
        ]
        jobs = [
            JobLine(j.job, j.last_success_at, j.consecutive_failures, j.last_error_at)
            for j in session.scalars(select(JobRun).order_by(JobRun.job))
        ]
    return SystemReport(
        now=now,
        version=__version__,
        database=ctx.db.engine.dialect.name,
        replicas=replicas,
        replicas_total=total,
        leases=leases,
        jobs=jobs,
    )
