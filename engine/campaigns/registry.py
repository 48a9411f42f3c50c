"""The campaigns themselves: create, rename, delete, list, and each admin's selection.

A name is 1-40 letters, digits, ``-`` and ``_``, unique ignoring case. The selection is a row per
admin (``admin_selections``), so it survives restarts and is the same on every replica; an admin
who never chose one (or whose campaign was deleted) acts on the oldest campaign, ``default`` in a
database from before campaigns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from engine.campaigns.config import CAMPAIGN_KEYS
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.states import CampaignState, OutboundState
from engine.storage import store
from engine.storage.models import (
    DEFAULT_CAMPAIGN,
    AdminSelection,
    Campaign,
    CampaignSetting,
    Lead,
    OutboundMessage,
)

NAME_MAX = 40
# Words of the /campaign and /stats commands themselves: a campaign so named could not be chosen.
RESERVED = frozenset({"new", "rename", "delete", "all"})
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def check_name(raw: str) -> str:
    """A valid campaign name (stripped), or UserInputError saying what is allowed."""
    name = (raw or "").strip()
    if not 1 <= len(name) <= NAME_MAX or not set(name) <= _NAME_CHARS:
        raise UserInputError(
            f"{name[:60]!r} is not a usable campaign name: use 1–{NAME_MAX} letters, digits, "
            "- and _ (no spaces), e.g. /campaign new saas-founders"
        )
    if name.lower() in RESERVED:
        raise UserInputError(
            f"{name!r} is a word of the commands themselves ({', '.join(sorted(RESERVED))}); "
            "choose another name."
        )
    return name


def _by_key(session: Session, name: str, *, lock: bool = False) -> Campaign | None:
    stmt = select(Campaign).where(Campaign.name_key == name.strip().lower())
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def find(session: Session, name: str, *, lock: bool = False) -> Campaign:
    """The campaign called ``name`` (any case), or UserInputError naming the ones there are."""
    camp = _by_key(session, name, lock=lock)
    if camp is None:
        names = ", ".join(session.scalars(select(Campaign.name).order_by(Campaign.id)))
        raise UserInputError(
            f"There is no campaign called {name.strip()[:60]!r}. Campaigns: {names}. "
            "Create one with /campaign new NAME."
        )
    return camp


def selected_id(session: Session, admin_id: int | None) -> int:
    """The campaign ``admin_id`` acts on: their selection, else the oldest campaign."""
    if admin_id is not None:
        chosen = session.scalar(
            select(AdminSelection.campaign_id).where(AdminSelection.admin_id == admin_id)
        )
        if chosen is not None:
            return int(chosen)
    first = session.scalar(select(func.min(Campaign.id)))
    return int(first) if first is not None else DEFAULT_CAMPAIGN


def selected(ctx: EngineContext, admin_id: int | None) -> Campaign:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        return store.campaign(session, now, campaign_id=selected_id(session, admin_id))


def select_for(ctx: EngineContext, admin_id: int, name: str) -> Campaign:
    """``/campaign NAME``: the admin's commands act on it from now on."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        store.campaign(session, now)
        camp = find(session, name)
        _remember(session, now, admin_id, camp.id)
        return camp


def _remember(session: Session, now: datetime, admin_id: int, campaign_id: int) -> None:
    row = session.get(AdminSelection, admin_id, with_for_update=True)
    if row is None:
        session.add(AdminSelection(admin_id=admin_id, campaign_id=campaign_id, updated_at=now))
    else:
        row.campaign_id, row.updated_at = campaign_id, now


def create(ctx: EngineContext, admin_id: int | None, raw_name: str) -> Campaign:
    """``/campaign new NAME``: a stopped campaign with the shipped templates and the current
    settings (the creating admin's campaign's own values are copied), selected for the admin."""
    name = check_name(raw_name)
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        store.campaign(session, now)
        if _by_key(session, name) is not None:
            raise UserInputError(
                f"A campaign called {name!r} already exists (names ignore case). Choose "
                "another name, or select it with /campaign " + name
            )
        source = selected_id(session, admin_id)
        camp = Campaign(
            name=name,
            name_key=name.lower(),
            state=CampaignState.STOPPED,
            reason="",
            changed_at=now,
            created_at=now,
        )
        session.add(camp)
        session.flush()
        for key, value in store.campaign_overrides(session, source).items():
            if key in CAMPAIGN_KEYS:
                session.add(
                    CampaignSetting(campaign_id=camp.id, key=key, value=value, updated_at=now)
                )
        if admin_id is not None:
            _remember(session, now, admin_id, camp.id)
        return camp


