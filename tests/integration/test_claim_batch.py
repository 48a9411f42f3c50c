"""Claiming several emails in one transaction never lets more through than the gate would one
by one, and a batch that stops early gives the rest back untouched."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from engine.context import EngineContext
from engine.sending.claims import claim_batch
from engine.sending.pacing import Gate
from engine.sending.queue import run_send_queue
from engine.sending.smtp import SmtpMailer
from engine.states import Hold
from engine.storage.models import Lead, OutboundMessage
from tests.integration.sendkit import NO_PACING, add_leads, smtp_env, start
from tests.servers.smtp import SmtpServer

Ctx = Callable[..., EngineContext]


def _emails(n: int) -> list[str]:
    return [f"lead{i}@domain{i}.io" for i in range(n)]


def test_it_claims_no_more_than_the_daily_cap_in_one_batch(make_ctx: Ctx) -> None:
    ctx = make_ctx(DAILY_EMAIL_LIMIT="3", **NO_PACING)
    start(ctx)
    add_leads(ctx, *_emails(6))

    batch = claim_batch(ctx, 20)

    assert isinstance(batch, list) and len(batch) == 3
    held = claim_batch(ctx, 20)
    assert isinstance(held, Gate) and held.hold is Hold.DAILY_CAP


def test_it_claims_one_at_a_time_when_pacing_is_on(make_ctx: Ctx) -> None:
    ctx = make_ctx(MIN_DELAY_SECONDS="60", MAX_DELAY_SECONDS="60")
    start(ctx)
    add_leads(ctx, *_emails(4))

    batch = claim_batch(ctx, 20)

    assert isinstance(batch, list) and len(batch) == 1


def test_it_gives_back_the_rest_of_a_batch_untouched_when_sending_stops(
    make_ctx: Ctx, smtp_server: SmtpServer
) -> None:
    ctx = make_ctx(**smtp_env(smtp_server, **NO_PACING))
    start(ctx)
    add_leads(ctx, *_emails(5))
    with ctx.db.transaction() as session:
        due_before = {lead.email: lead.next_send_at for lead in session.scalars(select(Lead))}
    smtp_server.refuse_auth(True)

    mailer = SmtpMailer(ctx.smtp_settings())
    report = run_send_queue(ctx, mailer)
    mailer.close()

    assert report.sent == 0
    with ctx.db.transaction() as session:
        rows = list(session.scalars(select(OutboundMessage)))
        leads = list(session.scalars(select(Lead)))
        assert len(rows) == 1  # only the one attempted
        for lead in leads:
            assert lead.status == "pending"
            if lead.id != rows[0].lead_id:
                assert lead.queue == 2
                assert lead.next_send_at == due_before[lead.email]
                assert lead.first_subject is None
