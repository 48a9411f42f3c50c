"""An answer written in the chat is exactly-once through crashes, like every email: its claim
(the draft and its outbound row, ``sending`` with a lease) is committed before the SMTP
transaction, and a crash on either side of the server's 250 is settled from the Sent folder of
the lead's mailbox (Dovecot), never by sending it twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.inbox.sync import check_inbox
from engine.sending import answers
from engine.sending.claims import expire_leases
from engine.sending.queue import run_send_queue
from engine.sending.recovery import resolve_uncertain
from engine.sending.smtp import SmtpMailer
from engine.states import DraftState, MessageKind, OutboundState
from engine.storage.models import InboundMessage, OutboundMessage
from tests.integration.sendkit import mailbox_ctx
from tests.integration.test_inbox_sync import LEADS, reply, start

ADMIN = 1001
TEXT = "Happy to walk you through it — does Thursday 15:00 work?"


class Died(BaseException):
    """The process dies (kill -9): nothing after this line of the send runs."""


@pytest.fixture
def ctx(make_ctx: Any, dovecot: Any, smtp_server: Any) -> Any:
    ctx = mailbox_ctx(make_ctx, smtp_server, dovecot, FOLLOWUP_DELAYS="3d")
    smtp_server.on_store = lambda r: dovecot.deliver_to_sent(r.data)  # as Gmail keeps copies
    ours = start(ctx, ["ana"])  # proof that the server keeps Sent copies, too
    dovecot.deliver(reply("ana", ours["ana"], "Interesting — what would it cost?"))
    assert check_inbox(ctx).kinds == {"human": 1}
    return ctx


def ready_draft(ctx: Any) -> int:
    with ctx.db.transaction() as session:
        inbound_id = session.scalars(select(InboundMessage.id)).one()
    prompt = answers.start(ctx, ADMIN, ADMIN, inbound_id)
    assert answers.take_text(ctx, ADMIN, TEXT) is not None
    return prompt.draft_id


def answer_rows(ctx: Any) -> list[OutboundMessage]:
    with ctx.db.transaction() as session:
        rows = list(
            session.scalars(
                select(OutboundMessage).where(OutboundMessage.kind == MessageKind.ANSWER)
            )
        )
        session.expunge_all()
        return rows


def delivered(smtp_server: Any) -> int:
    return sum(
        1
        for m in smtp_server.by_recipient(LEADS["ana"])
        if TEXT in m.message.get_body().get_content()
    )


def test_a_connection_lost_after_the_server_took_it_is_settled_from_sent_not_resent(
    ctx: Any, smtp_server: Any
) -> None:
    draft = ready_draft(ctx)
    smtp_server.drop_after_store_next(1)  # taken and filed, but no 250 reaches us
    first = answers.send(ctx, draft)
    assert first.outcome == answers.Outcome.IN_FLIGHT
    assert answers.send(ctx, draft).outcome == answers.Outcome.IN_FLIGHT  # pressed again
    [row] = answer_rows(ctx)
    assert row.state == OutboundState.UNCERTAIN
    assert resolve_uncertain(ctx) == 1  # found in the Sent folder
    assert answers.preview(ctx, draft).state == DraftState.SENT
    assert answers.send(ctx, draft).outcome == answers.Outcome.ALREADY_SENT
    assert delivered(smtp_server) == 1


def test_a_death_between_the_claim_and_the_smtp_transaction_sends_it_once_after_restart(
    ctx: Any, smtp_server: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = ready_draft(ctx)

    def die(self: SmtpMailer, *args: Any, **kwargs: Any) -> None:
        raise Died

    with monkeypatch.context() as m:
        m.setattr(SmtpMailer, "send", die)
        with pytest.raises(Died):
            answers.send(ctx, draft)
    [row] = answer_rows(ctx)
    assert row.state == OutboundState.SENDING  # the claim was committed before the network
    assert delivered(smtp_server) == 0
    # Another press while the claim holds: nothing is sent twice.
    assert answers.send(ctx, draft).outcome == answers.Outcome.IN_FLIGHT

    expire_leases(ctx, everything=True)  # the restart (SQLite: one process)
    assert resolve_uncertain(ctx) == 0  # within the grace period: wait for a copy
    clock.advance(timedelta(seconds=ctx.settings.sent_copy_grace_seconds + 1))
    assert resolve_uncertain(ctx) == 1  # no copy on a server that keeps them: queued again
    [row] = answer_rows(ctx)
    assert row.state == OutboundState.QUEUED
    mailer = SmtpMailer(ctx.smtp_settings())
    try:
        run_send_queue(ctx, mailer)
    finally:
        mailer.close()
    [again] = answer_rows(ctx)
    assert again.state == OutboundState.SENT and again.message_id == row.message_id
    assert delivered(smtp_server) == 1
    assert answers.preview(ctx, draft).state == DraftState.SENT


def test_open_drafts_expire_after_a_day_and_a_sent_one_stays_sent(ctx: Any, clock: Any) -> None:
    ready = ready_draft(ctx)
    with ctx.db.transaction() as session:
        inbound_id = session.scalars(select(InboundMessage.id)).one()
    waiting = answers.start(ctx, ADMIN + 1, ADMIN + 1, inbound_id).draft_id
    clock.advance(timedelta(hours=23))
    assert answers.expire(ctx) == 0
    clock.advance(timedelta(hours=1, seconds=1))
    assert answers.expire(ctx) == 2
    assert answers.preview(ctx, ready).state == DraftState.EXPIRED
    assert answers.preview(ctx, waiting).state == DraftState.EXPIRED
    assert answers.take_text(ctx, ADMIN + 1, "too late") is None  # no draft awaits text now
