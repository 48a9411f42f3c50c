"""/stats on SQLite and PostgreSQL: hand-placed leads, emails and replies with known steps,
variants and kinds, and every figure checked against numbers counted by hand; the days in
TIMEZONE across a clock change; every campaign side by side; the midnight lines; the real
paths that write bounces (a DSN read by the inbox, a recipient refused at RCPT, an address
that cannot go on an envelope) counted as the module says; and /stats through the real PTB
Application and the fake Bot API: the table, and a chart that decodes as a 960x540 PNG."""

from __future__ import annotations

import asyncio
import html
import io
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image

from bot.app import _initialize, build_application
from bot.handlers import register
from bot.messages.stats import CHART_FAILED
from engine.campaigns import registry
from engine.campaigns.stats import (
    CampaignDay,
    DayCount,
    Figures,
    StepStats,
    campaign_stats,
    compare,
    daily,
    midnight_lines,
)
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.errors import RecipientRejected
from engine.inbox.sync import process_message
from engine.sending.claims import Claimed
from engine.sending.messages import Outgoing
from engine.sending.outcomes import record_bad_address, record_failure
from engine.states import CampaignState, InboundKind, LeadStatus, MessageKind, OutboundState
from engine.storage import store
from engine.storage.models import CALENDAR_STEP, InboundMessage, Lead, OutboundMessage
from tests import mailshapes
from tests.integration.bot_harness import ADMIN, RunningBot
from tests.servers.telegram import FakeTelegram

Ctx = Callable[..., EngineContext]
NOW = datetime(2026, 3, 30, 10, 0, tzinfo=UTC)  # Europe/Berlin went to summer time on the 29th
EARLIER = NOW - timedelta(days=1)
_ids = itertools.count(1)


class Rows:
    """Leads, emails and inbound messages placed by hand, in one campaign."""

    def __init__(self, ctx: EngineContext, campaign_id: int = 1) -> None:
        self.ctx, self.campaign_id = ctx, campaign_id

    def lead(
        self,
        name: str,
        variant: str | None = "A",
        *,
        status: str = LeadStatus.SENT,
        interest: str | None = None,
    ) -> int:
        with self.ctx.db.transaction() as session:
            lead = Lead(
                email=f"{name}@example.com",
                email_key=f"{name}@example.com",
                domain="example.com",
                campaign_id=self.campaign_id,
                status=status,
                interest=interest,
                variant=variant,
                # Written to once (the inbox records the step a reply answers from these).
                next_step=0 if status == LeadStatus.PENDING else 1,
                last_sent_at=None if status == LeadStatus.PENDING else EARLIER,
                created_at=EARLIER,
            )
            session.add(lead)
            session.flush()
            return lead.id

    def out(
        self,
        lead_id: int | None,
        step: int,
        variant: str = "A",
        state: str = OutboundState.SENT,
        *,
        at: datetime = EARLIER,
        kind: str | None = None,
        error: str | None = None,
        campaign_id: int | None = None,
    ) -> int:
        kind = kind or (
            MessageKind.INITIAL
            if step == 0
            else MessageKind.CALENDAR
            if step == CALENDAR_STEP
            else MessageKind.FOLLOWUP
        )
        with self.ctx.db.transaction() as session:
            row = OutboundMessage(
                lead_id=lead_id,
                kind=kind,
                step=step,
                message_id=f"<out{next(_ids)}@example.com>",
                to_email="x@example.com",
                subject="Hello",
                body="Body",
                state=state,
                attempts=1,
                attempted_at=at,
                sent_at=at if state == OutboundState.SENT else None,
                error=error,
                campaign_id=self.campaign_id if campaign_id is None else campaign_id,
                variant=variant,
                created_at=at,
            )
            session.add(row)
            session.flush()
            return row.id

    def inbound(
        self,
        lead_id: int | None,
        step: int | None,
        kind: str,
        variant: str | None = "A",
        *,
        at: datetime = EARLIER,
        reason: str = "",
        campaign_id: int | None = None,
    ) -> None:
        with self.ctx.db.transaction() as session:
            session.add(
                InboundMessage(
                    message_id=f"<in{next(_ids)}@example.net>",
                    lead_id=lead_id,
                    kind=kind,
                    reason=reason,
                    seen_at=at,
                    campaign_id=self.campaign_id if campaign_id is None else campaign_id,
                    step=step,
                    variant=variant,
                )
            )


