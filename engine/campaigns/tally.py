"""The counting behind /stats: every figure of ``engine.campaigns.stats`` per campaign, step
and A/B variant, each from one statement answered from an index (migration 0008) but for the
few rows it must read. No loop over leads or emails: the cost is that of reading index entries
(at 1M leads, mostly the 1.35M emails' entries; ``python -m bench.stats``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, not_, or_, select, text, union_all
from sqlalchemy.orm import Session

from engine.states import InboundKind, MessageKind, OutboundState
from engine.storage.models import (
    ANSWER_STEP,
    CALENDAR_STEP,
    FAILED_EMAIL,
    HARD_BOUNCE_REPORT,
    InboundMessage,
    Lead,
    OutboundMessage,
)

# Fewer sends than this and a variant's rate is mostly chance.
SMALL_SAMPLE = 100
# Interest labels that count as a positive reply (the 👍 button sets "interested").
POSITIVE = ("interested", "meeting")
# engine.sending.outcomes.record_bad_address: the address was never offered to a server.
UNUSABLE_ADDRESS = "unusable address:%"

_SENT = (OutboundState.SENT, OutboundState.UNCERTAIN)
_SEQUENCE_KINDS = (MessageKind.INITIAL, MessageKind.FOLLOWUP)
# Inbound kinds counted as they are, and the figure each one adds to.
_COUNTED = {
    InboundKind.HUMAN: "replies",
    InboundKind.OPT_OUT: "opt_outs",
    InboundKind.AUTO_REPLY: "auto_replies",
}


@dataclass(frozen=True)
class Figures:
    """Emails sent and what came back (``engine.campaigns.stats`` says what each counts)."""

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


# (campaign, step, variant)
Key = tuple[int, int, str]


@dataclass
class Tally:
    """What the queries of :func:`tally` found."""

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
class Scope:
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


def tally(session: Session, scope: Scope) -> Tally:
    """The figures in ``scope`` per campaign, step and variant: five grouped queries, each
    answered from an index (migration 0008) but for the few rows it must read (the failed
    emails' answers, the bounce reports' reasons, the marked leads)."""
    t = Tally()
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
    of = and_(_O.campaign_id == campaign_id, _O.step < ANSWER_STEP)  # answers: not a step
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


def _sent(session: Session, scope: Scope, t: Tally) -> None:
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


def _add_sent(t: Tally, key: Key, kind: str, n: int) -> None:
    if not n or kind == MessageKind.ANSWER:  # an answer from the chat is no step's email
        return
    if kind == MessageKind.CALENDAR:
        t.calendar[key[0]] = t.calendar.get(key[0], 0) + n
    else:
        t.add(key, sent=n)


def _refusals(session: Session, scope: Scope, t: Tally) -> None:
    """Recipients our own SMTP transaction refused: bounces too."""
    by = (_O.campaign_id, _O.step, _O.variant)
    stmt = scope(select(*by, func.count()).where(_refused()), _O.campaign_id, _O.attempted_at)
    for cid, step, variant, n in session.execute(stmt.group_by(*by)):
        t.add(_key(cid, step, variant), bounces=int(n))


def _answers(session: Session, scope: Scope, t: Tally) -> None:
    """Replies, opt-outs and auto-replies: each lead once per step, variant and kind."""
    by = (_I.campaign_id, _I.step, _I.variant, _I.kind)
    stmt = select(*by, func.count(func.distinct(_I.lead_id))).where(
        *_ANSWERED, _I.kind.in_(list(_COUNTED))
    )
    for cid, step, variant, kind, n in session.execute(
        scope(stmt, _I.campaign_id, _I.seen_at).group_by(*by)
    ):
        t.add(_key(cid, step, variant), **{_COUNTED[InboundKind(kind)]: int(n)})


def _hard_bounces(session: Session, scope: Scope, t: Tally) -> None:
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


def _positive(session: Session, scope: Scope, t: Tally) -> None:
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


def counts(session: Session, stmt: Any) -> dict[Any, int]:
    """``key -> n`` from a query of (key, n) rows."""
    return {key: int(n or 0) for key, n in session.execute(stmt)}


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


def sent_per_day(session: Session, campaign_id: int, bounds: Sequence[datetime]) -> dict[int, int]:
    """The campaign's emails sent (by the time they were handed to the server) per day, by the
    day's index in ``bounds`` (each day's start, then the last one's end)."""
    return counts(
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


def replies_per_day(
    session: Session, campaign_id: int, bounds: Sequence[datetime]
) -> dict[int, int]:
    """The campaign's leads who replied (by the time the reply was read) per day."""
    return counts(
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
