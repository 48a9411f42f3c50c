"""The lead's own timezone through import and the real SMTP server, on SQLite and PostgreSQL,
with the injected clock: a zone from the timezone column, from the country, or the campaign's;
the campaign's 09:00-17:00 window then applies in each lead's local time."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.format import import_text, lead_text
from engine import campaign
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.leads import service as leads
from engine.sending.queue import run_send_queue
from engine.storage.models import Lead
from tests.integration.sendkit import NO_PACING
from tests.servers.smtp import SmtpServer

Ctx = Callable[..., EngineContext]

LIST = (
    "email,first_name,timezone,country\n"
    "taro@jp.example,Taro,Asia/Tokyo,\n"  # line 2: the column
    "nina@us.example,Nina,,United States\n"  # line 3: the country's most populous zone
    "olga@ru.example,Olga,,RU\n"  # line 4
    "pat@x.example,Pat,,\n"  # line 5: the campaign's
    "bad@x.example,Bad,Mars/Olympus,JP\n"  # line 6: unreadable -> the campaign's
    "off@x.example,Off,UTC+05:30,\n"  # line 7: a fixed offset
)


def _send(ctx: EngineContext, server: SmtpServer) -> list[str]:
    """Run the send queue once; the recipients it sent to."""
    mailer = ctx.new_mailer()
    before = len(server.messages)
    try:
        run_send_queue(ctx, mailer)
    finally:
        mailer.close()
    return [m.rcpt_tos[0] for m in server.messages[before:]]


def test_leads_get_their_zone_from_the_column_the_country_or_the_campaign(
    engine_ctx: Ctx,
) -> None:
    ctx = engine_ctx(**NO_PACING, TIMEZONE="Europe/Berlin")

    report = leads.import_csv(ctx, LIST.encode())

    assert report.imported == 6
    assert report.zone_sources == {"column": 2, "country": 2, "campaign": 2}
    assert [line for line, _ in report.bad_zones] == [6]
    assert "Mars/Olympus" in report.bad_zones[0][1]
    with ctx.db.transaction() as session:
        zones = {
            lead.email_key: (lead.timezone, lead.zone_source)
            for lead in session.scalars(select(Lead))
        }
    assert zones == {
        "taro@jp.example": ("Asia/Tokyo", "column"),
        "nina@us.example": ("America/New_York", "country"),
        "olga@ru.example": ("Europe/Moscow", "country"),
        "pat@x.example": (None, None),
        "bad@x.example": (None, None),  # the bad cell wins over the country: reported
        "off@x.example": ("UTC+05:30", "column"),
    }
    rows = list(csv.DictReader(io.StringIO(campaign.export_csv(ctx).decode("utf-8-sig"))))
    exported = {r["email"]: (r["campaign"], r["timezone"]) for r in rows}
    assert exported["pat@x.example"] == ("default", "Europe/Berlin")  # the campaign's
    assert exported["taro@jp.example"] == ("default", "Asia/Tokyo")


def test_a_window_sends_to_tokyo_and_new_york_only_in_their_own_hours(
    engine_ctx: Ctx, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx(**NO_PACING, SEND_WINDOW="09:00-17:00", SEND_DAYS="mon-fri")
    clock.set(datetime(2026, 3, 4, 0, 0, tzinfo=UTC))  # Wednesday
    leads.import_csv(
        ctx,
        b"email,timezone\ntaro@jp.example,Asia/Tokyo\nnina@us.example,America/New_York\n",
    )
    campaign.run(ctx)
    sent_at: dict[str, datetime] = {}
    for _ in range(48 * 4):  # two days in 15-minute steps
        for to in _send(ctx, smtp_server):
            sent_at[to] = clock.now()
        clock.advance(timedelta(minutes=15))
    assert set(sent_at) == {"taro@jp.example", "nina@us.example"}
    tokyo = sent_at["taro@jp.example"].astimezone(ZoneInfo("Asia/Tokyo"))
    new_york = sent_at["nina@us.example"].astimezone(ZoneInfo("America/New_York"))
    # Each the moment its own window opened: 09:00 local, 14 hours apart in UTC.
    assert (tokyo.hour, tokyo.minute) == (9, 0) and tokyo.weekday() < 5
    assert (new_york.hour, new_york.minute) == (9, 0) and new_york.weekday() < 5
    assert sent_at["nina@us.example"] - sent_at["taro@jp.example"] == timedelta(hours=14)


def test_lead_shows_the_zone_and_the_local_time(engine_ctx: Ctx, clock: FakeClock) -> None:
    ctx = engine_ctx(TIMEZONE="Europe/Berlin")
    clock.set(datetime(2026, 3, 4, 9, 0, tzinfo=UTC))  # Wednesday
    leads.import_csv(ctx, LIST.encode())

    taro = leads.find_lead(ctx, "taro@jp.example")
    pat = leads.find_lead(ctx, "pat@x.example")

    assert (taro.zone, taro.own_zone) == ("Asia/Tokyo", True)
    assert "Zone: Asia/Tokyo (its own), Wed 18:00 there now" in lead_text(taro, ZoneInfo("UTC"))
    assert (pat.zone, pat.own_zone) == ("Europe/Berlin", False)
    assert "Zone: Europe/Berlin (the campaign's), Wed 10:00 there now" in lead_text(
        pat, ZoneInfo("UTC")
    )
    assert "Campaign:" not in lead_text(pat, ZoneInfo("UTC"))  # one campaign: not named


def test_the_import_report_counts_zones_by_source_and_names_unreadable_ones(
    engine_ctx: Ctx,
) -> None:
    ctx = engine_ctx(TIMEZONE="Europe/Berlin")
    words = import_text(leads.import_csv(ctx, LIST.encode()))
    assert "Time zones: 2 from the timezone column, 2 from the country, 2 the campaign's" in words
    assert "line 6: " in words and "Mars/Olympus" in words
    assert "the campaign's zone is used" in words
    plain = import_text(leads.import_csv(ctx, b"email\nsolo@x.example\n"))
    assert "Time zones" not in plain  # a list without zones reads as before
