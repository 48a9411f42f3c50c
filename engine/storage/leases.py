"""Leases: singleton work (the reply check, the midnight reset, notification delivery, Telegram
polling) runs on one replica at a time. A compare-and-set UPDATE decides; no coordinator.
Every TTL is the caller's parameter (their values: engine/intervals.py)."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from engine.context import EngineContext
from engine.storage.models import Lease, Replica


def try_acquire(ctx: EngineContext, name: str, ttl: float) -> bool:
    """Take or renew the lease ``name`` for ``ttl`` seconds. True if this process holds it."""
    now = ctx.clock.now()
    expires = now + timedelta(seconds=ttl)
    with ctx.db.transaction() as session:
        res = session.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.owner == ctx.owner, Lease.expires_at < now))
            .values(owner=ctx.owner, expires_at=expires)
        )
        if res.rowcount:  # type: ignore[attr-defined]
            return True
    try:
        with ctx.db.transaction() as session:
            held = session.get(Lease, name)
            if held is not None:
                # A holder on this host that was killed (kill -9, OOM) cannot renew: take the
                # lease now rather than waiting out its TTL (Telegram polling, recovery...).
                if not owner_is_gone(held.owner, ctx.owner):
                    return False
                res = session.execute(
                    update(Lease)
                    .where(Lease.name == name, Lease.owner == held.owner)
                    .values(owner=ctx.owner, expires_at=expires, acquired_at=now)
                )
                return bool(res.rowcount)  # type: ignore[attr-defined]
            session.add(Lease(name=name, owner=ctx.owner, expires_at=expires, acquired_at=now))
        return True
    except IntegrityError:
        return False  # another replica inserted it first


def holds(ctx: EngineContext, name: str) -> bool:
    """Whether this process holds the lease ``name`` now (a read; nothing is renewed)."""
    with ctx.db.transaction() as session:
        found = session.scalar(
            select(Lease.name).where(
                Lease.name == name, Lease.owner == ctx.owner, Lease.expires_at > ctx.clock.now()
            )
        )
        return found is not None


def heartbeat(ctx: EngineContext, started_at: datetime) -> None:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = session.get(Replica, ctx.owner)
        if row is None:
            session.add(
                Replica(
                    id=ctx.owner,
                    hostname=socket.gethostname()[:255],
                    pid=os.getpid(),
                    started_at=started_at,
                    heartbeat_at=now,
                )
            )
        else:
            row.heartbeat_at = now
        session.execute(delete(Replica).where(Replica.heartbeat_at < now - timedelta(hours=1)))


def leave(ctx: EngineContext) -> None:
    """On a clean shutdown: give up every lease and the replica row."""
    with ctx.db.transaction() as session:
        session.execute(delete(Lease).where(Lease.owner == ctx.owner))
        session.execute(delete(Replica).where(Replica.id == ctx.owner))


def owner_is_gone(owner: str, me: str) -> bool:
    """True if ``owner`` (host:pid:token) was a process on this host that no longer runs."""
    parts = owner.split(":")
    if len(parts) != 3 or owner == me:
        return False
    host, pid = parts[0], parts[1]
    if host != socket.gethostname()[:40] or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True  # same pid, other token: an earlier incarnation (e.g. a restarted container)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