def rename(ctx: EngineContext, old: str, new: str) -> tuple[str, str]:
    """``/campaign rename OLD NEW``; the leads, templates and selections follow the campaign."""
    name = check_name(new)
    with ctx.db.transaction() as session:
        camp = find(session, old, lock=True)
        other = _by_key(session, name)
        if other is not None and other.id != camp.id:
            raise UserInputError(f"A campaign called {other.name!r} already exists.")
        before = camp.name
        camp.name, camp.name_key = name, name.lower()
        return before, name


@dataclass(frozen=True)
class DeletePreview:
    campaign_id: int
    name: str
    leads: int


def preview_delete(ctx: EngineContext, name: str) -> DeletePreview:
    """What ``/campaign delete NAME`` would remove; refused while it runs or is the last one."""
    with ctx.db.transaction() as session:
        camp = find(session, name)
        _deletable(session, camp)
        leads = session.scalar(
            select(func.count()).select_from(Lead).where(Lead.campaign_id == camp.id)
        )
        return DeletePreview(camp.id, camp.name, int(leads or 0))


def _deletable(session: Session, camp: Campaign) -> None:
    if camp.state == CampaignState.RUNNING:
        raise UserInputError(
            f"Campaign {camp.name!r} is running. Pause it first (/campaign {camp.name}, then "
            "/pause), then delete it."
        )
    if camp.id == DEFAULT_CAMPAIGN:
        raise UserInputError(
            f"{camp.name!r} is the first campaign: it holds the settings every older setup had "
            "(its timezone is the day's boundary), so it stays. Rename it with /campaign "
            f"rename {camp.name} NEW, or pause it and delete its leads."
        )
    if session.scalar(select(func.count()).select_from(Campaign)) == 1:
        raise UserInputError(
            f"{camp.name!r} is the only campaign; there must be one. Create another first."
        )
    busy = session.scalar(
        select(OutboundMessage.id)
        .join(Lead, Lead.id == OutboundMessage.lead_id)
        .where(Lead.campaign_id == camp.id, OutboundMessage.state == OutboundState.SENDING)
        .limit(1)
    )
    if busy is not None:
        raise UserInputError(
            f"An email of {camp.name!r} is being sent right now. Try again in a minute."
        )


def delete_campaign(ctx: EngineContext, campaign_id: int) -> DeletePreview:
    """Delete the campaign with its leads, their emails' history, templates and settings. The
    suppression list is global and stays, and so does the inbox's record of replies."""
    with ctx.db.transaction() as session:
        camp = session.get(Campaign, campaign_id, with_for_update=True)
        if camp is None:
            raise UserInputError("That campaign no longer exists.")
        _deletable(session, camp)
        lead_ids = select(Lead.id).where(Lead.campaign_id == campaign_id)
        n = session.scalar(select(func.count()).select_from(lead_ids.subquery()))
        session.execute(delete(OutboundMessage).where(OutboundMessage.lead_id.in_(lead_ids)))
        session.execute(delete(Lead).where(Lead.campaign_id == campaign_id))
        session.execute(delete(AdminSelection).where(AdminSelection.campaign_id == campaign_id))
        name = camp.name
        session.delete(camp)
        return DeletePreview(campaign_id, name, int(n or 0))


@dataclass(frozen=True)
class CampaignLine:
    """One row of /campaigns."""

    id: int
    name: str
    state: CampaignState
    leads: int
    sent: int  # leads written to at least once
    replied: int
    selected: bool

    @property
    def reply_rate(self) -> float:
        return 100.0 * self.replied / self.sent if self.sent else 0.0


def overview(ctx: EngineContext, admin_id: int | None) -> list[CampaignLine]:
    """Every campaign with its counts, in one grouped query over the leads."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        store.campaign(session, now)
        chosen = selected_id(session, admin_id)
        counts = {
            cid: (int(n), int(sent or 0), int(rep or 0))
            for cid, n, sent, rep in session.execute(
                select(
                    Lead.campaign_id,
                    func.count(),
                    func.sum(case((Lead.last_sent_at.is_not(None), 1), else_=0)),
                    func.sum(case((Lead.replied_at.is_not(None), 1), else_=0)),
                ).group_by(Lead.campaign_id)
            )
        }
        return [
            CampaignLine(
                c.id,
                c.name,
                CampaignState(c.state),
                *counts.get(c.id, (0, 0, 0)),
                selected=c.id == chosen,
            )
            for c in session.scalars(select(Campaign).order_by(Campaign.id))
        ]