def _figures(sent: int, replies: int, positive: int, bounces: int, opt: int, auto: int) -> Figures:
    return Figures(sent, replies, positive, bounces, opt, auto)


@pytest.fixture
def ctx(make_ctx: Ctx, clock: FakeClock) -> EngineContext:
    clock.set(NOW)
    return make_ctx(TIMEZONE="Europe/Berlin")


def _hand_placed(ctx: EngineContext) -> None:
    """Campaign 1 with two steps and variants A and B (counted by hand in the test below),
    plus what must not count: other campaigns, /test emails, unsent states, unmatched mail."""
    r = Rows(ctx)
    a = {n: r.lead(f"a{n}", "A") for n in range(1, 12)}
    b = {n: r.lead(f"b{n}", "B") for n in range(1, 6)}
    never = r.lead("pending", None, status=LeadStatus.PENDING)

    # Step 0, A: a1-a6 sent, a7 uncertain (may have arrived: counts), a8 refused at RCPT (a
    # bounce), a9 an unusable address (no bounce), a10 queued and a11 cancelled (neither).
    for n in range(1, 7):
        r.out(a[n], 0)
    r.out(a[7], 0, state=OutboundState.UNCERTAIN)
    r.out(a[8], 0, state=OutboundState.FAILED, error="550 5.1.1 <a8@example.com>: no such user")
    r.out(a[9], 0, state=OutboundState.FAILED, error="unusable address: a9@@example.com")
    r.out(a[10], 0, state=OutboundState.QUEUED)
    r.out(a[11], 0, state=OutboundState.CANCELLED)
    # Step 0, B: b1-b4 sent, b5 being sent right now (not yet).
    for n in range(1, 5):
        r.out(b[n], 0, "B")
    r.out(b[5], 0, "B", state=OutboundState.SENDING)
    # Step 1: a1-a3 sent, a4 refused at RCPT; b1 sent.
    for n in range(1, 4):
        r.out(a[n], 1)
    r.out(a[4], 1, state=OutboundState.FAILED, error="550 5.1.1 user unknown")
    r.out(b[1], 1, "B")
    # The calendar answer to a1's reply, and a /test email stored with the campaign.
    r.out(a[1], CALENDAR_STEP)
    r.out(None, 0, kind=MessageKind.TEST)

    human, auto, bounce = InboundKind.HUMAN, InboundKind.AUTO_REPLY, InboundKind.BOUNCE
    r.inbound(a[1], 1, human)  # a1 answered the follow-up...
    r.inbound(a[1], 1, human)  # ... twice: one lead, one reply
    r.inbound(a[2], 0, human)
    r.inbound(a[5], 0, human)
    r.inbound(a[3], 0, auto)
    r.inbound(a[3], 1, auto)  # an out-of-office answers each step
    r.inbound(a[6], 0, bounce, reason="hard bounce 5.1.1")
    r.inbound(a[3], 1, bounce, reason="soft bounce 4.2.2")  # mailbox full: no bounce
    r.inbound(b[1], 1, InboundKind.OPT_OUT, "B")
    r.inbound(b[2], 0, human, "B")
    r.inbound(b[3], 0, InboundKind.UNVERIFIED, "B")  # held until an admin applies it
    r.inbound(a[2], 0, InboundKind.OWN)
    r.inbound(None, None, InboundKind.OTHER, None)  # matched no lead
    r.inbound(never, None, human, None)  # wrote before any email of ours: answers no step
    with ctx.db.transaction() as session:
        for lead_id, interest in (
            (a[1], "interested"),
            (a[2], "not interested"),
            (a[5], "meeting"),
            (b[2], "interested"),
            (b[4], "interested"),  # marked, but never replied: no positive reply
        ):
            lead = session.get(Lead, lead_id)
            assert lead is not None
            lead.interest = interest


