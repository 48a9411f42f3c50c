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

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, literal, not_, or_, select, text, union_all
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.errors import UserInputError
from engine.states import CampaignState, InboundKind, MessageKind, OutboundState
from engine.storage import store
from engine.storage.models import (
    CALENDAR_STEP,
    FAILED_EMAIL,
    HARD_BOUNCE_REPORT,
    Campaign,
    InboundMessage,
    Lead,
    OutboundMessage,
)

# Fewer sends than this and a variant's rate is mostly chance.
SMALL_SAMPLE = 100
DAYS = 14
# Interest labels that count as a positive reply (the 👍 button sets "interested").
POSITIVE = ("interested", "meeting")
# engine.sending.outcomes.record_bad_address: the address was never offered to a server.
UNUSABLE_ADDRESS = "unusable address:%"

_SENT = (OutboundState.SENT, OutboundState.UNCERTAIN)
_CAMPAIGN_KINDS = (MessageKind.INITIAL, MessageKind.FOLLOWUP, MessageKind.CALENDAR)
_SEQUENCE_KINDS = (MessageKind.INITIAL, MessageKind.FOLLOWUP)
# Inbound kinds counted as they are, and the figure each one adds to.
_COUNTED = {
    InboundKind.HUMAN: "replies",
    InboundKind.OPT_OUT: "opt_outs",
    InboundKind.AUTO_REPLY: "auto_replies",
}


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

# (campaign, step, variant)
Key = tuple[int, int, str]


@dataclass
class _Tally:
    """What the queries of :func:`_tally` found."""

    figures: dict[Key, Figures] = field(default_factory=dict)
    calendar: dict[int, int] = field(default_factory=dict)  # calendar answers by campaign

    def add(self, key: Key, **counts: int) -> None:
        self.figures[key] = self.figures.get(key, Figures()) + Figures(**counts)

    def by_campaign(self) -> dict[int, Figures]:
        out: dict[int, Figures] = {}
        for (cid, _, _), f in self.figures.items():
            out[cid] = out.get(cid, Figures()) + f
        return out


def _key(campaign_id: Any, step: Any, variant: Any) -> Key:
    return int(campaign_id), int(step), variant or ""


@dataclass(frozen=True)
class _Scope:
    """Which campaigns, and optionally which time: emails by the time they
    were handed to the server, inbound messages by the time they were read."""

    campaigns: Sequence[int]
    since: datetime | None = None
    until: datetime | None = None

    def __call__(self, stmt: Any, campaign: Any, at: Any | None = None) -> Any:
        stmt = stmt.where(campaign.in_(list(self.campaigns)))
        if at is not None and self.since is not None:
            stmt = stmt.where(at >= self.since)
        if at is not None and self.until is not None:
            stmt = stmt.where(at < self.until)
        return stmt


_O, _I = OutboundMessage, InboundMessage
_ANSWERED = (_I.lead_id.is_not(None), _I.step.is_not(None))


def _tally(session: Session, scope: _Scope) -> _Tally:
    """The figures in ``scope`` per campaign, step and variant: five grouped queries, each
    answered from an index (migration 0008) but for the few rows it must read (the failed
    emails' answers, the bounce reports' reasons, the marked leads)."""
    t = _Tally()
    _sent(session, scope, t)
    _refusals(session, scope, t)
    _answers(session, scope, t)
    _hard_bounces(session, scope, t)
    _positive(session, scope, t)
    return t


# SQLite allows 500 SELECTs in one compound statement; stay well under it.
_UNION_MAX = 100


def _union_counts(session: Session, selects: Sequence[Any]) -> list[int]:
    """The count of each ``SELECT count(...)`` in ``selects``, asked as few UNION ALLs."""
    out: list[int] = []
    for start in range(0, len(selects), _UNION_MAX):
        chunk = selects[start : start + _UNION_MAX]
        numbered = [stmt.add_columns(literal(i)) for i, stmt in enumerate(chunk)]
        found = {int(i): int(n or 0) for n, i in session.execute(union_all(*numbered))}
        out.extend(found.get(i, 0) for i in range(len(chunk)))
    return out


