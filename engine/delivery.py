"""Delivering pending notifications to the operator: claimed, handed to the notifier, settled.
Exactly once each, across replicas (a compare-and-set claim with an expiry)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from engine.context import EngineContext
from engine.notify import Notification, Notifier, NotifierError
from engine.storage.models import PendingNotification

log = logging.getLogger(__name__)


# How often a claimant picks again after others took every row it picked.
CLAIM_PICKS = 5


async def deliver_notifications(
    ctx: EngineContext,
    notifier: Notifier,
    *,
    limit: int = 50,
    claim_ttl: float | None = None,
) -> int:
    """Hand undelivered notifications to the notifier, exactly once each.

    Rows are claimed first (owner + expiry, committed) by a compare-and-set UPDATE; only rows
    this call claimed are sent. Then they are marked delivered, or released for the next try
    if the notifier failed. A claimant that died leaves its rows to whoever comes after the
    claim expired (``claim_ttl`` seconds, by default ``ctx.intervals.notification_claim``)."""
    ttl = ctx.intervals.notification_claim if claim_ttl is None else claim_ttl
    token = f"{ctx.owner}:{secrets.token_hex(3)}"[:100]

    batch = await asyncio.to_thread(_claim, ctx, token, limit, ttl)
    if not batch:
        return 0
    try:
        await notifier.deliver(batch)
    except NotifierError as e:
        await asyncio.to_thread(_settle, ctx, token, [n.id for n in batch], str(e))
        log.warning("notification delivery failed (%s); will retry", e)
        return 0
    await asyncio.to_thread(_settle, ctx, token, [n.id for n in batch], None)
    return len(batch)


def _claim(ctx: EngineContext, token: str, limit: int, ttl: float) -> list[Notification]:
    """Claim (committed) up to ``limit`` free rows for ``token``; the rows it got."""
    now = ctx.clock.now()
    free = and_(
        PendingNotification.delivered_at.is_(None),
        or_(
            PendingNotification.claim_owner.is_(None),
            PendingNotification.claim_expires_at < now,
        ),
    )
    # On PostgreSQL concurrent claimants skip each other's locked rows. On SQLite two
    # claimants may pick the same free rows before one of them writes: the loser claims
    # nothing and picks again, so it takes the next rows instead of giving up.
    for _ in range(CLAIM_PICKS):
        with ctx.db.transaction() as session:
            ids = list(
                session.scalars(
                    select(PendingNotification.id)
                    .where(free)
                    .order_by(PendingNotification.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return []
            res = session.execute(
                update(PendingNotification)
                .where(PendingNotification.id.in_(ids), free)
                .values(claim_owner=token, claim_expires_at=now + timedelta(seconds=ttl))
                .execution_options(synchronize_session=False)
            )
        if res.rowcount:  # type: ignore[attr-defined]
            break
    else:
        return []
    with ctx.db.transaction() as session:
        rows = session.scalars(
            select(PendingNotification)
            .where(PendingNotification.id.in_(ids), PendingNotification.claim_owner == token)
            .order_by(PendingNotification.id)
        )
        return [
            Notification(r.id, r.kind, r.text, dict(r.payload or {}), r.created_at) for r in rows
        ]


def _settle(ctx: EngineContext, token: str, ids: list[int], error: str | None) -> None:
    """Delivered (``error`` None) or released for the next try, for the rows ``token`` holds."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        mine = select(PendingNotification).where(
            PendingNotification.id.in_(ids), PendingNotification.claim_owner == token
        )
        for item in session.scalars(mine):
            item.attempts = (item.attempts or 0) + 1
            item.claim_owner = None
            item.claim_expires_at = None
            if error is None:
                item.delivered_at = now
            else:
                item.last_error = error[:500]
