"""The midnight reset catches up: a day that began while every replica was down, or in a zone
changed from the chat, still gets exactly one reset; a brand-new install posts no summary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.messages import render
from engine import campaign
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.notify import Notification
from engine.scheduler import Scheduler
from engine.states import CampaignState, LeadStatus
from tests.integration.sendkit import add_leads, outbox, set_status

Ctx = Callable[..., EngineContext]


def test_it_records_the_first_day_silently(make_ctx: Ctx, clock: FakeClock) -> None:
    ctx = make_ctx()
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))

    assert Scheduler(ctx).midnight_missed() is False
    assert Scheduler(ctx).midnight_missed() is False
    assert outbox(ctx, "summary") == []


def test_it_catches_up_a_missed_midnight_once(make_ctx: Ctx, clock: FakeClock) -> None:
    ctx = make_ctx()
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    engine = Scheduler(ctx)
    engine.midnight_missed()  # day one recorded
    clock.set(datetime(2026, 3, 3, 3, 0, tzinfo=UTC))  # down at midnight, back at 03:00

    assert engine.midnight_missed() is True
    assert engine.midnight_reset() is True
    assert engine.midnight_missed() is False
    assert engine.midnight_reset() is False
    assert len(outbox(ctx, "summary")) == 1


def test_it_follows_a_timezone_changed_from_the_chat(make_ctx: Ctx, clock: FakeClock) -> None:
    ctx = make_ctx(TIMEZONE="UTC")
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    engine = Scheduler(ctx)
    engine.midnight_missed()  # 2026-03-02 in UTC
    campaign.change_setting(ctx, "timezone", "Pacific/Auckland")  # UTC+13: already the 3rd
    clock.advance(timedelta(hours=1))

    assert engine.midnight_missed() is True
    assert engine.midnight_reset() is True
    assert engine.midnight_missed() is False


def test_it_posts_the_summary_as_counts_the_bot_words(make_ctx: Ctx, clock: FakeClock) -> None:
    ctx = make_ctx()
    clock.set(datetime(2026, 3, 2, 0, 0, 5, tzinfo=UTC))
    add_leads(ctx, "ana@acme.io", "bob@acme.io", "cleo@beta.io")
    set_status(ctx, "ana@acme.io", LeadStatus.BOUNCED)
    set_status(ctx, "bob@acme.io", LeadStatus.UNSUBSCRIBED)

    assert Scheduler(ctx).midnight_reset() is True

    (summary,) = outbox(ctx, "summary")
    assert summary.text == ""  # the engine wrote no words
    assert summary.payload == {
        "sent": 0,
        "replies": 0,
        "bounced": 1,
        "opted_out": 1,
        "campaign": CampaignState.STOPPED,
    }
    shown = render(Notification(summary.id, summary.kind, summary.text, summary.payload))
    assert shown.text == (
        "🌙 Yesterday: 0 sent, 0 replies; 1 bounced and 1 opted out in total. "
        "Daily counter reset; campaign is stopped."
    )


def test_with_several_campaigns_the_summary_has_a_line_per_running_one(
    make_ctx: Ctx, clock: FakeClock
) -> None:
    from sqlalchemy import update

    from engine.campaigns import registry
    from engine.storage.models import InboundMessage, Lead, OutboundMessage

    ctx = make_ctx()
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    b = registry.create(ctx, None, "agency").id
    registry.create(ctx, None, "idle-one")  # stopped: no line
    add_leads(ctx, "ana@acme.io")
    campaign.run(ctx)
    campaign.run(ctx, b)
    with ctx.db.transaction() as session:  # yesterday: two emails of agency, one reply there
        lead = session.query(Lead).one()
        for step in (0, 1):
            session.add(
                OutboundMessage(
                    lead_id=lead.id,
                    kind="initial" if step == 0 else "followup",
                    step=step,
                    message_id=f"<m{step}@x>",
                    to_email=lead.email,
                    subject="s",
                    body="b",
                    state="sent",
                    attempts=1,
                    sent_at=clock.now(),
                    attempted_at=clock.now(),
                    campaign_id=b,
                    created_at=clock.now(),
                )
            )
        session.execute(update(Lead).values(replied_at=clock.now(), campaign_id=b))
        session.add(  # the reply, as the inbox records it
            InboundMessage(
                message_id="<r1@acme.io>",
                lead_id=lead.id,
                kind="human",
                from_email=lead.email,
                seen_at=clock.now(),
                campaign_id=b,
                step=1,
                variant="A",
            )
        )
    clock.set(datetime(2026, 3, 3, 0, 0, 5, tzinfo=UTC))

    assert Scheduler(ctx).midnight_reset() is True

    (summary,) = outbox(ctx, "summary")
    assert [(c["name"], c["sent"], c["replies"]) for c in summary.payload["campaigns"]] == [
        ("default", 0, 0),
        ("agency", 2, 1),
    ]
    shown = render(Notification(summary.id, summary.kind, summary.text, summary.payload)).text
    lines = shown.splitlines()
    assert lines[0] == "🌙 Yesterday: 2 sent, 1 replies. Daily counter reset."
    assert lines[1].startswith("• default: 0 sent, 0 replies")
    assert lines[2].startswith("• agency: 2 sent, 1 reply")
    assert len(lines) == 3  # the stopped campaign has no line
