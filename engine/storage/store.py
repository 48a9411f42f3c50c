"""Small reads and writes shared by the use-cases: singleton rows, overrides, templates,
suppressions. Every function takes the caller's session; none commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.config import Settings, apply_overrides
from engine.reasons import Reason
from engine.states import CampaignState
from engine.storage.models import (
    PRIMARY_MAILBOX,
    Campaign,
    MailboxState,
    OutboundMessage,
    SettingOverride,
    Suppression,
    TemplateRow,
)
from engine.templates import Template, default_template

RUNNING, PAUSED, STOPPED = (
    CampaignState.RUNNING,
    CampaignState.PAUSED,
    CampaignState.STOPPED,
)  # aliases


def _create_once(session: Session, model: type[Any], values: dict[str, Any]) -> None:
    """Insert a singleton row unless it exists: replicas (or threads) may race to create it."""
    dialect = session.get_bind().dialect.name
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert_(model).values(**values).on_conflict_do_nothing())


def campaign(session: Session, now: datetime, *, lock: bool = False) -> Campaign:
    row = session.get(Campaign, 1, with_for_update=lock)
    if row is None:
        _create_once(
            session,
            Campaign,
            {"id": 1, "state": CampaignState.STOPPED, "reason": "", "changed_at": now},
        )
        row = session.get(Campaign, 1, with_for_update=lock)
        assert row is not None
    return row


def set_campaign_state(
    session: Session, now: datetime, state: str, reason: Reason | None = None
) -> Campaign:
    row = campaign(session, now, lock=True)
    row.state = state
    row.reason = reason.encode() if reason is not None else ""
    row.changed_at = now
    return row


def mailbox(
    session: Session, now: datetime, *, lock: bool = False, mailbox_id: int = PRIMARY_MAILBOX
) -> MailboxState:
    """The pacing and account state of one mailbox (made on first use)."""
    row = session.get(MailboxState, mailbox_id, with_for_update=lock)
    if row is None:
        _create_once(
            session,
            MailboxState,
            {
                "id": mailbox_id,
                "batch_count": 0,
                "blocked_reason": "",
                "retry_failures": 0,
                "recipient_errors": {},
                "sent_copy_check": "unknown",
                "updated_at": now,
            },
        )
        row = session.get(MailboxState, mailbox_id, with_for_update=lock)
        assert row is not None
    return row


def sent_from(mailbox_id: int) -> ColumnElement[bool]:
    """Outbound rows of one mailbox: rows without one are mailbox 1's (written before there
    were mailboxes)."""
    clause = OutboundMessage.mailbox_id == mailbox_id
    if mailbox_id == PRIMARY_MAILBOX:
        return or_(clause, OutboundMessage.mailbox_id.is_(None))
    return clause


def overrides(session: Session) -> dict[str, str]:
    return {o.key: o.value for o in session.scalars(select(SettingOverride))}


def effective_settings(session: Session, base: Settings) -> Settings:
    """The environment's settings with the chat's overrides on top."""
    return apply_overrides(base, overrides(session))


def save_override(session: Session, now: datetime, key: str, value: str) -> None:
    row = session.get(SettingOverride, key)
    if row is None:
        session.add(SettingOverride(key=key, value=value, updated_at=now))
    else:
        row.value = value
        row.updated_at = now


def template(session: Session, name: str) -> Template:
    row = session.get(TemplateRow, name)
    if row is None:
        return default_template(name)
    return Template(name=name, subject=row.subject, body=row.body)


def save_template(session: Session, now: datetime, t: Template) -> None:
    row = session.get(TemplateRow, t.name)
    if row is None:
        session.add(TemplateRow(name=t.name, subject=t.subject, body=t.body, updated_at=now))
    else:
        row.subject, row.body, row.updated_at = t.subject, t.body, now


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


def suppressed(session: Session, email: str) -> Suppression | None:
    """The suppression entry (address or whole domain) that forbids emailing ``email``."""
    key = email.strip().lower()
    return session.scalars(
        select(Suppression).where(Suppression.value.in_([key, email_domain(key)])).limit(1)
    ).first()


def suppressed_values(session: Session, values: Iterable[str]) -> set[str]:
    """Which of ``values`` (lower-cased addresses or domains) are on the suppression list."""
    vals = list(set(values))
    found: set[str] = set()
    for i in range(0, len(vals), 500):
        chunk = vals[i : i + 500]
        found.update(session.scalars(select(Suppression.value).where(Suppression.value.in_(chunk))))
    return found


def suppress(session: Session, now: datetime, value: str, kind: str, reason: str) -> bool:
    value = value.strip().lower()
    if session.scalars(select(Suppression).where(Suppression.value == value)).first():
        return False
    session.add(Suppression(value=value, kind=kind, reason=reason[:200], created_at=now))
    return True
