"""Uncertain sends settled against a real Dovecot Sent folder: found → sent; not found on a
server known to keep copies → resent with the same Message-ID; no way to tell → the operator is
asked, nothing is resent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from engine.clock import FakeClock
from engine.context import EngineContext
from engine.sending.queue import run_send_queue
from engine.sending.recovery import resolve_uncertain
from engine.sending.smtp import SmtpMailer
from engine.states import OutboundState
from tests.integration.sendkit import add_leads, mailbox_ctx, outbound, outbox, start, words
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SmtpServer

Ctx = Callable[..., EngineContext]


def _ctx(make_ctx: Ctx, smtp: SmtpServer, dovecot: Dovecot) -> EngineContext:
    return mailbox_ctx(make_ctx, smtp, dovecot)


def _send(ctx: EngineContext) -> None:
    mailer = SmtpMailer(ctx.smtp_settings())
    try:
        run_send_queue(ctx, mailer)
    finally:
        mailer.close()


def test_it_marks_an_uncertain_send_found_in_sent_as_sent(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot
) -> None:
    ctx = _ctx(make_ctx, smtp_server, dovecot)
    smtp_server.on_store = lambda r: dovecot.deliver_to_sent(r.data)
    start(ctx)
    add_leads(ctx, "ana@acme.io")
    smtp_server.drop_after_store_next(1)
    _send(ctx)
    assert [m.state for m in outbound(ctx)] == [OutboundState.UNCERTAIN]

    assert resolve_uncertain(ctx) == 1

    (row,) = outbound(ctx)
    assert row.state == OutboundState.SENT
    assert len(smtp_server.messages) == 1


def test_it_resends_with_the_same_message_id_when_the_copy_never_appears(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot, clock: FakeClock
) -> None:
    ctx = _ctx(make_ctx, smtp_server, dovecot)
    start(ctx)
    add_leads(ctx, "ana@acme.io", "bob@beta.io")
    copies = [True]
    smtp_server.on_store = lambda r: copies[0] and dovecot.deliver_to_sent(r.data)
    _send(ctx)  # both sent normally, with Sent copies: proof that the server keeps them
    assert {m.state for m in outbound(ctx)} == {OutboundState.SENT}
    add_leads(ctx, "cleo@gamma.io")
    copies[0] = False
    smtp_server.drop_after_store_next(1)  # taken but, this time, no copy and no answer
    clock.advance(timedelta(minutes=5))
    _send(ctx)
    uncertain = [m for m in outbound(ctx) if m.state == OutboundState.UNCERTAIN]
    assert len(uncertain) == 1

    assert resolve_uncertain(ctx) == 0  # within the grace period: wait for the copy
    clock.advance(timedelta(seconds=ctx.settings.sent_copy_grace_seconds + 1))
    assert resolve_uncertain(ctx) == 1

    (row,) = [m for m in outbound(ctx) if m.id == uncertain[0].id]
    assert row.state == OutboundState.QUEUED
    assert row.message_id == uncertain[0].message_id


def test_it_asks_the_operator_when_it_cannot_tell(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot, clock: FakeClock
) -> None:
    ctx = _ctx(make_ctx, smtp_server, dovecot)
    start(ctx)
    add_leads(ctx, "ana@acme.io")
    smtp_server.drop_after_store_next(1)  # the very first email: nothing to learn from yet
    _send(ctx)
    clock.advance(timedelta(seconds=ctx.settings.sent_copy_grace_seconds + 1))

    assert resolve_uncertain(ctx) == 0
    assert resolve_uncertain(ctx) == 0

    assert [m.state for m in outbound(ctx)] == [OutboundState.UNCERTAIN]
    alerts = outbox(ctx, "alert")
    assert len(alerts) == 1 and "/uncertain" in words(alerts[0])
    assert len(smtp_server.messages) == 1  # never resent on its own


def test_it_tells_the_operator_again_once_it_learns_the_server_keeps_no_sent_copy(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot, clock: FakeClock
) -> None:
    ctx = _ctx(make_ctx, smtp_server, dovecot)
    start(ctx)
    add_leads(ctx, "ana@acme.io")
    smtp_server.drop_after_store_next(1)  # the very first email: nothing to learn from yet
    _send(ctx)
    clock.advance(timedelta(seconds=ctx.settings.sent_copy_grace_seconds + 1))
    assert resolve_uncertain(ctx) == 0
    (first,) = outbox(ctx, "alert")
    assert "not yet known" in words(first)

    add_leads(ctx, "bob@beta.io")  # sent normally, and the server keeps no copy of it
    _send(ctx)
    clock.advance(timedelta(seconds=ctx.settings.sent_copy_grace_seconds + 1))
    assert resolve_uncertain(ctx) == 0
    assert resolve_uncertain(ctx) == 0  # the same verdict again is not news

    alerts = outbox(ctx, "alert")
    assert len(alerts) == 2
    assert "keeps no Sent copy" in words(alerts[1]) and "/uncertain" in words(alerts[1])
    assert [m.state for m in outbound(ctx) if m.to_email == "ana@acme.io"] == [
        OutboundState.UNCERTAIN
    ]