def test_it_counts_every_figure_per_step_and_variant(ctx: EngineContext) -> None:
    _hand_placed(ctx)
    other = registry.create(ctx, None, "agency").id
    o = Rows(ctx, other)
    c1 = o.lead("c1")
    o.out(c1, 0)
    o.inbound(c1, 0, InboundKind.HUMAN)

    st = campaign_stats(ctx, 1, NOW)

    assert (st.campaign_id, st.name, st.state) == (1, "default", CampaignState.STOPPED)
    assert st.steps == (
        StepStats(0, "A", _figures(7, 2, 1, 2, 0, 1)),
        StepStats(0, "B", _figures(4, 1, 1, 0, 0, 0)),
        StepStats(1, "A", _figures(3, 1, 1, 1, 0, 1)),
        StepStats(1, "B", _figures(1, 0, 0, 0, 1, 0)),
    )
    assert st.total == _figures(15, 4, 3, 3, 1, 2)
    assert st.calendar_sent == 1
    assert st.variants == ("A", "B")
    assert st.steps[0].figures.reply_rate == pytest.approx(2 / 7)
    assert st.steps[3].figures.reply_rate == 0.0
    assert st.small_samples == st.steps  # every row is under 100 sends

    agency = campaign_stats(ctx, other, NOW)
    assert agency.steps == (StepStats(0, "A", _figures(1, 1, 0, 0, 0, 0)),)
    assert agency.calendar_sent == 0


def test_a_variant_under_a_hundred_sends_is_flagged(ctx: EngineContext) -> None:
    r = Rows(ctx)
    for n in range(100):
        r.out(r.lead(f"a{n}", "A"), 0)
    for n in range(99):
        r.out(r.lead(f"b{n}", "B"), 0, "B")

    st = campaign_stats(ctx, 1, NOW)

    assert [(s.variant, s.figures.sent, s.figures.small_sample) for s in st.steps] == [
        ("A", 100, False),
        ("B", 99, True),
    ]
    assert [s.variant for s in st.small_samples] == ["B"]
    assert st.total.reply_rate == 0.0


def test_a_campaign_without_emails_has_no_rows(ctx: EngineContext) -> None:
    Rows(ctx).lead("a1", None, status=LeadStatus.PENDING)

    st = campaign_stats(ctx, 1, NOW)

    assert (st.steps, st.total, st.calendar_sent) == ((), Figures(), 0)
    assert st.total.reply_rate is None


def test_the_days_are_local_days_in_timezone_across_the_clock_change(ctx: EngineContext) -> None:
    r = Rows(ctx)
    lead = r.lead("a1")
    utc = lambda d, h, m=0: datetime(2026, 3, d, h, m, tzinfo=UTC)  # noqa: E731
    # Berlin is UTC+1 until 29 March 02:00, UTC+2 after: the 29th is 23 hours long.
    for at in (
        utc(16, 22, 59),  # 16 March 23:59 local: before the 14 days
        utc(16, 23, 0),  # 17 March 00:00 local: the first day
        utc(28, 22, 30),  # 28 March 23:30
        utc(28, 23, 30),  # 29 March 00:30 (winter time)
        utc(29, 21, 30),  # 29 March 23:30 (summer time)
        utc(29, 22, 30),  # 30 March 00:30
        utc(30, 9, 0),  # today
        utc(30, 22, 0),  # 31 March 00:00: tomorrow
    ):
        r.out(lead, 0, at=at)
    r.out(lead, 1, state=OutboundState.FAILED, at=utc(30, 9), error="550 5.1.1 no")
    r.out(lead, CALENDAR_STEP, at=utc(30, 9))  # an answer to a reply, no sequence email
    r.out(None, 0, kind=MessageKind.TEST, at=utc(30, 9))
    Rows(ctx, registry.create(ctx, None, "agency").id).out(None, 0, at=utc(30, 9))
    other = r.lead("b1")
    r.inbound(lead, 0, InboundKind.HUMAN, at=utc(29, 21, 30))  # the 29th
    r.inbound(other, 0, InboundKind.HUMAN, at=utc(29, 22, 30))  # the 30th...
    r.inbound(other, 0, InboundKind.HUMAN, at=utc(30, 8))  # ... again: one lead
    r.inbound(other, 0, InboundKind.AUTO_REPLY, at=utc(30, 8))

    days = daily(ctx, 1, NOW)

    assert [d.day for d in days] == [date(2026, 3, 17) + timedelta(days=i) for i in range(14)]
    counted = {d.day.day: (d.sent, d.replies) for d in days if d.sent or d.replies}
    assert counted == {17: (1, 0), 28: (1, 0), 29: (2, 1), 30: (2, 1)}
    assert days[0] == DayCount(date(2026, 3, 17), 1, 0)
    assert len(daily(ctx, 1, NOW, days=3)) == 3


