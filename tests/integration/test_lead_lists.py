"""engine.leads.listing on SQLite and PostgreSQL: a long status counted only up to COUNT_CAP,
a stale page clamped, leads without an activity time, and /find across campaigns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from engine.campaigns import registry
from engine.context import EngineContext
from engine.leads import listing
from engine.states import LeadStatus
from engine.storage import store
from engine.storage.models import Lead

DEFAULT = 1


@pytest.fixture
def ctx(make_ctx: Callable[..., EngineContext]) -> EngineContext:
    ctx = make_ctx()
    with ctx.db.transaction() as session:
        store.campaign(session, ctx.clock.now())  # the default campaign's row, as /status makes
    return ctx


def _leads(
    ctx: EngineContext, n: int, status: LeadStatus, campaign_id: int = DEFAULT, tag: str = "x"
) -> list[int]:
    """``n`` leads, lead i replied/sent i minutes ago; their ids, newest first."""
    now = ctx.clock.now()
    ids = []
    with ctx.db.transaction() as session:
        for i in range(n):
            email = f"{tag}{i}@c{campaign_id}.io"
            at = now - timedelta(minutes=i)
            lead = Lead(
                campaign_id=campaign_id,
                email=email,
                email_key=email,
                domain=f"c{campaign_id}.io",
                status=status,
                last_sent_at=at if status != LeadStatus.PENDING else None,
                replied_at=at if status == LeadStatus.REPLIED else None,
                created_at=now - timedelta(days=1),
            )
            session.add(lead)
            session.flush()
            ids.append(lead.id)
    return ids


def test_it_counts_a_long_status_only_up_to_the_cap(
    ctx: EngineContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "COUNT_CAP", 15)
    ids = _leads(ctx, 25, LeadStatus.SENT)

    first = listing.status_page(ctx, DEFAULT, LeadStatus.SENT, 0)
    last = listing.status_page(ctx, DEFAULT, LeadStatus.SENT, 2)

    assert (first.total, first.capped, first.pages, first.has_next) == (15, True, None, True)
    assert [x.id for x in first.leads] == ids[:10]
    assert (last.page, last.has_next, [x.id for x in last.leads]) == (2, False, ids[20:])


def test_it_clamps_a_stale_page_past_the_end(
    ctx: EngineContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    _leads(ctx, 25, LeadStatus.SENT)
    assert listing.status_page(ctx, DEFAULT, LeadStatus.SENT, 9).page == 2  # counted: 3 pages
    monkeypatch.setattr(listing, "COUNT_CAP", 15)
    beyond = listing.status_page(ctx, DEFAULT, LeadStatus.SENT, 9)  # capped: found empty
    assert (beyond.page, len(beyond.leads), beyond.has_next) == (2, 5, False)


def test_it_lists_pending_leads_newest_first_by_when_they_were_added(ctx: EngineContext) -> None:
    ids = _leads(ctx, 12, LeadStatus.PENDING)

    page = listing.status_page(ctx, DEFAULT, LeadStatus.PENDING, 0)

    assert [x.id for x in page.leads] == sorted(ids, reverse=True)[:10]
    assert {x.at for x in page.leads} == {ctx.clock.now() - timedelta(days=1)}
    assert (page.total, page.pages, page.capped) == (12, 2, False)


def test_it_keeps_each_campaign_to_its_own_leads(ctx: EngineContext) -> None:
    other = registry.create(ctx, None, "other").id
    mine = _leads(ctx, 3, LeadStatus.REPLIED, tag="mine")
    _leads(ctx, 4, LeadStatus.REPLIED, campaign_id=other, tag="theirs")

    page = listing.status_page(ctx, DEFAULT, LeadStatus.REPLIED, 0)

    assert [x.id for x in page.leads] == mine
    assert (page.total, page.several, page.campaign) == (3, True, "default")


def test_it_finds_in_every_campaign_naming_each(ctx: EngineContext) -> None:
    other = registry.create(ctx, None, "other").id
    _leads(ctx, 1, LeadStatus.SENT, tag="ana")
    _leads(ctx, 1, LeadStatus.SENT, campaign_id=other, tag="ana")

    found = listing.find(ctx, "  ANA0  ")

    assert found.text == "ANA0" and found.several and not found.more
    assert [(x.email, x.campaign) for x in found.leads] == [
        (f"ana0@c{other}.io", "other"),
        ("ana0@c1.io", "default"),
    ]