def _email_keys(session: Session, campaign_id: int) -> list[tuple[int, str | None]]:
    """Every (step, variant) the campaign has emails of, found by seeking the index: a lookup
    per step and per variant, whatever the number of emails. ``None``: emails without a
    letter (none are written so; the count costs one more lookup per step)."""
    of = _O.campaign_id == campaign_id
    keys: list[tuple[int, str | None]] = []
    step = session.scalar(select(func.min(_O.step)).where(of))
    while step is not None:
        at_step = (of, _O.step == step)
        variant = session.scalar(select(func.min(_O.variant)).where(*at_step))
        while variant is not None:
            keys.append((int(step), variant))
            variant = session.scalar(
                select(func.min(_O.variant)).where(*at_step, _O.variant > variant)
            )
        keys.append((int(step), None))
        step = session.scalar(select(func.min(_O.step)).where(of, _O.step > step))
    return keys


def _sent(session: Session, scope: _Scope, t: _Tally) -> None:
    """Emails sent (and calendar answers). Over all time, a count per (step, variant) range
    of the index (reading it whole with a GROUP BY costs twice as much at 1M leads, most of
    it comparing the group's columns row by row); over one day, grouped."""
    if scope.since is not None or scope.until is not None:
        by = (_O.campaign_id, _O.step, _O.variant, _O.kind)
        for cid, step, variant, kind, n in session.execute(
            scope(
                select(*by, func.count()).where(_O.state.in_(_SENT)),
                _O.campaign_id,
                _O.attempted_at,
            ).group_by(*by)
        ):
            _add_sent(t, _key(cid, step, variant), kind, int(n))
        return
    keyed: list[tuple[Key, str]] = []
    selects: list[Any] = []
    for cid in scope.campaigns:
        for step, variant in _email_keys(session, cid):
            letter = _O.variant == variant if variant is not None else _O.variant.is_(None)
            kinds = (MessageKind.CALENDAR,) if step == CALENDAR_STEP else _SEQUENCE_KINDS
            keyed.append((_key(cid, step, variant), kinds[0]))
            selects.append(
                select(func.count()).where(
                    _O.campaign_id == cid,
                    _O.step == step,
                    letter,
                    _O.state.in_(_SENT),
                    _O.kind.in_(kinds),
                )
            )
    for (key, kind), n in zip(keyed, _union_counts(session, selects), strict=True):
        _add_sent(t, key, kind, n)


def _add_sent(t: _Tally, key: Key, kind: str, n: int) -> None:
    if not n:
        return
    if kind == MessageKind.CALENDAR:
        t.calendar[key[0]] = t.calendar.get(key[0], 0) + n
    else:
        t.add(key, sent=n)


def _refusals(session: Session, scope: _Scope, t: _Tally) -> None:
    """Recipients our own SMTP transaction refused: bounces too."""
    by = (_O.campaign_id, _O.step, _O.variant)
    stmt = scope(select(*by, func.count()).where(_refused()), _O.campaign_id, _O.attempted_at)
    for cid, step, variant, n in session.execute(stmt.group_by(*by)):
        t.add(_key(cid, step, variant), bounces=int(n))


def _answers(session: Session, scope: _Scope, t: _Tally) -> None:
    """Replies, opt-outs and auto-replies: each lead once per step, variant and kind."""
    by = (_I.campaign_id, _I.step, _I.variant, _I.kind)
    stmt = select(*by, func.count(func.distinct(_I.lead_id))).where(
        *_ANSWERED, _I.kind.in_(list(_COUNTED))
    )
    for cid, step, variant, kind, n in session.execute(
        scope(stmt, _I.campaign_id, _I.seen_at).group_by(*by)
    ):
        t.add(_key(cid, step, variant), **{_COUNTED[InboundKind(kind)]: int(n)})


def _hard_bounces(session: Session, scope: _Scope, t: _Tally) -> None:
    by = (_I.campaign_id, _I.step, _I.variant)
    # The classifier's reason reads "hard bounce …" or "soft bounce …"; only a hard one stops
    # the lead. Written as the partial index says it (models.HARD_BOUNCE_REPORT).
    stmt = select(*by, func.count(func.distinct(_I.lead_id))).where(
        *_ANSWERED, text(HARD_BOUNCE_REPORT)
    )
    for cid, step, variant, n in session.execute(
        scope(stmt, _I.campaign_id, _I.seen_at).group_by(*by)
    ):
        t.add(_key(cid, step, variant), bounces=int(n))