def test_stats_all_compares_every_campaign(ctx: EngineContext) -> None:
    _hand_placed(ctx)
    agency = registry.create(ctx, None, "agency").id
    empty = registry.create(ctx, None, "empty").id
    o = Rows(ctx, agency)
    c1, c2 = o.lead("c1"), o.lead("c2", "B")
    o.out(c1, 0)
    o.out(c2, 0, "B")
    o.inbound(c2, 0, InboundKind.HUMAN, "B")
    with ctx.db.transaction() as session:
        session.get(Lead, c2).interest = "interested"  # type: ignore[union-attr]

    rows = compare(ctx, NOW)

    assert [(t.campaign_id, t.name, t.leads, t.figures) for t in rows] == [
        (1, "default", 17, _figures(15, 4, 3, 3, 1, 2)),
        (agency, "agency", 2, _figures(2, 1, 1, 0, 0, 0)),
        (empty, "empty", 0, Figures()),
    ]
    assert rows[0].figures == campaign_stats(ctx, 1, NOW).total


def test_midnight_lines_give_yesterday_of_each_running_campaign(
    ctx: EngineContext, clock: FakeClock
) -> None:
    paused = registry.create(ctx, None, "paused").id
    running = registry.create(ctx, None, "running").id
    with ctx.db.transaction() as session:
        for cid, state in ((1, CampaignState.RUNNING), (running, CampaignState.RUNNING)):
            store.set_campaign_state(session, NOW, state, campaign_id=cid)
        store.set_campaign_state(session, NOW, CampaignState.PAUSED, campaign_id=paused)
    midnight = datetime(2026, 3, 29, 22, 0, 5, tzinfo=UTC)  # 30 March 00:00:05 in Berlin
    yesterday = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    r, p = Rows(ctx), Rows(ctx, paused)
    a1, a2, a3 = r.lead("a1"), r.lead("a2"), r.lead("a3")
    r.out(a1, 0, at=yesterday)
    r.out(a2, 0, at=yesterday)
    r.out(a3, 0, state=OutboundState.FAILED, at=yesterday, error="550 5.1.1 unknown")
    r.out(a1, 1, at=datetime(2026, 3, 28, 23, 30, tzinfo=UTC))  # 29 March 00:30: yesterday
    r.out(a2, 1, at=datetime(2026, 3, 28, 22, 59, tzinfo=UTC) - timedelta(hours=1))  # the 28th
    r.out(a2, 2, at=midnight)  # today
    r.inbound(a1, 0, InboundKind.HUMAN, at=yesterday)
    r.inbound(a2, 0, InboundKind.OPT_OUT, at=yesterday)
    r.inbound(a2, 0, InboundKind.AUTO_REPLY, at=yesterday)
    r.inbound(a2, 1, InboundKind.BOUNCE, at=yesterday, reason="hard bounce 5.1.1")
    p.out(p.lead("x"), 0, at=yesterday)
    clock.set(midnight)

    with ctx.db.transaction() as session:
        lines = midnight_lines(
            session, midnight, store.effective_settings(session, ctx.settings).tz
        )

    assert lines == [
        CampaignDay(1, "default", _figures(3, 1, 0, 2, 1, 1)),
        CampaignDay(running, "running", Figures()),
    ]
    assert lines[0].payload() == {
        "campaign_id": 1,
        "name": "default",
        "sent": 3,
        "replies": 1,
        "positive": 0,
        "bounces": 2,
        "opted_out": 1,
        "auto_replies": 1,
    }


def test_no_running_campaign_gives_no_midnight_lines(ctx: EngineContext) -> None:
    with ctx.db.transaction() as session:
        assert (
            midnight_lines(session, NOW, store.effective_settings(session, ctx.settings).tz) == []
        )


def _claim(ctx: EngineContext, outbound_id: int, lead_id: int) -> Claimed:
    return Claimed(
        outbound_id=outbound_id,
        lead_id=lead_id,
        kind=MessageKind.INITIAL,
        step=0,
        outgoing=Outgoing(f"<out{outbound_id}@example.com>", "x@example.com", "", "Hi", "Body"),
        settings=ctx.settings,
    )


