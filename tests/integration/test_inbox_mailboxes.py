"""The reply check with several mailboxes, against one real Dovecot with a user per mailbox and
one aiosmtpd with a login per mailbox, on SQLite and PostgreSQL: every mailbox's INBOX is read
(paused ones too) with its own mark, a reply stops its lead whichever mailbox it reached, our
own messages are known by any of our addresses, and a mailbox whose IMAP login is refused gets
its own alert while the others are still read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.messages import render
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.delivery import deliver_notifications
from engine.inbox.mailbox_checks import IMAP_ALERT_AFTER
from engine.inbox.sync import check_inbox
from engine.notify import Notification
from engine.scheduler import REPLIES, Scheduler
from engine.sending.rotation import send_round
from engine.sending.smtp import SmtpMailer
from engine.states import AlertCondition, MailboxStatus
from engine.storage.models import Alert, ImapSync, InboundMessage, Lead, Mailbox, OutboundMessage
from tests import mailshapes
from tests.integration.sendkit import add_leads, lead, mailbox_ctx, outbox, start, words
from tests.integration.test_mailbox_rotation import KEY, add_mailbox
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SmtpServer

Ctx = Callable[..., EngineContext]
BEA, CAI = "bea@example.com", "cai@example.com"
PASSWORDS = {BEA: "pw-bea-1", CAI: "pw-cai-2"}
CALENDAR_LINK = "https://cal.example.com/sam"  # tests/conftest.py's BASE_ENV


def setup(make_ctx: Ctx, smtp: SmtpServer, dovecot: Dovecot, **env: str) -> EngineContext:
    """Mailbox 1 is the environment's (Dovecot's default user); 2 and 3 were added from the
    chat, each a Dovecot user and an SMTP login of its own."""
    ctx = mailbox_ctx(make_ctx, smtp, dovecot, SECRET_KEY=KEY, FOLLOWUP_DELAYS="1d", **env)
    for email, password in PASSWORDS.items():
        smtp.add_login(email, password)
        dovecot.add_user(email, password)
        add_mailbox(
            ctx,
            email,
            password,
            imap_server="127.0.0.1",
            imap_port=dovecot.port,
            imap_security="none",
        )
    return ctx


def send(ctx: EngineContext) -> int:
    return send_round(ctx, lambda a: SmtpMailer(a.smtp), vault=ctx.vault).sent


def thread_of(ctx: EngineContext, mailbox_id: int) -> tuple[str, str]:
    """(lead address, first Message-ID) of the only lead whose thread lives in ``mailbox_id``."""
    with ctx.db.transaction() as session:
        row = session.execute(
            select(Lead.email, OutboundMessage.message_id)
            .join(OutboundMessage, OutboundMessage.lead_id == Lead.id)
            .where(Lead.mailbox_id == mailbox_id, OutboundMessage.step == 0)
        ).one()
        return row[0], row[1]


def thread_of_nth(ctx: EngineContext, mailbox_id: int, n: int) -> tuple[str, str]:
    """(lead address, first Message-ID) of the ``n``-th lead (1-based) of ``mailbox_id``."""
    with ctx.db.transaction() as session:
        rows = session.execute(
            select(Lead.email, OutboundMessage.message_id)
            .join(OutboundMessage, OutboundMessage.lead_id == Lead.id)
            .where(Lead.mailbox_id == mailbox_id, OutboundMessage.step == 0)
            .order_by(Lead.id)
        ).all()
        return rows[n - 1][0], rows[n - 1][1]


def reply_id(from_addr: str) -> str:
    return f"<reply-{from_addr.split('@')[0]}@mail.gmail.com>"


def reply(from_addr: str, to_addr: str, our_id: str) -> bytes:
    return mailshapes.threaded_reply(
        from_addr,
        to_addr,
        our_id,
        [our_id],
        "Sounds interesting, tell me more.",
        mailshapes.default_original_body(),
        message_id=reply_id(from_addr),
    )


def marks(ctx: EngineContext) -> dict[int, int]:
    with ctx.db.transaction() as session:
        return {m.mailbox_id: m.last_uid for m in session.scalars(select(ImapSync))}


def last_checks(ctx: EngineContext) -> dict[int, datetime | None]:
    with ctx.db.transaction() as session:
        return {b.id: b.last_check_at for b in session.scalars(select(Mailbox))}


def active_alerts(ctx: EngineContext) -> list[tuple[str, str]]:
    with ctx.db.transaction() as session:
        rows = session.scalars(select(Alert).where(Alert.active.is_(True)))
        return sorted((a.condition, a.scope) for a in rows)


class Recorder:
    """A notifier that keeps the words the admins would read."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def deliver(self, batch: list[Notification]) -> None:
        self.texts += [render(n).text for n in batch]


