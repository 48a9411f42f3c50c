"""The words and buttons of lead lists and of /system: a page button's one integer, a page's
header (capped or not), the short times, and how long ago."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.messages.dashboard import ago
from bot.messages.leads import (
    PAGE_STALE,
    STATUSES,
    page_ref,
    page_text,
    pager,
    parse_page_ref,
    short_when,
)
from engine import __version__
from engine.errors import UserInputError
from engine.leads.listing import LeadLine, LeadPage, like_pattern
from engine.states import LeadStatus

NOW = datetime(2025, 5, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("campaign_id", [1, 7, 123_456])
@pytest.mark.parametrize("page", [0, 1, 99_999])
def test_it_packs_campaign_status_and_page_into_one_integer(campaign_id: int, page: int) -> None:
    for status in STATUSES:
        ref = page_ref(campaign_id, status, page)
        assert parse_page_ref(ref) == (campaign_id, status, page)
        assert len(f"lp:{ref}") <= 64  # Telegram's limit on callback data


@pytest.mark.parametrize("ref", [-1, 0, 5, 10**9 + 9, (2**31) * 10**9])
def test_it_refuses_a_page_integer_no_button_of_ours_carries(ref: int) -> None:
    with pytest.raises(UserInputError, match=PAGE_STALE):
        parse_page_ref(ref)


def test_it_keeps_every_status_in_one_digit() -> None:
    assert len(STATUSES) <= 10
    assert set(STATUSES) == set(LeadStatus)


def test_it_shows_a_short_local_time_with_the_year_only_when_not_this_one() -> None:
    tz = ZoneInfo("Europe/Berlin")
    assert short_when(datetime(2025, 5, 3, 9, 5, tzinfo=UTC), tz, NOW) == "3 May 11:05"
    # 23:30 UTC on New Year's Eve is already this year in Berlin
    assert short_when(datetime(2024, 12, 31, 23, 30, tzinfo=UTC), tz, NOW) == "1 Jan 00:30"
    assert short_when(datetime(2023, 6, 1, 8, 0, tzinfo=UTC), tz, NOW) == "1 Jun 2023"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s ago"),
        (119, "119 s ago"),
        (600, "10 min ago"),
        (7200, "2 h ago"),
        (3 * 86_400, "3 d ago"),
    ],
)
def test_it_says_how_long_ago(seconds: int, words: str) -> None:
    assert ago(NOW, NOW - timedelta(seconds=seconds)) == words


def test_it_escapes_the_like_wildcards_and_the_escape_itself() -> None:
    assert like_pattern("100%") == "%100\\%%"
    assert like_pattern("a_b") == "%a\\_b%"
    assert like_pattern("c:\\x") == "%c:\\\\x%"


def test_it_keeps_the_engine_version_equal_to_pyproject() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    assert __version__ == tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]


def _page(**kw: object) -> LeadPage:
    line = LeadLine(7, "ana@acme.io", "Ana Lopez", "Acme", "sent", NOW, "default")
    fields: dict[str, object] = dict(
        campaign_id=1,
        campaign="default",
        several=False,
        status=LeadStatus.SENT,
        leads=[line],
        page=0,
        total=1,
        capped=False,
        pages=1,
        has_next=False,
        tz=ZoneInfo("UTC"),
    )
    fields.update(kw)
    return LeadPage(**fields)  # type: ignore[arg-type]


def test_it_writes_a_page_with_its_count_and_page_of_pages() -> None:
    text = page_text(_page(), NOW)
    assert text.splitlines() == [
        "👥 1 sent lead — newest activity first (page 1/1)",
        "1. Ana Lopez <ana@acme.io> · Acme · 3 May 12:00 · /lead_7",
        "Tap a /lead_… to open that lead.",
    ]
    assert pager(_page()) is None


def test_it_says_more_than_the_cap_and_offers_the_next_page() -> None:
    page = _page(total=10_000, capped=True, pages=None, has_next=True, page=4)
    assert page_text(page, NOW).splitlines()[0] == (
        "👥 more than 10,000 sent leads — newest activity first (page 5)"
    )
    markup = pager(page)
    assert markup is not None
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert data == [
        f"lp:{page_ref(1, LeadStatus.SENT, 3)}",
        f"lp:{page_ref(1, LeadStatus.SENT, 5)}",
    ]