def test_bounces_written_by_the_real_paths_are_counted(ctx: EngineContext) -> None:
    """The module reads two things other modules write: the classifier's "hard bounce" reason
    and record_bad_address's "unusable address:" error. Written here by those paths."""
    r = Rows(ctx)
    names = ("hard", "soft", "refused", "unusable")
    hard, soft, refused, unusable = (r.lead(n) for n in names)
    address = dict(
        zip((hard, soft, refused, unusable), (f"{n}@example.com" for n in names), strict=True)
    )
    sent = {lead: r.out(lead, 0) for lead in (hard, soft)}
    for lead in (refused, unusable):
        sent[lead] = r.out(lead, 0, state=OutboundState.SENDING)
    with ctx.db.transaction() as session:
        ids = {
            lead: session.get(OutboundMessage, out).message_id  # type: ignore[union-attr]
            for lead, out in sent.items()
        }
    record_failure(
        ctx, _claim(ctx, sent[refused], refused), RecipientRejected("550 5.1.1 no such user", 550)
    )
    record_bad_address(ctx, _claim(ctx, sent[unusable], unusable), "no domain")
    for uid, (lead, status) in enumerate(((hard, "5.1.1"), (soft, "4.2.2")), start=1):
        raw = mailshapes.gmail_dsn(address[lead], ids[lead], status)
        kind = process_message(ctx, "INBOX", 1, uid, raw)
        assert kind == InboundKind.BOUNCE

    st = campaign_stats(ctx, 1, NOW)

    with ctx.db.transaction() as session:
        statuses = {lead: session.get(Lead, lead).status for lead in sent}  # type: ignore[union-attr]
    assert statuses == {
        hard: LeadStatus.BOUNCED,
        soft: LeadStatus.SENT,
        refused: LeadStatus.BOUNCED,
        unusable: LeadStatus.FAILED,
    }
    assert st.steps == (StepStats(0, "A", _figures(2, 0, 0, 2, 0, 0)),)


# ---------------------------------------------------------------- through the real PTB bot


@pytest.fixture
async def stats_bot(fake_telegram: FakeTelegram, ctx: EngineContext) -> AsyncIterator[RunningBot]:
    """bot.app's Application against the fake Bot API, wired as ``serve`` wires it."""
    app = build_application(replace(ctx.settings, telegram_api_url=fake_telegram.url))
    app.bot_data.update(ctx=ctx, admin_ids=ctx.settings.admin_ids, redact=lambda s: s)
    register(app)
    assert await _initialize(app, asyncio.Event())
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield RunningBot(app, ctx, fake_telegram)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def _table(text: str) -> dict[tuple[str, str], list[str]]:
    """The /stats table's rows by (step, variant), each a list of its cells."""
    body = text.split("<pre>", 1)[1].split("</pre>", 1)[0]
    rows: dict[tuple[str, str], list[str]] = {}
    for line in html.unescape(body).splitlines()[1:]:
        cells = line.split()
        if cells[0] == "F-up":
            cells = [f"F-up {cells[1]}", *cells[2:]]
        if cells[0] == "Total":
            cells = ["Total", "", *cells[1:]]
        rows[(cells[0], cells[1])] = cells[2:]
    return rows


async def test_stats_answers_the_table_and_a_png_chart(stats_bot: RunningBot) -> None:
    _hand_placed(stats_bot.ctx)
    mark = stats_bot.fake.mark()

    answer = await stats_bot.say("/stats", expect=lambda r: r["method"] == "sendMessage")
    photo = await stats_bot.fake.wait_for_async(
        lambda r: r["method"] == "sendPhoto", 30, chat_id=ADMIN, after=mark
    )

    assert answer["parse_mode"] == "HTML"
    assert "📊 <b>default</b> (stopped)" in answer["text"]
    # Sent, replies, rate, positive, bounces, opt-outs, auto-replies: counted by hand above.
    assert _table(answer["text"]) == {
        ("First", "A"): ["7", "2", "28.6%", "1", "2", "0", "1"],
        ("First", "B"): ["4", "1", "25.0%", "1", "0", "0", "0"],
        ("F-up 1", "A"): ["3", "1", "33.3%", "1", "1", "0", "1"],
        ("F-up 1", "B"): ["1", "0", "0.0%", "0", "0", "1", "0"],
        ("Total", ""): ["15", "4", "26.7%", "3", "3", "1", "2"],
    }
    assert (
        "Fewer than 100 sends: First A (7), First B (4), F-up 1 A (3), F-up 1 B (1)"
        in (answer["text"])
    )
    assert "Calendar answers sent to replies: 1." in answer["text"]
    image = Image.open(io.BytesIO(photo["photo"]["content"]))
    image.load()
    assert (image.format, image.size) == ("PNG", (960, 540))
    assert (photo["photo"]["width"], photo["photo"]["height"]) == (960, 540)
    assert "last 14 days (Europe/Berlin)" in photo["caption"]
    assert [r["method"] for r in stats_bot.fake.sent(ADMIN)].count("sendPhoto") == 1