async def test_a_reply_in_another_mailboxs_inbox_stops_its_lead_and_reaches_the_admins(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot, clock: FakeClock
) -> None:
    ctx = setup(make_ctx, smtp_server, dovecot)
    add_leads(ctx, "ana@acme.io", "bob@beta.io", "cleo@gamma.io")
    start(ctx)
    assert send(ctx) == 3  # one first email per mailbox
    of1, of2, of3 = (thread_of(ctx, i) for i in (1, 2, 3))  # (lead, Message-ID)
    with ctx.db.transaction() as session:
        box = session.get(Mailbox, 3)
        assert box is not None
        box.state, box.hold = MailboxStatus.PAUSED, "admin"  # paused: its replies still count
    uid2 = dovecot.append(reply(of2[0], BEA, of2[1]), user=BEA)
    uid3 = dovecot.append(reply(of3[0], CAI, of3[1]), user=CAI)
    assert uid2 is not None and uid3 is not None

    assert check_inbox(ctx).kinds == {"human": 2}

    assert (lead(ctx, of2[0]).status, lead(ctx, of3[0]).status) == ("replied", "replied")
    assert lead(ctx, of1[0]).status == "sent"
    with ctx.db.transaction() as session:
        rows = session.execute(select(InboundMessage.from_email, InboundMessage.mailbox_id))
        read_from = {email: mailbox_id for email, mailbox_id in rows}
    assert read_from == {of2[0]: 2, of3[0]: 3}
    assert marks(ctx) == {1: 0, 2: uid2, 3: uid3}
    assert all(when == clock.now() for when in last_checks(ctx).values())
    recorder = Recorder()
    await deliver_notifications(ctx, recorder)
    assert any(of2[0] in text and "tell me more" in text for text in recorder.texts)

    clock.advance(timedelta(days=1, minutes=1))
    smtp_server.clear_messages()
    assert check_inbox(ctx).fetched == 0  # each mailbox goes on from its own mark
    # of1's follow-up; of2's calendar answer from its mailbox; of3's waits for the paused one
    assert send(ctx) == 2
    got = {m.rcpt_tos[0]: m for m in smtp_server.wait_for(2)}
    assert got.keys() == {of1[0], of2[0]}
    assert CALENDAR_LINK in got[of2[0]].message.get_content()
    assert (got[of2[0]].login, got[of2[0]].message["In-Reply-To"]) == (
        BEA,
        reply_id(of2[0]),
    )
    assert got[of1[0]].login == dovecot.user


def test_a_mailbox_that_never_sent_starts_at_its_newest_message(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot
) -> None:
    ctx = setup(make_ctx, smtp_server, dovecot)
    add_leads(ctx, "ana@acme.io")
    start(ctx)
    assert send(ctx) == 1  # from mailbox 1; mailboxes 2 and 3 never sent
    dovecot.bulk_fill(3, user=BEA)  # old mail in mailbox 2 from before it was added
    dovecot.deliver(mailshapes.unthreaded_reply("ana@acme.io", dovecot.user, "Hi", "Hello"))

    report = check_inbox(ctx)

    assert report.fetched == 1 and report.kinds == {"human": 1}
    assert marks(ctx) == {1: 1, 2: 3, 3: 0}
    dovecot.deliver(mailshapes.unthreaded_reply("zed@zeta.io", BEA, "New", "Hi"), user=BEA)
    assert check_inbox(ctx).kinds == {"other": 1}  # the new one is read; no lead matches
    assert marks(ctx)[2] == 4