def _positive(session: Session, scope: _Scope, t: _Tally) -> None:
    """The human replies of leads marked interested (or with a meeting). A partial index
    holds the marked leads, so the join starts from those few."""
    by = (_I.campaign_id, _I.step, _I.variant)
    stmt = (
        select(*by, func.count(func.distinct(_I.lead_id)))
        .join(Lead, Lead.id == _I.lead_id)
        .where(*_ANSWERED, _I.kind == InboundKind.HUMAN, Lead.interest.in_(POSITIVE))
    )
    stmt = scope(scope(stmt, _I.campaign_id, _I.seen_at), Lead.campaign_id)
    for cid, step, variant, n in session.execute(stmt.group_by(*by)):
        t.add(_key(cid, step, variant), positive=int(n))


def _refused() -> ColumnElement[bool]:
    """An email whose recipient our own SMTP transaction refused (a hard bounce)."""
    return and_(
        text(FAILED_EMAIL),  # as the partial index says it (models.FAILED_EMAIL)
        OutboundMessage.kind.in_(_SEQUENCE_KINDS),
        or_(OutboundMessage.error.is_(None), not_(OutboundMessage.error.like(UNUSABLE_ADDRESS))),
    )


def _counts(session: Session, stmt: Any) -> dict[Any, int]:
    """``key -> n`` from a query of (key, n) rows."""
    return {key: int(n or 0) for key, n in session.execute(stmt)}


def campaign_stats(ctx: EngineContext, campaign_id: int, now: datetime) -> CampaignStats:
    """``/stats``: the campaign's figures per step and variant, and in total."""
    with ctx.db.transaction() as session:
        try:
            camp = store.campaign(session, now, campaign_id=campaign_id)
        except LookupError:
            raise UserInputError("That campaign no longer exists; choose another.") from None
        name, state = camp.name, CampaignState(camp.state)
        t = _tally(session, _Scope([campaign_id]))
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


def _per_day(count: Any, at: Any, bounds: Sequence[datetime], *where: Any) -> Any:
    """One count per day, as one statement: a UNION ALL of a range count per day, each read
    from the index in order (grouping by a CASE of day edges costs a dozen comparisons per
    row: ~5x slower at 1M leads)."""
    return union_all(
        *(
            select(literal(i), count).where(*where, at >= start, at < end)
            for i, (start, end) in enumerate(itertools.pairwise(bounds))
        )
    )


def daily(ctx: EngineContext, campaign_id: int, now: datetime, days: int = DAYS) -> list[DayCount]:
    """The campaign's emails sent (by the time they were handed to the server) and leads who
    replied (by the time the reply was read), per local day in TIMEZONE over the last ``days``
    days, today last; days without any are zeros."""
    with ctx.db.transaction() as session:
        tz = store.effective_settings(session, ctx.settings).tz
        dates = local_days(now, tz, days)
        bounds = day_bounds(dates, tz)
        sent = _counts(
            session,
            _per_day(
                func.count(),
                _O.attempted_at,
                bounds,
                _O.campaign_id == campaign_id,
                _O.state.in_(_SENT),
                _O.kind.in_(_SEQUENCE_KINDS),
            ),
        )
        replies = _counts(
            session,
            _per_day(
                func.count(func.distinct(_I.lead_id)),
                _I.seen_at,
                bounds,
                _I.campaign_id == campaign_id,
                _I.kind == InboundKind.HUMAN,
                *_ANSWERED,
            ),
        )
    return [DayCount(d, sent.get(i, 0), replies.get(i, 0)) for i, d in enumerate(dates)]


# ------------------------------------------------------------------------- all campaigns


def compare(ctx: EngineContext, now: datetime) -> list[CampaignTotals]:
    """``/stats all``: every campaign's totals (those of its ``/stats``) and number of leads,
    oldest first."""
    with ctx.db.transaction() as session:
        store.campaign(session, now)  # the default exists
        camps = sorted(session.execute(select(Campaign.id, Campaign.name, Campaign.state)))
        figures = _tally(session, _Scope([cid for cid, _, _ in camps])).by_campaign()
        leads = _counts(session, select(Lead.campaign_id, func.count()).group_by(Lead.campaign_id))
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
    scope = _Scope([cid for cid, _ in running], since, until)
    figures = _tally(session, scope).by_campaign()
    return [CampaignDay(int(cid), name, figures.get(cid, Figures())) for cid, name in running]
