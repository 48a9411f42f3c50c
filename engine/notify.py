"""Telling the operator. The engine writes notifications to an outbox table in the same
transaction as the event; a delivery job hands them to a ``Notifier`` (the bot implements it).
Nothing is dropped while Telegram is unreachable: undelivered rows stay and are retried."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.states import AlertCondition, NoticeKind
from engine.storage.models import Alert, PendingNotification


@dataclass(frozen=True)
class Notification:
    id: int
    kind: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


class NotifierError(Exception):
    """Delivery failed; the notifications are released and tried again later."""


class Notifier(Protocol):
    async def deliver(self, batch: list[Notification]) -> None:
        """Deliver a batch to every admin (grouping short events into one message is up to the
        implementation). Raise NotifierError if it did not go through."""
        ...


def emit(
    session: Session, now: datetime, kind: NoticeKind, payload: dict[str, Any] | None = None
) -> None:
    """Queue a notification inside the caller's transaction: a kind and a JSON-able payload.
    The words are the bot's (``bot/messages``); the engine writes none."""
    session.add(
        PendingNotification(kind=str(kind), text="", payload=dict(payload or {}), created_at=now)
    )


def raise_alert(
    session: Session,
    now: datetime,
    condition: AlertCondition | str,
    detail: dict[str, Any] | None = None,
    *,
    scope: str = "",
) -> bool:
    """Start a standing condition; the admins hear about it once. True if it was new.

    ``detail`` is a JSON-able payload (stored as JSON in ``alerts.detail`` and in the
    notification), rendered by the bot from the condition. ``scope`` keeps one mailbox's
    condition apart from another's (``mailbox:N``; empty for the whole service)."""
    condition = str(condition)
    alert = _row(session, now, condition, scope)
    alert.count = (alert.count or 0) + 1
    alert.updated_at = now
    if alert.active:
        return False
    alert.active = True
    alert.since = now
    payload = dict(detail or {})
    alert.detail = json.dumps(payload, sort_keys=True, default=str)
    emit(session, now, NoticeKind.ALERT, {"condition": condition, **payload})
    return True


def _row(session: Session, now: datetime, condition: str, scope: str) -> Alert:
    """The condition's row, locked; made (inactive) on first use."""
    alert = session.get(Alert, (condition, scope), with_for_update=True)
    if alert is None:
        alert = Alert(
            condition=condition, scope=scope, active=False, detail="", count=0, updated_at=now
        )
        session.add(alert)
    return alert


def failed_in_a_row(
    session: Session,
    now: datetime,
    condition: AlertCondition | str,
    detail: dict[str, Any] | None = None,
    *,
    scope: str = "",
    after: int,
) -> bool:
    """One more failure in a row of a condition the admins hear about only once it has failed
    ``after`` times in a row (one mailbox's reply check, say). The failures are counted on the
    condition's row, which stays inactive until then. True if the alert was raised now."""
    alert = _row(session, now, str(condition), scope)
    if alert.active or (alert.count or 0) + 1 >= after:
        return raise_alert(session, now, condition, detail, scope=scope)
    alert.count = (alert.count or 0) + 1
    alert.updated_at = now
    return False


def works_again(
    session: Session,
    now: datetime,
    condition: AlertCondition | str,
    detail: dict[str, Any] | None = None,
    *,
    scope: str = "",
) -> bool:
    """The counterpart of :func:`failed_in_a_row`: the alert clears (told once) if it was
    raised, and failures counted toward it are forgotten either way. True if it was active."""
    if clear_alert(session, now, condition, detail, scope=scope):
        return True
    alert = session.get(Alert, (str(condition), scope), with_for_update=True)
    if alert is not None and alert.count:
        alert.count = 0
        alert.updated_at = now
    return False


def revise_alert(
    session: Session,
    now: datetime,
    condition: AlertCondition | str,
    detail: dict[str, Any] | None = None,
    *,
    scope: str = "",
) -> bool:
    """Like :func:`raise_alert`, but a condition already standing whose detail has changed is
    told again, once per change (e.g. "not yet known" has become "keeps no Sent copy"). True if
    the admins hear about it."""
    alert = session.get(Alert, (str(condition), scope), with_for_update=True)
    if alert is None or not alert.active:
        return raise_alert(session, now, condition, detail, scope=scope)
    payload = dict(detail or {})
    stored = json.dumps(payload, sort_keys=True, default=str)
    alert.count = (alert.count or 0) + 1
    alert.updated_at = now
    if alert.detail == stored:
        return False
    alert.detail = stored
    emit(session, now, NoticeKind.ALERT, {"condition": str(condition), **payload})
    return True


def clear_alert(
    session: Session,
    now: datetime,
    condition: AlertCondition | str,
    detail: dict[str, Any] | None = None,
    *,
    scope: str = "",
) -> bool:
    """End a standing condition; the admins hear it cleared, once. True if it was active.
    ``detail`` says why (e.g. ``{"by": "admin"}``)."""
    condition = str(condition)
    alert = session.get(Alert, (condition, scope), with_for_update=True)
    if alert is None or not alert.active:
        return False
    alert.active = False
    alert.count = 0
    alert.updated_at = now
    emit(session, now, NoticeKind.CLEARED, {"condition": condition, **dict(detail or {})})
    return True


def alert_payload(alert: Alert) -> dict[str, Any] | None:
    """The structured detail of an alert, or None for one stored as text (older rows)."""
    try:
        value = json.loads(alert.detail or "")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def active_alerts(session: Session) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.active.is_(True))))