async def test_stats_of_a_named_campaign_and_of_all(stats_bot: RunningBot) -> None:
    ctx = stats_bot.ctx
    _hand_placed(ctx)
    agency = registry.create(ctx, None, "agency").id
    o = Rows(ctx, agency)
    c1 = o.lead("c1")
    o.out(c1, 0)
    o.inbound(c1, 0, InboundKind.HUMAN)

    named = await stats_bot.say("/stats agency", expect=lambda r: r["method"] == "sendMessage")
    every = await stats_bot.say("/stats all", expect=lambda r: r["method"] == "sendMessage")
    unknown = await stats_bot.say("/stats nosuch", expect=lambda r: r["method"] == "sendMessage")

    assert _table(named["text"])[("Total", "")] == ["1", "1", "100.0%", "0", "0", "0", "0"]
    lines = every["text"].splitlines()
    assert lines[1] == (
        "• default (stopped, 17 leads): 15 sent, 4 replies (26.7%), 3 positive, 3 bounces, "
        "1 opt-out"
    )
    assert lines[2] == (
        "• agency (stopped, 1 lead): 1 sent, 1 reply (100.0%), 0 positive, 0 bounces, 0 opt-outs"
    )
    assert unknown["text"].startswith("❌ There is no campaign called 'nosuch'")
    assert "Traceback" not in unknown["text"]


async def test_stats_of_a_campaign_that_sent_nothing_says_so_without_a_chart(
    stats_bot: RunningBot,
) -> None:
    Rows(stats_bot.ctx).lead("a1", None, status=LeadStatus.PENDING)
    agency = registry.create(stats_bot.ctx, None, "agency").id
    Rows(stats_bot.ctx, agency).out(None, 0)
    mark = stats_bot.fake.mark()

    empty = await stats_bot.say("/stats default", expect=lambda r: r["method"] == "sendMessage")
    await stats_bot.say("/stats agency", expect=lambda r: r["method"] == "sendPhoto", timeout=30)

    assert "Nothing sent yet" in empty["text"]
    photos = [r for r in stats_bot.fake.sent(ADMIN)[mark:] if r["method"] == "sendPhoto"]
    assert [p["caption"].split(":")[0] for p in photos] == ["📈 agency"]


def test_stats_all_counts_more_ranges_than_one_compound_statement_holds(
    ctx: EngineContext,
) -> None:
    """Each campaign's (step, variant) ranges are counted in UNION ALLs of at most 100 (SQLite
    takes 500): 40 campaigns of 6 ranges each make 3 of them."""
    expected = {}
    for i in range(40):
        cid = registry.create(ctx, None, f"c{i}").id
        r = Rows(ctx, cid)
        shape = {(0, "A"): 1 + i % 3, (0, "B"): 1, (1, "A"): 1, (1, "B"): i % 2}
        for (step, variant), n in shape.items():
            for _ in range(n):
                r.out(None, step, variant)
        expected[cid] = sum(shape.values())

    got = {t.campaign_id: t.figures.sent for t in compare(ctx, NOW)}

    assert got == {1: 0, **expected}


async def test_a_chart_that_cannot_be_drawn_is_said_in_words(
    stats_bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> bytes:
        raise RuntimeError("no fonts")

    monkeypatch.setattr("bot.handlers.stats.daily_chart", broken)
    _hand_placed(stats_bot.ctx)
    mark = stats_bot.fake.mark()

    await stats_bot.say("/stats", expect=lambda r: "<pre>" in (r["text"] or ""))
    said = await stats_bot.fake.wait_for_async(
        lambda r: r["text"] == CHART_FAILED, 10, chat_id=ADMIN, after=mark
    )

    assert said["method"] == "sendMessage"
    texts = [r["text"] or "" for r in stats_bot.fake.sent(ADMIN)[mark:]]
    assert not [t for t in texts if "Something went wrong" in t]
    assert "sendPhoto" not in [r["method"] for r in stats_bot.fake.sent(ADMIN)[mark:]]
