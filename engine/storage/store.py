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
    DEFAULT_CAMPAIGN,
    PRIMARY_MAILBOX,
    Campaign,
    CampaignSetting,
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


def campaign(
    session: Session,
    now: datetime,
    *,
    lock: bool = False,
    campaign_id: int = DEFAULT_CAMPAIGN,
) -> Campaign:
    """One campaign's row. The default campaign is made on first use (a database migrated
    before it had one); another campaign that is gone is an error for the caller."""
    row = session.get(Campaign, campaign_id, with_for_update=lock)
    if row is None and campaign_id == DEFAULT_CAMPAIGN:
        _create_once(
            session,
            Campaign,
            {
                "id": DEFAULT_CAMPAIGN,
                "name": "default",
                "name_key": "default",
                "state": CampaignState.STOPPED,
                "reason": "",
                "changed_at": now,
                "created_at": now,
            },
        )
        row = session.get(Campaign, campaign_id, with_for_update=lock)
    if row is None:
        raise LookupError(f"campaign {campaign_id} does not exist")
    return row


def set_campaign_state(
    session: Session,
    now: datetime,
    state: str,
    reason: Reason | None = None,
    *,
    campaign_id: int = DEFAULT_CAMPAIGN,
) -> Campaign:
    row = campaign(session, now, lock=True, campaign_id=campaign_id)
    row.state = state
    row.reason = reason.encode() if reason is not None else ""
    row.changed_at = now
    return row


def running_campaigns(session: Session) -> list[int]:
    """The ids of the running campaigns, in id order."""
    return list(
        session.scalars(
            select(Campaign.id).where(Campaign.state == CampaignState.RUNNING).order_by(Campaign.id)
        )
    )


def pause_running(session: Session, now: datetime, reason: Reason) -> list[int]:
    """Pause every running campaign (nothing can send: no usable mailbox, or the outcomes
    cannot be recorded). Returns the ids paused; a single-campaign setup pauses its one."""
    campaign(session, now)  # the default exists
    ids = list(
        session.scalars(
            select(Campaign.id)
            .where(Campaign.state == CampaignState.RUNNING)
            .order_by(Campaign.id)
            .with_for_update()
        )
    )
    for cid in ids:
        set_campaign_state(session, now, CampaignState.PAUSED, reason, campaign_id=cid)
    return ids


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
    """The environment's settings with the chat's overrides on top. ``timezone`` (the day's
    boundary: caps, the midnight summary) is the default campaign's, as it was when there was
    one campaign; other campaigns without their own zone take it too."""
    found = overrides(session)
    zone = session.get(CampaignSetting, (DEFAULT_CAMPAIGN, "timezone"))
    if zone is not None:
        found["timezone"] = zone.value
    return apply_overrides(base, found)


def save_override(session: Session, now: datetime, key: str, value: str) -> None:
    row = session.get(SettingOverride, key)
    if row is None:
        session.add(SettingOverride(key=key, value=value, updated_at=now))
    else:
        row.value = value
        row.updated_at = now


def campaign_overrides(session: Session, campaign_id: int) -> dict[str, str]:
    """A campaign's own setting values (``/settings`` with it selected)."""
    return {
        o.key: o.value
        for o in session.scalars(
            select(CampaignSetting).where(CampaignSetting.campaign_id == campaign_id)
        )
    }


def save_campaign_setting(
    session: Session, now: datetime, campaign_id: int, key: str, value: str
) -> None:
    row = session.get(CampaignSetting, (campaign_id, key))
    if row is None:
        session.add(CampaignSetting(campaign_id=campaign_id, key=key, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now


def template(
    session: Session, name: str, *, campaign_id: int = DEFAULT_CAMPAIGN, variant: str = "A"
) -> Template:
    """A campaign's template for step ``name``, variant ``variant``: its stored text, or the
    shipped default (variant A only has one)."""
    row = session.get(TemplateRow, (campaign_id, name, variant))
    if row is None:
        return default_template(name)
    return Template(name=name, subject=row.subject, body=row.body)


def template_variants(session: Session, campaign_id: int) -> dict[str, list[str]]:
    """Step name -> its variant letters (A first, then in order) for a campaign's stored
    templates; a step with no stored row has only the shipped A."""
    found: dict[str, list[str]] = {}
    rows = session.execute(
        select(TemplateRow.name, TemplateRow.variant)
        .where(TemplateRow.campaign_id == campaign_id)
        .order_by(TemplateRow.name, TemplateRow.variant)
    )
    for name, variant in rows:
        found.setdefault(name, []).append(variant)
    for letters in found.values():
        if "A" not in letters:
            letters.insert(0, "A")
    return found


def save_template(
    session: Session,
    now: datetime,
    t: Template,
    *,
    campaign_id: int = DEFAULT_CAMPAIGN,
    variant: str = "A",
) -> None:
    row = session.get(TemplateRow, (campaign_id, t.name, variant))
    if row is None:
        session.add(
            TemplateRow(
                campaign_id=campaign_id,
                name=t.name,
                variant=variant,
                subject=t.subject,
                body=t.body,
                updated_at=now,
            )
        )
    else:
        row.subject, row.body, row.updated_at = t.subject, t.body, now


def delete_template(session: Session, name: str, *, campaign_id: int, variant: str) -> bool:
    row = session.get(TemplateRow, (campaign_id, name, variant))
    if row is None:
        return False
    session.delete(row)
    return True


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
