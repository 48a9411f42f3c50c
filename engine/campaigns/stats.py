"""A campaign's figures for ``/stats``: per step and per A/B variant, the emails sent and what
came back; the last days' emails and replies; every campaign side by side; and yesterday's
figures of each running campaign for the midnight summary.

Every figure is one grouped query over indexed columns (no loop over leads), so ``/stats``
costs the same few queries at 10,000 leads as at 1,000,000 (``python -m bench.stats``).

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.errors import UserInputError
from engine.states import CampaignState, InboundKind, MessageKind, OutboundState
from engine.storage import store
from engine.storage.models import CALENDAR_STEP, Campaign, InboundMessage, Lead, OutboundMessage

# Fewer sends than this and a variant's rate is mostly chance.
SMALL_SAMPLE = 100
DAYS = 14
# Interest labels that count as a positive reply (the 👍 button sets "interested").
POSITIVE = ("interested", "meeting")
# The classifier's reason for a bounce reads "hard bounce …" or "soft bounce …"
# (engine.inbox.classify.classify); only a hard one stops the lead.
HARD_BOUNCE = "hard bounce%"
# engine.sending.outcomes.record_bad_address: the address was never offered to a server.
UNUSABLE_ADDRESS = "unusable address:%"

_SENT = (OutboundState.SENT, OutboundState.UNCERTAIN)
_CAMPAIGN_KINDS = (MessageKind.INITIAL, MessageKind.FOLLOWUP, MessageKind.CALENDAR)
_SEQUENCE_KINDS = (MessageKind.INITIAL, MessageKind.FOLLOWUP)
_ANSWERS = (InboundKind.HUMAN, InboundKind.OPT_OUT, InboundKind.AUTO_REPLY, InboundKind.BOUNCE)


@dataclass(frozen=True)
class Figures:
    """Emails sent and what came back (see the module's docstring for each count)."""

    sent: int = 0
    replies: int = 0
    positive: int = 0
    bounces: int = 0
    opt_outs: int = 0
    auto_replies: int = 0

    @property
    def reply_rate(self) -> float | None:
        """Replies ÷ sent; None with nothing sent."""
        return self.replies / self.sent if self.sent else None

    @property
    def small_sample(self) -> bool:
        return self.sent < SMALL_SAMPLE

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def total(figures: Iterable[Figures]) -> Figures:
    return sum(figures, Figures())


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
    leads: int
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


# ------------------------------------------------------------------------------ the counts


def _leads_answering(kind: InboundKind, *extra: ColumnElement[bool]) -> Any:
    """How many distinct leads sent a message of ``kind`` (with ``extra`` conditions)."""
    return func.count(
        func.distinct(
            case((and_(InboundMessage.kind == kind, *extra), InboundMessage.lead_id), else_=None)
        )
    )


def _answer_columns() -> list[Any]:
    return [
        _leads_answering(InboundKind.HUMAN),
        _leads_answering(InboundKind.HUMAN, Lead.interest.in_(POSITIVE)),
        _leads_answering(InboundKind.BOUNCE, InboundMessage.reason.like(HARD_BOUNCE)),
        _leads_answering(InboundKind.OPT_OUT),
        _leads_answering(InboundKind.AUTO_REPLY),
    ]


def _answers() -> Any:
    """Inbound messages that answered one of our emails, with their lead (for its interest)."""
    return (
        select()
        .select_from(InboundMessage)
        .outerjoin(Lead, Lead.id == InboundMessage.lead_id)
        .where(
            InboundMessage.lead_id.is_not(None),
            InboundMessage.step.is_not(None),
            InboundMessage.kind.in_(_ANSWERS),
        )
    )


def _refused() -> ColumnElement[bool]:
    """An email whose recipient our own SMTP transaction refused (a hard bounce)."""
    return and_(
        OutboundMessage.state == OutboundState.FAILED,
        OutboundMessage.kind.in_(_SEQUENCE_KINDS),
        or_(OutboundMessage.error.is_(None), not_(OutboundMessage.error.like(UNUSABLE_ADDRESS))),
    )


def _sent_column() -> Any:
    return func.sum(case((OutboundMessage.state.in_(_SENT), 1), else_=0))


def _figures(sent: int, refused: int, answers: Sequence[Any] | None) -> Figures:
    replies, positive, hard, opt_outs, auto = (int(x or 0) for x in (answers or (0,) * 5))
    return Figures(int(sent or 0), replies, positive, hard + int(refused or 0), opt_outs, auto)


def _counts(session: Session, stmt: Any) -> dict[Any, int]:
    """``key -> n`` from a query of (key, n) rows."""
    return {key: int(n or 0) for key, n in session.execute(stmt)}


def _campaign_row(session: Session, now: datetime, campaign_id: int) -> Campaign:
    try:
        return store.campaign(session, now, campaign_id=campaign_id)
    except LookupError:
        raise UserInputError("That campaign no longer exists; choose another.") from None


def _lead_counts(session: Session, campaign_id: int | None = None) -> dict[int, int]:
    stmt = select(Lead.campaign_id, func.count()).group_by(Lead.campaign_id)
    if campaign_id is not None:
        stmt = stmt.where(Lead.campaign_id == campaign_id)
    return {int(c): int(n) for c, n in session.execute(stmt)}


def campaign_stats(ctx: EngineContext, campaign_id: int, now: datetime) -> CampaignStats:
    """``/stats``: the campaign's figures per step and variant, and in total."""
    with ctx.db.transaction() as session:
        camp = _campaign_row(session, now, campaign_id)
        sent: dict[tuple[int, str], int] = {}
        calendar = 0
        for step, variant, n in session.execute(
            select(OutboundMessage.step, OutboundMessage.variant, _sent_column())
            .where(
                OutboundMessage.campaign_id == campaign_id,
                OutboundMessage.kind.in_(_CAMPAIGN_KINDS),
            )
            .group_by(OutboundMessage.step, OutboundMessage.variant)
        ):
            if step == CALENDAR_STEP:
                calendar += int(n or 0)
            else:
                key = (int(step), variant or "")
                sent[key] = sent.get(key, 0) + int(n or 0)
        refused = {
            (int(step), variant or ""): int(n)
            for step, variant, n in session.execute(
                select(OutboundMessage.step, OutboundMessage.variant, func.count())
                .where(OutboundMessage.campaign_id == campaign_id, _refused())
                .group_by(OutboundMessage.step, OutboundMessage.variant)
            )
        }
        answers: dict[tuple[int, str], Sequence[Any]] = {}
        for step, variant, *counts in session.execute(
            _answers()
            .add_columns(InboundMessage.step, InboundMessage.variant, *_answer_columns())
            .where(InboundMessage.campaign_id == campaign_id)
            .group_by(InboundMessage.step, InboundMessage.variant)
        ):
            answers[(int(step), variant or "")] = counts
        leads = _lead_counts(session, campaign_id).get(campaign_id, 0)
        name, state = camp.name, CampaignState(camp.state)
    steps = tuple(
        StepStats(k[0], k[1], _figures(sent.get(k, 0), refused.get(k, 0), answers.get(k)))
        for k in sorted(set(sent) | set(refused) | set(answers))
    )
    return CampaignStats(
        campaign_id=campaign_id,
        name=name,
        state=state,
        leads=leads,
        steps=steps,
        total=total(r.figures for r in steps),
        calendar_sent=calendar,
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


def _bucket(column: Any, bounds: Sequence[datetime]) -> Any:
    """The index of the day ``column`` falls in (``bounds`` from :func:`day_bounds`)."""
    return case(*((column < edge, i) for i, edge in enumerate(bounds[1:-1])), else_=len(bounds) - 2)


def daily(ctx: EngineContext, campaign_id: int, now: datetime, days: int = DAYS) -> list[DayCount]:
    """The campaign's emails sent (by the time they were handed to the server) and leads who
    replied (by the time the reply was read), per local day in TIMEZONE over the last ``days``
    days, today last; days without any are zeros."""
    with ctx.db.transaction() as session:
        tz = store.effective_settings(session, ctx.settings).tz
        dates = local_days(now, tz, days)
        bounds = day_bounds(dates, tz)
        day_sent = _bucket(OutboundMessage.attempted_at, bounds)
        sent = _counts(
            session,
            select(day_sent, func.count())
            .where(
                OutboundMessage.campaign_id == campaign_id,
                OutboundMessage.attempted_at >= bounds[0],
                OutboundMessage.attempted_at < bounds[-1],
                OutboundMessage.kind.in_(_SEQUENCE_KINDS),
                OutboundMessage.state.in_(_SENT),
            )
            .group_by(day_sent),
        )
        day_seen = _bucket(InboundMessage.seen_at, bounds)
        replies = _counts(
            session,
            select(day_seen, func.count(func.distinct(InboundMessage.lead_id)))
            .where(
                InboundMessage.campaign_id == campaign_id,
                InboundMessage.seen_at >= bounds[0],
                InboundMessage.seen_at < bounds[-1],
                InboundMessage.kind == InboundKind.HUMAN,
                InboundMessage.lead_id.is_not(None),
                InboundMessage.step.is_not(None),
            )
            .group_by(day_seen),
        )
    return [DayCount(d, int(sent.get(i, 0)), int(replies.get(i, 0))) for i, d in enumerate(dates)]


# ------------------------------------------------------------------------- all campaigns


def _by_campaign(
    session: Session,
    campaign_ids: Sequence[int] | None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, Figures]:
    """Every campaign's figures (or those of ``campaign_ids``), over all time or over the
    emails handed to the server and the messages read in [since, until)."""

    def scoped(stmt: Any, campaign: Any, at: Any, *group: Any) -> Any:
        if campaign_ids is not None:
            stmt = stmt.where(campaign.in_(list(campaign_ids)))
        else:
            stmt = stmt.where(campaign.is_not(None))
        if since is not None:
            stmt = stmt.where(at >= since)
        if until is not None:
            stmt = stmt.where(at < until)
        return stmt.group_by(campaign, *group)

    o, i = OutboundMessage, InboundMessage
    sent = _counts(
        session,
        scoped(
            select(o.campaign_id, _sent_column()).where(o.kind.in_(_SEQUENCE_KINDS)),
            o.campaign_id,
            o.attempted_at,
        ),
    )
    refused = _counts(
        session,
        scoped(
            select(o.campaign_id, func.count()).where(_refused()), o.campaign_id, o.attempted_at
        ),
    )
    # Per step and variant, then added up: the same totals as /stats shows.
    answers: dict[int, Figures] = {}
    for cid, *counts in session.execute(
        scoped(
            _answers().add_columns(i.campaign_id, *_answer_columns()),
            i.campaign_id,
            i.seen_at,
            i.step,
            i.variant,
        )
    ):
        answers[int(cid)] = answers.get(int(cid), Figures()) + _figures(0, 0, counts)
    return {
        int(c): _figures(sent.get(c, 0), refused.get(c, 0), None) + answers.get(c, Figures())
        for c in set(sent) | set(refused) | set(answers)
    }


def compare(ctx: EngineContext, now: datetime) -> list[CampaignTotals]:
    """``/stats all``: every campaign's totals (those of its ``/stats``), oldest first."""
    with ctx.db.transaction() as session:
        store.campaign(session, now)  # the default exists
        camps = list(session.execute(select(Campaign.id, Campaign.name, Campaign.state)))
        figures = _by_campaign(session, None)
        leads = _lead_counts(session)
    return [
        CampaignTotals(
            int(cid), name, CampaignState(state), leads.get(cid, 0), figures.get(cid, Figures())
        )
        for cid, name, state in sorted(camps)
    ]


def midnight_lines(session: Session, now: datetime, tz: ZoneInfo) -> list[CampaignDay]:
    """Yesterday's figures (the local day in ``tz`` before ``now``'s) of every running
    campaign, oldest first, for the midnight summary: emails sent that day, and the replies,
    bounces, opt-outs and auto-replies read that day. Call inside the summary's transaction."""
    running = list(
        session.execute(
            select(Campaign.id, Campaign.name)
            .where(Campaign.state == CampaignState.RUNNING)
            .order_by(Campaign.id)
        )
    )
    if not running:
        return []
    bounds = day_bounds(local_days(now, tz, 2)[:1], tz)
    figures = _by_campaign(session, [cid for cid, _ in running], *bounds)
    return [CampaignDay(int(cid), name, figures.get(cid, Figures())) for cid, name in running]