def test_a_message_from_any_of_our_addresses_is_our_own(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot
) -> None:
    ctx = setup(make_ctx, smtp_server, dovecot)
    add_leads(ctx, "ana@acme.io", "bob@beta.io")
    start(ctx)
    assert send(ctx) == 2
    ana = thread_of(ctx, 1)
    # Mailbox 2 writes to a lead of mailbox 1 with a copy to mailbox 1 (not a Message-ID of
    # ours, and our footer in it: only its From tells it is ours).
    own = mailshapes.our_own_message(BEA, "<bcc-copy@example.com>", to_addr=ana[0])
    dovecot.deliver(
        own.replace(b"Message-ID:", f"In-Reply-To: {ana[1]}\r\nMessage-ID:".encode(), 1)
    )

    assert check_inbox(ctx).kinds == {"own": 1}
    assert lead(ctx, ana[0]).status == "sent"


async def test_a_mailbox_whose_login_is_refused_is_alerted_alone_while_the_others_are_read(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot, clock: FakeClock
) -> None:
    ctx = setup(make_ctx, smtp_server, dovecot)
    checks = IMAP_ALERT_AFTER + 1
    add_leads(ctx, *(f"lead{i}@corp{i}.io" for i in range(3 * checks)))
    start(ctx)
    assert send(ctx) == 3 * checks  # as many leads per mailbox as there are checks
    dovecot.set_password("not-what-we-stored", user=CAI)
    engine = Scheduler(ctx)
    run = engine._job(REPLIES, engine.reply_tick)
    replied: list[str] = []

    for n in range(1, checks + 1):
        clock.advance(timedelta(minutes=1))
        for mailbox_id, user in ((1, None), (2, BEA)):
            to, our_id = thread_of_nth(ctx, mailbox_id, n)
            dovecot.deliver(reply(to, user or dovecot.user, our_id), user=user)
            replied.append(to)
        await run()
        # mailboxes 1 and 2 are read at every check, whatever mailbox 3 does
        assert all(lead(ctx, e).status == "replied" for e in replied)
        when = last_checks(ctx)
        assert (when[1], when[2], when[3]) == (clock.now(), clock.now(), None)
        alerts = outbox(ctx, "alert")
        assert len(alerts) == (1 if n >= IMAP_ALERT_AFTER else 0), n

    (alert,) = outbox(ctx, "alert")
    assert alert.payload["mailbox"] == CAI and alert.payload["mailbox_id"] == 3
    assert words(alert).startswith(
        f"📭 The reply check of {CAI} failed {IMAP_ALERT_AFTER} times in a row (AccountBroken: "
    )
    assert active_alerts(ctx) == [(AlertCondition.IMAP, "mailbox:3")]  # not the job's

    dovecot.set_password(PASSWORDS[CAI], user=CAI)
    await run()

    (cleared,) = outbox(ctx, "cleared")
    assert words(cleared) == f"📬 The reply check of {CAI} works again."
    assert active_alerts(ctx) == []
    assert last_checks(ctx)[3] == clock.now()


async def test_with_only_the_environments_mailbox_a_refused_login_fails_the_job_as_before(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot: Dovecot
) -> None:
    ctx = mailbox_ctx(make_ctx, smtp_server, dovecot)
    dovecot.set_password("changed-elsewhere")
    engine = Scheduler(ctx)
    run = engine._job(REPLIES, engine.reply_tick)
    for _ in range(IMAP_ALERT_AFTER):
        await run()

    (alert,) = outbox(ctx, "alert")
    assert "mailbox" not in alert.payload
    assert words(alert).startswith(
        f"📭 The reply check failed {IMAP_ALERT_AFTER} times in a row (AccountBroken: "
    )
    assert words(alert).endswith("Replies are not being read; it keeps retrying.")
    assert active_alerts(ctx) == [(AlertCondition.IMAP, "")]
