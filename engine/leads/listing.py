"""Leads a few at a time: one status of a campaign, a page at a time (/leads STATUS), and a
search by address, name or company (/find). Each reads only the rows it shows.

A page walks ``ix_leads_status_counts`` (status, replied_at, last_sent_at) backwards, so its
order — newest activity first: the reply, else the last email sent — comes from the index
and the database stops after the page: its rows take about a millisecond at 1M leads. Pending
leads have neither time and come newest first by id, which ``ix_leads_campaign_status``
(SQLite: its rowid) or the primary key gives in order. The count for "page 1/N" stops at
COUNT_CAP, so it does not grow with the leads either (bench/RESULTS.md, ``bench.lead_lists``).
OFFSET still walks the entries before a page: page 10,000 reads 100,000 of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.errors import UserInputError
from engine.states import LeadStatus
from engine.storage import store
from engine.storage.models import Campaign, Lead

GONE = "That campaign no longer exists; /campaigns lists them."
PER_PAGE = 10
# A page counts its status up to this many leads ("page 3/250"); beyond, it says "more than
# 10,000" and only whether there is a next page: a page then costs the same at 1M leads.
COUNT_CAP = 10_000
FOUND_MAX = 20  # matches /find shows; one more is read to know there are more
QUERY_MAX = 100  # characters of a /find text; longer is refused (by the bot) or cut
TERMS_MAX = 5  # words of a /find text, each to be found in some field


@dataclass(frozen=True)
class LeadLine:
    """One lead in a list: who, and when it last did something."""

    id: int
    email: str
    name: str  # first and last name, "" when the list had none
    company: str
    status: str
    # Pending: when it was added. Otherwise the latest of what happened: the reply, else the
    # last email sent, else (nothing yet) when it was added.
    at: datetime
    campaign: str  # its campaign's name


@dataclass(frozen=True)
class LeadPage:
    campaign_id: int
    campaign: str
    several: bool  # there are several campaigns: the words name this one
    status: LeadStatus
    leads: list[LeadLine]
    page: int  # 0-based, clamped to the pages there are
    # Leads of this status in the campaign, counted up to COUNT_CAP: beyond it ``capped`` and
    # the number of pages is unknown (None).
    total: int
    capped: bool
    pages: int | None
    has_next: bool  # there is a page after this one
    tz: ZoneInfo  # the admin's TIMEZONE (as set from the chat, if it was), for the times


_COLUMNS = (
    Lead.id,
    Lead.email,
    Lead.first_name,
    Lead.last_name,
    Lead.company,
    Lead.status,
    Lead.replied_at,
    Lead.last_sent_at,
    Lead.created_at,
    Campaign.name,
)


def _line(row: Any) -> LeadLine:
    lead_id, email, first, last, company, status, replied, sent, created, campaign = row
    at = created if status == LeadStatus.PENDING else (replied or sent or created)
    name = " ".join(p for p in (first, last) if p)
    return LeadLine(lead_id, email, name, company or "", status, at, campaign)


def _select() -> Select[Any]:
    return select(*_COLUMNS).join(Campaign, Campaign.id == Lead.campaign_id)


def _campaigns(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Campaign)) or 1)


def status_page(
    ctx: EngineContext,
    campaign_id: int,
    status: LeadStatus,
    number: int,
    per_page: int = PER_PAGE,
) -> LeadPage:
    """Page ``number`` (0-based; clamped) of the campaign's leads in ``status``, newest activity
    first (see the module's note on the order and its index)."""
    with ctx.db.transaction() as session:
        camp = session.get(Campaign, campaign_id)
        if camp is None:  # deleted since the button was made
            raise UserInputError(GONE)
        count = _campaigns(session)
        # With one campaign every lead is in it: no condition, so the status index alone serves.
        where = [Lead.status == status] + ([] if count == 1 else [Lead.campaign_id == camp.id])
        total = _count(session, where, COUNT_CAP + 1)
        capped = total > COUNT_CAP
        number = max(number, 0)
        if not capped:
            number = min(number, max(0, (total - 1) // per_page))
        rows = _rows(session, status, where, number * per_page, per_page + 1)
        if not rows and number > 0:  # a stale button past the end of a long list
            number = max(0, (_count(session, where, None) - 1) // per_page)
            rows = _rows(session, status, where, number * per_page, per_page + 1)
        pages = None if capped else max(1, -(-total // per_page))
        leads = [_line(r) for r in rows[:per_page]]
        tz = store.effective_settings(session, ctx.settings).tz
        return LeadPage(
            camp.id,
            camp.name,
            count > 1,
            status,
            leads,
            number,
            min(total, COUNT_CAP),
            capped,
            pages,
            len(rows) > per_page,
            tz,
        )


def _count(session: Session, where: list[Any], cap: int | None) -> int:
    """How many leads match, counting at most ``cap`` index entries (None: all)."""
    matching = select(Lead.id).where(*where)
    if cap is not None:
        matching = matching.limit(cap)
    return int(session.scalar(select(func.count()).select_from(matching.subquery())) or 0)


def _rows(
    session: Session, status: LeadStatus, where: list[Any], offset: int, limit: int
) -> list[Any]:
    # Default NULL placement on purpose: DESC walks the index backwards on either database.
    order = (
        [Lead.id.desc()]
        if status == LeadStatus.PENDING
        else [Lead.replied_at.desc(), Lead.last_sent_at.desc(), Lead.id.desc()]
    )
    query = _select().where(*where).order_by(*order).offset(offset).limit(limit)
    return list(session.execute(query).all())


@dataclass(frozen=True)
class Found:
    text: str  # what was looked for: its first TERMS_MAX words, cut to QUERY_MAX characters
    leads: list[LeadLine]  # newest first, at most FOUND_MAX
    more: bool  # more leads match than are listed
    several: bool  # there are several campaigns: each line names its own
    tz: ZoneInfo


def like_pattern(term: str) -> str:
    """``%term%`` for LIKE, with the user's own ``%``, ``_`` and ``\\`` matched as themselves
    (escape character ``\\``)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(term: str) -> Any:
    """The term is in the address, the first or last name or the company, in any case."""
    pattern = like_pattern(term)
    return or_(
        Lead.email_key.like(like_pattern(term.lower()), escape="\\"),  # stored lower-cased
        Lead.first_name.ilike(pattern, escape="\\"),
        Lead.last_name.ilike(pattern, escape="\\"),
        Lead.company.ilike(pattern, escape="\\"),
    )


def find(ctx: EngineContext, text: str, limit: int = FOUND_MAX) -> Found:
    """Leads of every campaign where each word of ``text`` is in the address, a name or the
    company (case-insensitive, as a substring), newest first.

    Every campaign, not only the selected one: a search is for a person, wherever they are
    (as /lead ADDRESS looks in the others too), and each line names its campaign when there
    are several. A substring cannot use an index, so with few matches this reads every lead
    (a second or so at 1M); with many it stops after ``limit + 1``, newest first by id."""
    terms = " ".join(text.split())[:QUERY_MAX].split()[:TERMS_MAX]
    text = " ".join(terms)  # what the answer echoes is what was looked for
    with ctx.db.transaction() as session:
        several = _campaigns(session) > 1
        tz = store.effective_settings(session, ctx.settings).tz
        if not terms:  # nothing to look for (the bot asks for a text first)
            return Found(text, [], False, several, tz)
        rows = session.execute(
            _select()
            .where(and_(*(_matches(t) for t in terms)))
            .order_by(Lead.id.desc())
            .limit(limit + 1)
        ).all()
    leads = [_line(r) for r in rows[:limit]]
    return Found(text, leads, len(rows) > limit, several, tz)
