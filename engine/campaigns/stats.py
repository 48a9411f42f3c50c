"""A campaign's figures for ``/stats``: per step and per A/B variant, the emails sent and what
came back; the last days' emails and replies; every campaign side by side; and yesterday's
figures of each running campaign for the midnight summary.

The counting is ``engine.campaigns.tally``'s: a few statements, each answered from an index,
whatever the number of leads (``python -m bench.stats``).

What is counted:

- **sent**: the campaign's emails the server accepted (``sent``) or may have (``uncertain``),
  by the step and variant of the email. Steps are 0 (the first email) and 1..N (follow-ups);
  the calendar answers to replies (step 100) are counted apart (``calendar_sent``) and in no
  other figure, /test emails not at all.
- What came back is attributed to the step and variant of the lead's last email before it
  (``inbound_messages.step``/``variant``, recorded when it arrived); a message from a lead
  that was never written to answers no step and is left out. Each is a number of *leads* per
  step and variant, so a lead who writes twice is one reply:
  **replies** (human replies), **positive** (those whose lead is marked interested, or has a
  meeting), **opt-outs**, **auto-replies**, and **bounces**: hard-bounce reports citing one of
  our emails, plus recipients our own SMTP transaction refused (the outbound row ``failed``
  with the server's answer, ``engine.sending.outcomes``; an address that could not even be put
  on an envelope failed with ``unusable address: …`` and is no bounce).
- **reply rate** = replies ÷ sent of the same step and variant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.campaigns import tally
from engine.campaigns.tally import SMALL_SAMPLE, Figures, total
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.states import CampaignState
from engine.storage import store
from engine.storage.models import Campaign, Lead

__all__ = [
    "DAYS",
    "SMALL_SAMPLE",
    "CampaignDay",
    "CampaignStats",
    "CampaignTotals",
    "DayCount",
    "Figures",
    "StepStats",
    "campaign_stats",
    "compare",
    "daily",
    "day_bounds",
    "local_days",
    "midnight_lines",
]

DAYS = 14


@dataclass(frozen=True)
class StepStats:
    """One step of the sequence, one variant."""

    step: int  # 0 the first email, 1..N the follow-ups
    variant: str  # the A/B letter ("" for emails from before variants had a letter)
    figures: Figures


@dataclass(frozen=True)
class CampaignStats:
    campaign_id: int
    name: str
    state: CampaignState
    steps: tuple[StepStats, ...]  # by step, then variant
    total: Figures
    calendar_sent: int  # calendar answers to replies

    @property
    def small_samples(self) -> tuple[StepStats, ...]:
        """The (step, variant) rows with fewer than SMALL_SAMPLE sends."""
        return tuple(r for r in self.steps if r.figures.small_sample)

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(sorted({r.variant for r in self.steps}))


class DayCount(NamedTuple):
    """One local day (in TIMEZONE): the campaign's emails sent and leads who replied."""

    day: date
    sent: int
    replies: int


@dataclass(frozen=True)
class CampaignTotals:
    """One campaign in ``/stats all``."""

    campaign_id: int
    name: str
    state: CampaignState
    leads: int
    figures: Figures


@dataclass(frozen=True)
class CampaignDay:
    """A running campaign's figures for one local day (the midnight summary)."""

    campaign_id: int
    name: str
    figures: Figures = field(default_factory=Figures)

    def payload(self) -> dict[str, Any]:
        """For a notification's payload (JSON)."""
        f = self.figures
        return {
            "campaign_id": self.campaign_id,
            "name": self.name,
            "sent": f.sent,
            "replies": f.replies,
            "positive": f.positive,
            "bounces": f.bounces,
            "opted_out": f.opt_outs,
            "auto_replies": f.auto_replies,
        }


def campaign_stats(ctx: EngineContext, campaign_id: int, now: datetime) -> CampaignStats:
    """``/stats``: the campaign's figures per step and variant, and in total."""
    with ctx.db.transaction() as session:
        try:
            camp = store.campaign(session, now, campaign_id=campaign_id)
        except LookupError:
            raise UserInputError("That campaign no longer exists; choose another.") from None
        name, state = camp.name, CampaignState(camp.state)
        t = tally.tally(session, tally.Scope([campaign_id]))
    steps = tuple(StepStats(k[1], k[2], f) for k, f in sorted(t.figures.items()))
    return CampaignStats(
        campaign_id=campaign_id,
        name=name,
        state=state,
        steps=steps,
        total=total(r.figures for r in steps),
        calendar_sent=t.calendar.get(campaign_id, 0),
    )


# ------------------------------------------------------------------------------- the days


def local_days(now: datetime, tz: ZoneInfo, days: int) -> list[date]:
    """The last ``days`` local days in ``tz``, today last."""
    today = now.astimezone(tz).date()
    return [today - timedelta(days=i) for i in range(days - 1, -1, -1)]


def day_bounds(days: Sequence[date], tz: ZoneInfo) -> list[datetime]:
    """The instants each day begins at, then the end of the last: right across clock changes
    (a local day may be 23 or 25 hours long)."""
    edges = [*days, days[-1] + timedelta(days=1)]
    return [datetime.combine(d, time(0), tzinfo=tz) for d in edges]


def daily(ctx: EngineContext, campaign_id: int, now: datetime, days: int = DAYS) -> list[DayCount]:
    """The campaign's emails sent (by the time they were handed to the server) and leads who
    replied (by the time the reply was read), per local day in TIMEZONE over the last ``days``
    days, today last; days without any are zeros."""
    with ctx.db.transaction() as session:
        tz = store.effective_settings(session, ctx.settings).tz
        dates = local_days(now, tz, days)
        bounds = day_bounds(dates, tz)
        sent = tally.sent_per_day(session, campaign_id, bounds)
        replies = tally.replies_per_day(session, campaign_id, bounds)
    return [DayCount(d, sent.get(i, 0), replies.get(i, 0)) for i, d in enumerate(dates)]


# ------------------------------------------------------------------------- all campaigns


def compare(ctx: EngineContext, now: datetime) -> list[CampaignTotals]:
    """``/stats all``: every campaign's totals (those of its ``/stats``) and number of leads,
    oldest first."""
    with ctx.db.transaction() as session:
        store.campaign(session, now)  # the default exists
        camps = sorted(session.execute(select(Campaign.id, Campaign.name, Campaign.state)))
        figures = tally.tally(session, tally.Scope([cid for cid, _, _ in camps])).by_campaign()
        leads = tally.counts(
            session, select(Lead.campaign_id, func.count()).group_by(Lead.campaign_id)
        )
    return [
        CampaignTotals(
            int(cid), name, CampaignState(state), leads.get(cid, 0), figures.get(cid, Figures())
        )
        for cid, name, state in camps
    ]


def midnight_lines(session: Session, now: datetime, tz: ZoneInfo) -> list[CampaignDay]:
    """Yesterday's figures (the local day in ``tz`` before ``now``'s) of every running
    campaign, oldest first, for the midnight summary: the emails handed to the server that
    day, and the replies, bounces, opt-outs and auto-replies read that day. Call it inside the
    summary's transaction."""
    running = list(
        session.execute(
            select(Campaign.id, Campaign.name)
            .where(Campaign.state == CampaignState.RUNNING)
            .order_by(Campaign.id)
        )
    )
    if not running:
        return []
    since, until = day_bounds(local_days(now, tz, 2)[:1], tz)
    scope = tally.Scope([cid for cid, _ in running], since, until)
    figures = tally.tally(session, scope).by_campaign()
    return [CampaignDay(int(cid), name, figures.get(cid, Figures())) for cid, name in running]
