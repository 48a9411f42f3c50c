"""Reads the chat needs about campaigns: which campaign an admin's command acts on (and whether
there are several, so the answer must name it), and a campaign's templates with their A/B
variants."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from engine.campaigns import config as campaign_config
from engine.campaigns.registry import selected_id
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.states import MailboxStatus
from engine.storage import store
from engine.storage.models import PRIMARY_MAILBOX, Campaign, Lead, Mailbox
from engine.templates import Template, template_names


@dataclass(frozen=True)
class Selection:
    """The campaign an admin's commands act on."""

    id: int
    name: str
    state: str
    count: int  # how many campaigns there are

    @property
    def several(self) -> bool:
        """More than one campaign: an answer names the one it acted on."""
        return self.count > 1


def selection(ctx: EngineContext, admin_id: int | None) -> Selection:
    """``admin_id``'s selected campaign (else the oldest), and how many there are."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        store.campaign(session, now)  # the default exists
        camp = store.campaign(session, now, campaign_id=selected_id(session, admin_id))
        count = session.scalar(select(func.count()).select_from(Campaign))
        return Selection(camp.id, camp.name, camp.state, int(count or 1))


def campaign_ref(ctx: EngineContext, campaign_id: int) -> Selection:
    """A campaign a button names (the dashboard's), as a selection: it acts on that campaign
    whichever one the admin has selected since. UserInputError when it was deleted."""
    with ctx.db.transaction() as session:
        camp = session.get(Campaign, campaign_id)
        if camp is None:
            raise UserInputError("That campaign no longer exists; /campaigns lists them.")
        count = session.scalar(select(func.count()).select_from(Campaign))
        return Selection(camp.id, camp.name, camp.state, int(count or 1))


def is_set_up(ctx: EngineContext) -> bool:
    """Whether there is anything to show on a dashboard: some lead in some campaign, or a
    mailbox added from the chat. The environment's mailbox does not count (every install has
    it), so a fresh install still gets the welcome on /start."""
    with ctx.db.transaction() as session:
        lead = session.scalar(select(Lead.id).limit(1))
        if lead is not None:
            return True
        added = session.scalar(
            select(Mailbox.id)
            .where(Mailbox.id != PRIMARY_MAILBOX, Mailbox.state != MailboxStatus.REMOVED)
            .limit(1)
        )
        return added is not None


def campaign_name(ctx: EngineContext, campaign_id: int) -> str:
    """A campaign's name, or UserInputError when it was deleted meanwhile (an old button)."""
    with ctx.db.transaction() as session:
        camp = session.get(Campaign, campaign_id)
        if camp is None:
            raise UserInputError("That campaign no longer exists; /campaigns lists them.")
        return camp.name


@dataclass(frozen=True)
class StepTemplate:
    """One variant of one step of a campaign's sequence, as /templates shows it."""

    template: Template
    variant: str  # "A", "B", …
    variants: int  # how many variants the step has


def templates(ctx: EngineContext, campaign_id: int) -> list[StepTemplate]:
    """Every step of the campaign's sequence, in sending order, each with its variants (A
    first); a step without a stored text shows the shipped default as its A."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        s = store.effective_settings(session, ctx.settings)
        config = campaign_config.load(session, s, campaign_id, now)
        letters = store.template_variants(session, campaign_id)
        found = []
        for name in template_names(len(config.followup_delays)):
            step = letters.get(name) or ["A"]
            for variant in step:
                t = store.template(session, name, campaign_id=campaign_id, variant=variant)
                found.append(StepTemplate(t, variant, len(step)))
        return found
