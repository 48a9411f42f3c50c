"""The send queue against the real aiosmtpd server, on SQLite and PostgreSQL, with a FakeClock:
order, follow-up threads, the Message-ID written before SMTP, and what each provider error means.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from engine import campaign
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.leads import service as leads
from engine.sending.claims import claim_next
from engine.sending.messages import make_message_id
from engine.sending.pacing import Gate
from engine.sending.queue import run_send_queue
from engine.states import BlockReason, CampaignState, Hold, LeadStatus, MessageKind, OutboundState
from engine.storage import store
from engine.storage.models import CALENDAR_STEP, Lead, OutboundMessage
from tests.integration.sendkit import (
    add_leads,
    lead,
    outbound,
    outbox,
    send_next,
    set_status,
    start,
    words,
)
from tests.servers.smtp import Received, SmtpServer

Ctx = Callable[..., EngineContext]


def message_ids(server: SmtpServer) -> list[str]:
    return [str(m.message["Message-ID"]) for m in server.messages]


# --- order and threads ----------------------------------------------------------------------


def test_it_sends_calendar_answers_then_due_followups_then_new_leads(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx(FOLLOWUP_DELAYS="1h")
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, "ann@a.example", "bob@b.example", "dee@d.example")
    assert run_send_queue(ctx, mailer).sent == 3
    clock.advance(timedelta(hours=1))
    add_leads(ctx, "cat@c.example")
    set_status(ctx, "dee@d.example", LeadStatus.REPLIED)
    dee = lead(ctx, "dee@d.example")
    with ctx.db.transaction() as session:
        session.add(
            OutboundMessage(
                lead_id=dee.id,
                kind=MessageKind.CALENDAR,
                step=CALENDAR_STEP,
                message_id=make_message_id("sender@example.com"),
                to_email=dee.email,
                subject="Re: hello",
                body="Book a time: https://cal.example.com/sam",
                state=OutboundState.QUEUED,
                attempts=0,
                created_at=clock.now(),
            )
        )
    smtp_server.clear_messages()

    assert run_send_queue(ctx, mailer).sent == 4

    order = [m.rcpt_tos[0] for m in smtp_server.messages]
    assert order == ["dee@d.example", "ann@a.example", "bob@b.example", "cat@c.example"]
    assert "cal.example.com" in smtp_server.messages[0].message.get_content()


def test_it_sends_each_followup_as_a_reply_in_the_same_thread(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx(FOLLOWUP_DELAYS="1h,2h")
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, "ann@a.example")
    assert send_next(ctx, mailer) == "sent"
    clock.advance(timedelta(minutes=59))
    assert isinstance(claim_next(ctx), Gate)  # not due before the first wait is over
    clock.advance(timedelta(minutes=1))
    assert send_next(ctx, mailer) == "sent"
    clock.advance(timedelta(hours=2))
    assert send_next(ctx, mailer) == "sent"

    first, second, third = (m.message for m in smtp_server.messages)
    ids = [str(m["Message-ID"]) for m in (first, second, third)]
    assert second["In-Reply-To"] == ids[0]
    assert str(second["References"]).split() == ids[:1]
    assert third["In-Reply-To"] == ids[1]
    assert str(third["References"]).split() == ids[:2]
    assert second["Subject"] == third["Subject"] == "Re: " + first["Subject"]


def test_it_marks_the_lead_completed_after_the_last_followup(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx(FOLLOWUP_DELAYS="1h,1h")
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, "ann@a.example")
    for _ in range(3):
        assert send_next(ctx, mailer) == "sent"
        assert lead(ctx, "ann@a.example").status != LeadStatus.COMPLETED or _ == 2
        clock.advance(timedelta(hours=1))

    assert lead(ctx, "ann@a.example").status == LeadStatus.COMPLETED
    clock.advance(timedelta(days=30))
    assert run_send_queue(ctx, mailer).sent == 0
    assert len(smtp_server.messages) == 3


def test_it_sends_no_followup_to_a_lead_that_replied(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx(FOLLOWUP_DELAYS="1h,1h")
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, "ann@a.example", "bob@b.example")
    assert run_send_queue(ctx, mailer).sent == 2
    set_status(ctx, "ann@a.example", LeadStatus.REPLIED)
    for _ in range(3):
        clock.advance(timedelta(days=1))
        run_send_queue(ctx, mailer)

    assert len(smtp_server.by_recipient("ann@a.example")) == 1
    assert len(smtp_server.by_recipient("bob@b.example")) == 3
    assert [m.step for m in outbound(ctx, "ann@a.example")] == [0]


# --- the Message-ID is stored before SMTP ---------------------------------------------------


def test_it_commits_the_message_id_before_the_smtp_transaction(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer
) -> None:
    ctx = engine_ctx()
    seen: list[tuple[str, str | None]] = []

    def look_up(received: Received) -> None:
        # Runs inside the server while the client waits for the 250: read what is committed.
        mid = str(received.message["Message-ID"])
        with ctx.db.transaction() as session:
            state = session.scalar(
                select(OutboundMessage.state).where(OutboundMessage.message_id == mid)
            )
        seen.append((mid, state))

    smtp_server.on_store = look_up
    start(ctx)
    add_leads(ctx, "ann@a.example")

    assert send_next(ctx, mailers(ctx)) == "sent"

    assert seen == [(message_ids(smtp_server)[0], OutboundState.SENDING)]


def test_it_marks_a_send_uncertain_with_the_message_id_the_server_stored(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer
) -> None:
    ctx = engine_ctx()
    start(ctx)
    add_leads(ctx, "ann@a.example")
    smtp_server.drop_after_store_next(1)

    assert send_next(ctx, mailers(ctx)) == "uncertain"

    (row,) = outbound(ctx)
    assert row.state == OutboundState.UNCERTAIN
    assert message_ids(smtp_server) == [row.message_id]


# --- provider errors by meaning -------------------------------------------------------------


def test_it_pauses_without_touching_leads_when_the_login_is_refused(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer
) -> None:
    ctx = engine_ctx()
    start(ctx)
    add_leads(ctx, "ann@a.example", "bob@b.example", "cat@c.example")
    smtp_server.refuse_auth()

    run_send_queue(ctx, mailers(ctx))
    run_send_queue(ctx, mailers(ctx))

    assert campaign.status(ctx).state == CampaignState.PAUSED
    assert len(outbox(ctx, "alert")) == 1
    assert {lead(ctx, e).status for e in ("ann@a.example", "bob@b.example", "cat@c.example")} == {
        LeadStatus.PENDING
    }
    assert smtp_server.auth_attempts == 1
    assert [m.state for m in outbound(ctx)] == [OutboundState.QUEUED]


def test_it_holds_sending_for_24_hours_when_the_quota_is_used_up(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx()
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, "ann@a.example", "bob@b.example")
    smtp_server.quota_exceeded()

    assert send_next(ctx, mailer) == "quota"
    smtp_server.quota_exceeded(False)
    clock.advance(timedelta(hours=23, minutes=59))
    held = claim_next(ctx)

    assert isinstance(held, Gate) and held.hold is Hold.BLOCKED
    assert held.detail == {"reason": BlockReason.QUOTA}
    assert len(outbox(ctx, "alert")) == 1
    assert {lead(ctx, e).status for e in ("ann@a.example", "bob@b.example")} == {LeadStatus.PENDING}
    clock.advance(timedelta(minutes=1))
    assert run_send_queue(ctx, mailer).sent == 2


def test_it_retries_the_same_message_after_a_temporary_failure(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx()
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, "ann@a.example", "bob@b.example", "cat@c.example")
    smtp_server.tempfail_next(2)

    assert send_next(ctx, mailer) == "retry"
    first_try = outbound(ctx)[0]
    for _ in range(10):
        clock.advance(timedelta(hours=1))
        run_send_queue(ctx, mailer)

    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == [
        "ann@a.example",
        "bob@b.example",
        "cat@c.example",
    ]
    (ann,) = smtp_server.by_recipient("ann@a.example")
    assert ann.message["Message-ID"] == first_try.message_id
    assert first_try.not_before is not None and first_try.not_before > first_try.attempted_at
    assert len(outbound(ctx)) == 3


def test_it_bounces_a_lead_whose_address_the_server_rejects(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer
) -> None:
    ctx = engine_ctx()
    start(ctx)
    add_leads(ctx, "ann@a.example", "gone@b.example", "cat@c.example")
    smtp_server.reject_recipient("gone@b.example")

    for _ in range(3):
        send_next(ctx, mailers(ctx))

    assert lead(ctx, "gone@b.example").status == LeadStatus.BOUNCED
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == [
        "ann@a.example",
        "cat@c.example",
    ]
    assert campaign.status(ctx).state == CampaignState.RUNNING


def test_it_pauses_and_restores_the_leads_when_three_domains_reject_in_a_row(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer
) -> None:
    ctx = engine_ctx()
    start(ctx)
    rejected = ["x@a.example", "y@b.example", "z@c.example"]
    add_leads(ctx, *rejected, "ok@d.example")
    for addr in rejected:
        smtp_server.reject_recipient(addr)

    run_send_queue(ctx, mailers(ctx))

    assert campaign.status(ctx).state == CampaignState.PAUSED
    assert [lead(ctx, e).status for e in rejected] == [LeadStatus.PENDING] * 3
    assert len(outbox(ctx, "alert")) == 1
    assert smtp_server.messages == []


def test_it_pauses_with_the_server_text_when_content_is_blocked(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer
) -> None:
    ctx = engine_ctx()
    start(ctx)
    add_leads(ctx, "ann@a.example", "bob@b.example")
    smtp_server.block_content_next(1)

    run_send_queue(ctx, mailers(ctx))

    assert campaign.status(ctx).state == CampaignState.PAUSED
    (alert,) = outbox(ctx, "alert")
    assert "Message rejected due to content" in words(alert)
    assert lead(ctx, "ann@a.example").status == LeadStatus.PENDING
    assert smtp_server.messages == []


def test_it_raises_the_busy_alert_once_and_clears_it_once(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx()
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, "ann@a.example", "bob@b.example", "cat@c.example")
    smtp_server.tempfail_next(8)

    for _ in range(20):
        run_send_queue(ctx, mailer)
        clock.advance(timedelta(hours=1))

    assert len(smtp_server.messages) == 3
    assert len(outbox(ctx, "alert")) == 1
    assert len(outbox(ctx, "cleared")) == 1


def test_it_clears_the_quota_alert_once_when_sending_works_again(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx()
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, "ann@a.example", "bob@b.example", "cat@c.example")
    smtp_server.quota_exceeded()
    run_send_queue(ctx, mailer)
    smtp_server.quota_exceeded(False)
    clock.advance(timedelta(hours=24))

    assert run_send_queue(ctx, mailer).sent == 3

    cleared = outbox(ctx, "cleared")
    assert [c.payload.get("condition") for c in cleared] == ["quota"]


# --- state, suppression, stop_domain --------------------------------------------------------


def test_it_keeps_campaign_and_pacing_state_across_a_restart(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx(MIN_DELAY_SECONDS="600", MAX_DELAY_SECONDS="600")
    start(ctx)
    add_leads(ctx, "ann@a.example", "bob@b.example")
    assert send_next(ctx, mailers(ctx)) == "sent"

    restarted = EngineContext(db=ctx.db, settings=ctx.settings, clock=clock)

    assert campaign.status(restarted).state == CampaignState.RUNNING
    held = claim_next(restarted)
    assert isinstance(held, Gate) and held.wait_until == clock.now() + timedelta(seconds=600)


def test_it_remembers_a_pause_across_a_restart(engine_ctx: Ctx, clock: FakeClock) -> None:
    ctx = engine_ctx()
    start(ctx)
    campaign.pause(ctx)

    restarted = EngineContext(db=ctx.db, settings=ctx.settings, clock=clock)

    assert campaign.status(restarted).state == CampaignState.PAUSED


def test_it_respects_a_suppression_added_after_the_import(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx()
    start(ctx)
    add_leads(ctx, "ann@a.example", "bob@b.example", "cat@nope.example")
    with ctx.db.transaction() as session:
        store.suppress(session, clock.now(), "ann@a.example", "email", "asked to be removed")
        store.suppress(session, clock.now(), "nope.example", "domain", "no thanks")

    run_send_queue(ctx, mailers(ctx))

    assert [m.rcpt_tos for m in smtp_server.messages] == [["bob@b.example"]]
    assert lead(ctx, "ann@a.example").status == LeadStatus.UNSUBSCRIBED
    assert lead(ctx, "cat@nope.example").status == LeadStatus.STOPPED


def test_it_sends_nothing_more_to_a_stopped_domain(
    engine_ctx: Ctx, mailers, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx(FOLLOWUP_DELAYS="1h")
    mailer = mailers(ctx)
    start(ctx)
    add_leads(ctx, "ann@acme.example", "cat@other.example")
    assert run_send_queue(ctx, mailer).sent == 2
    add_leads(ctx, "bob@acme.example")
    domain, stopped = leads.stop_domain(ctx, lead(ctx, "ann@acme.example").id)
    clock.advance(timedelta(hours=2))

    run_send_queue(ctx, mailer)

    assert (domain, stopped) == ("acme.example", 2)
    assert smtp_server.by_recipient("bob@acme.example") == []
    assert len(smtp_server.by_recipient("ann@acme.example")) == 1
    assert len(smtp_server.by_recipient("cat@other.example")) == 2


def test_it_counts_one_outbound_message_per_lead_and_step(engine_ctx: Ctx, mailers) -> None:
    ctx = engine_ctx()
    start(ctx)
    add_leads(ctx, "ann@a.example", "bob@b.example")

    run_send_queue(ctx, mailers(ctx))

    with ctx.db.transaction() as session:
        rows = session.execute(select(OutboundMessage.lead_id, OutboundMessage.state)).all()
        ids = set(session.scalars(select(Lead.id)))
    assert sorted(r.lead_id for r in rows) == sorted(ids)
    assert {r.state for r in rows} == {OutboundState.SENT}
