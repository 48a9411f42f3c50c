"""Uncertain sends with several mailboxes, settled against the Sent folder of the mailbox that
sent them (one real Dovecot with a user per mailbox, one aiosmtpd with a login per mailbox), on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.clock import FakeClock
from engine.context import EngineContext
from engine.errors import AccountBroken
from engine.sending.recovery import resolve_uncertain
from engine.states import OutboundState
from engine.storage.models import Alert, MailboxState
from tests.integration.sendkit import add_leads, lead, outbound, outbox, start, words
from tests.integration.test_inbox_mailboxes import BEA, CAI, send, setup
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import Received, SmtpServer

Ctx = Callable[..., EngineContext]


def keep_sent_copies(smtp: SmtpServer, dovecot: Dovecot, *logins: str) -> None:
    """The server files a copy of what these logins send in their own Sent folder."""

    def store(r: Received) -> None:
        if r.login in logins:
            dovecot.deliver_to_sent(r.data, user=r.login)

    smtp.on_store = store


def uncertain_of(ctx: EngineContext, mailbox_id: int) -> list[int]:
    return [
        m.id
        for m in outbound(ctx)
        if m.state == OutboundState.UNCERTAIN and m.mailbox_id == mailbox_id
    ]


def test_it_settles_a_mailboxs_uncertain_send_from_that_mailboxs_sent_folder(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot
) -> None:
    ctx = setup(make_ctx, smtp_server, dovecot)
    keep_sent_copies(smtp_server, dovecot, dovecot.user, BEA)
    add_leads(ctx, "ana@acme.io", "bob@beta.io")
    start(ctx)
    smtp_server.drop_after_store_next(1, login=BEA)
    send(ctx)  # mailbox 1's email goes; mailbox 2's is taken but never answered
    (row_id,) = uncertain_of(ctx, 2)
    assert dovecot.inbox_count(dovecot.sent_name, user=BEA) == 1
    assert dovecot.inbox_count(dovecot.sent_name) == 1  # mailbox 1's own email only

    assert resolve_uncertain(ctx) == 1

    (row,) = [m for m in outbound(ctx) if m.id == row_id]
    assert row.state == OutboundState.SENT
    assert lead(ctx, row.to_email).status == "sent"
    assert outbox(ctx, "alert") == []
    assert len(smtp_server.by_login(BEA)) == 1  # never sent twice


def test_another_mailboxs_sent_copies_prove_nothing_and_the_alert_names_the_mailbox(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot, clock: FakeClock
) -> None:
    ctx = setup(make_ctx, smtp_server, dovecot)
    keep_sent_copies(smtp_server, dovecot, dovecot.user)  # mailbox 2's server keeps none
    add_leads(ctx, "ana@acme.io", "bob@beta.io")
    start(ctx)
    smtp_server.drop_after_store_next(1, login=BEA)
    send(ctx)
    (row_id,) = uncertain_of(ctx, 2)
    clock.advance(timedelta(seconds=ctx.settings.sent_copy_grace_seconds + 1))

    # Mailbox 1 has sent long enough ago to show that ITS server keeps copies; that says
    # nothing of mailbox 2's, which has nothing to probe with yet: ask, never resend blindly.
    assert resolve_uncertain(ctx) == 0
    assert resolve_uncertain(ctx) == 0

    assert uncertain_of(ctx, 2) == [row_id]
    (alert,) = outbox(ctx, "alert")
    assert alert.payload["mailbox"] == BEA and alert.payload["mailbox_id"] == 2
    assert words(alert).startswith(f"❔ Some emails from {BEA} may or may not have gone out")
    assert "not yet known" in words(alert) and "/uncertain" in words(alert)
    with ctx.db.transaction() as session:
        scopes = list(session.scalars(select(Alert.scope).where(Alert.active.is_(True))))
        checks = {m.id: m.sent_copy_check for m in session.scalars(select(MailboxState))}
    assert scopes == ["mailbox:2"]
    assert checks[2] == "unknown"

    # The copy turns up late in mailbox 2's Sent folder: settled, and the admins hear it.
    (dropped,) = smtp_server.by_login(BEA)
    dovecot.deliver_to_sent(dropped.data, user=BEA)
    assert resolve_uncertain(ctx) == 1

    assert uncertain_of(ctx, 2) == []
    (cleared,) = outbox(ctx, "cleared")
    assert words(cleared) == f"✅ No email from {BEA} has an unknown delivery now."


def test_a_mailbox_whose_imap_fails_does_not_keep_the_others_unsettled(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot
) -> None:
    ctx = setup(make_ctx, smtp_server, dovecot)
    keep_sent_copies(smtp_server, dovecot, BEA, CAI)
    add_leads(ctx, "ana@acme.io", "bob@beta.io", "cleo@gamma.io")
    start(ctx)
    smtp_server.drop_after_store_next(1, login=BEA)
    smtp_server.drop_after_store_next(1, login=CAI)
    send(ctx)
    assert len(uncertain_of(ctx, 2)) == 1
    (three,) = uncertain_of(ctx, 3)
    dovecot.set_password("changed-elsewhere", user=CAI)

    with pytest.raises(AccountBroken):
        resolve_uncertain(ctx)

    assert uncertain_of(ctx, 2) == []  # settled from mailbox 2's Sent folder
    assert uncertain_of(ctx, 3) == [three]
