"""The reply check against a real Dovecot, on SQLite and PostgreSQL.

Every test sends the leads' first emails through the engine to the real SMTP server, then puts
real-world shapes (tests/mailshapes.py) into the real inbox, threaded onto the Message-IDs the
engine really generated, and runs ``check_inbox``.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from bot.messages import render
from engine import campaign
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.inbox.imap import ImapMailbox
from engine.inbox.sync import check_inbox
from engine.leads import service as leads
from engine.notify import Notification
from engine.sending.queue import run_send_queue
from engine.storage.models import (
    CALENDAR_STEP,
    ImapSync,
    InboundMessage,
    Lead,
    OutboundMessage,
    PendingNotification,
    Suppression,
)
from tests import mailshapes
from tests.integration.sendkit import mailbox_ctx

LEADS = {
    "ana": "ana@acme.io",
    "bob": "bob@beta.io",
    "cleo": "cleo@gamma.io",
    "dan": "dan@delta.io",
    "eve": "eve@epsilon.io",
}
CALENDAR_LINK = "https://cal.example.com/sam"


def words(item: PendingNotification) -> str:
    """What the admins read for an outbox row: the bot renders the engine's kind and payload."""
    n = Notification(item.id, item.kind, item.text, dict(item.payload or {}), item.created_at)
    return render(n).text


def leads_csv(names: list[str]) -> bytes:
    rows = ["email,first_name,company"]
    rows += [f"{LEADS[n]},{n.title()},{n.title()} Inc" for n in names]
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def ctx(make_ctx, dovecot, smtp_server) -> EngineContext:  # type: ignore[no-untyped-def]
    return mailbox_ctx(
        make_ctx, smtp_server, dovecot, FOLLOWUP_DELAYS="3d,4d", CALENDAR_LINK=CALENDAR_LINK
    )


def send_due(ctx: EngineContext) -> int:
    mailer = ctx.new_mailer()
    try:
        return run_send_queue(ctx, mailer).sent
    finally:
        mailer.close()


def start(ctx: EngineContext, names: list[str]) -> dict[str, str]:
    """Import the leads, run the campaign, send the first emails; lead name -> our Message-ID."""
    leads.import_csv(ctx, leads_csv(names))
    campaign.run(ctx)
    assert send_due(ctx) == len(names)
    return {n: first_message_id(ctx, LEADS[n]) for n in names}


def first_message_id(ctx: EngineContext, email: str) -> str:
    with ctx.db.transaction() as session:
        return str(
            session.scalar(
                select(OutboundMessage.message_id)
                .join(Lead, Lead.id == OutboundMessage.lead_id)
                .where(Lead.email_key == email, OutboundMessage.step == 0)
            )
        )


def lead(ctx: EngineContext, name: str) -> Lead:
    with ctx.db.transaction() as session:
        row = session.scalars(select(Lead).where(Lead.email_key == LEADS[name])).one()
        session.expunge(row)
        return row


def calendar_rows(ctx: EngineContext, name: str) -> list[OutboundMessage]:
    with ctx.db.transaction() as session:
        rows = list(
            session.scalars(
                select(OutboundMessage)
                .join(Lead, Lead.id == OutboundMessage.lead_id)
                .where(Lead.email_key == LEADS[name], OutboundMessage.step == CALENDAR_STEP)
            )
        )
        session.expunge_all()
        return rows


def count(ctx: EngineContext, model: type, *where: object) -> int:
    with ctx.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def reply(
    name: str, our_id: str, body: str = "Sounds interesting, tell me more.", n: int = 1
) -> bytes:
    return mailshapes.threaded_reply(
        LEADS[name],
        "sender@example.com",
        our_id,
        [our_id],
        body,
        mailshapes.default_original_body(),
        message_id=f"<reply-{name}{'' if n == 1 else n}@mail.gmail.com>",
    )


def sent_to(smtp_server, name: str) -> list:  # type: ignore[no-untyped-def]
    return smtp_server.by_recipient(LEADS[name])


# --- bounces ---------------------------------------------------------------------------------


def test_it_marks_a_lead_bounced_on_a_gmail_dsn_and_sends_it_nothing_more(
    ctx, dovecot, smtp_server, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana", "bob"])
    dovecot.deliver(mailshapes.gmail_dsn(LEADS["ana"], ids["ana"], "5.1.1"))

    report = check_inbox(ctx)

    assert report.kinds == {"bounce": 1}
    assert lead(ctx, "ana").status == "bounced"
    assert "5.1.1" in (lead(ctx, "ana").last_error or "")
    clock.advance(timedelta(days=8))
    send_due(ctx)
    clock.advance(timedelta(days=8))
    send_due(ctx)
    assert len(sent_to(smtp_server, "ana")) == 1
    assert len(sent_to(smtp_server, "bob")) == 3


def test_it_keeps_a_soft_bounced_lead_in_its_place(
    ctx, dovecot, smtp_server, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    dovecot.deliver(mailshapes.gmail_dsn(LEADS["ana"], ids["ana"], "4.2.2"))

    assert check_inbox(ctx).kinds == {"bounce": 1}

    ana = lead(ctx, "ana")
    assert ana.status == "sent"
    assert "soft bounce" in (ana.last_error or "")
    clock.advance(timedelta(days=3))
    assert send_due(ctx) == 1
    assert len(sent_to(smtp_server, "ana")) == 2


# --- auto-replies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape", [mailshapes.exchange_out_of_office, mailshapes.gmail_vacation_reply]
)
def test_it_records_an_auto_reply_and_keeps_following_up(
    ctx, dovecot, smtp_server, clock: FakeClock, shape
) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    dovecot.deliver(shape(LEADS["ana"], ids["ana"], to_addr="sender@example.com"))

    assert check_inbox(ctx).kinds == {"auto_reply": 1}

    ana = lead(ctx, "ana")
    assert (ana.status, ana.auto_replies, ana.last_inbound_kind) == ("sent", 1, "auto_reply")
    assert ana.replied_at is None
    assert calendar_rows(ctx, "ana") == []
    clock.advance(timedelta(days=3))
    assert send_due(ctx) == 1
    followup = sent_to(smtp_server, "ana")[-1].message
    assert followup["In-Reply-To"] == ids["ana"]


# --- human replies ---------------------------------------------------------------------------


def test_it_matches_a_reply_by_comma_separated_references(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    # Sent from another address of hers, answering her own earlier note in the thread: only the
    # comma-separated References (Exchange, iOS) tie it to our email.
    theirs = "<earlier-note@acme.io>"
    dovecot.deliver(
        mailshapes.threaded_reply(
            "jane.doe@acme-mail.io",
            "sender@example.com",
            theirs,
            [ids["ana"], theirs],
            "Yes, let's talk next week.",
            mailshapes.default_original_body(),
            comma_references=True,
            message_id="<comma-reply@acme-mail.io>",
        )
    )

    assert check_inbox(ctx).kinds == {"human": 1}

    ana = lead(ctx, "ana")
    assert ana.status == "replied"
    assert ana.replied_at is not None


def test_it_queues_the_calendar_answer_once_in_the_reply_thread(ctx, dovecot, smtp_server) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    dovecot.deliver(reply("ana", ids["ana"]))
    check_inbox(ctx)
    dovecot.deliver(reply("ana", ids["ana"], body="Also, Thursday works best.", n=2))

    assert check_inbox(ctx).kinds == {"human": 1}

    [row] = calendar_rows(ctx, "ana")
    assert row.in_reply_to == "<reply-ana@mail.gmail.com>"
    assert ids["ana"] in (row.references or "").split()
    assert send_due(ctx) == 1
    answer = sent_to(smtp_server, "ana")[-1].message
    assert answer["In-Reply-To"] == "<reply-ana@mail.gmail.com>"
    assert CALENDAR_LINK in answer.get_body(("plain",)).get_content()
    assert send_due(ctx) == 0


def test_it_sends_the_calendar_answer_ahead_of_other_sends(ctx, dovecot, smtp_server) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    leads.import_csv(ctx, leads_csv(["bob", "cleo"]))  # due now, imported before the reply
    dovecot.deliver(reply("ana", ids["ana"]))
    check_inbox(ctx)

    assert send_due(ctx) == 3

    after_first = smtp_server.messages[1:]
    assert [m.rcpt_tos[0] for m in after_first][0] == LEADS["ana"]
    assert after_first[0].message["In-Reply-To"] == "<reply-ana@mail.gmail.com>"


def test_it_matches_an_unthreaded_reply_by_the_leads_address(ctx, dovecot, clock) -> None:  # type: ignore[no-untyped-def]
    start(ctx, ["ana", "bob"])
    dovecot.deliver(
        mailshapes.unthreaded_reply(
            "Ana@Acme.io", "sender@example.com", "About your email", "Call me tomorrow?"
        )
    )

    assert check_inbox(ctx).kinds == {"human": 1}

    assert lead(ctx, "ana").status == "replied"
    assert lead(ctx, "bob").status == "sent"
    assert len(calendar_rows(ctx, "ana")) == 1


def test_it_does_not_opt_out_a_reply_quoting_our_unsubscribe_footer(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    dovecot.deliver(
        mailshapes.reply_quoting_unsubscribe_footer(
            LEADS["ana"], "sender@example.com", ids["ana"], message_id="<footer@mail.gmail.com>"
        )
    )

    assert check_inbox(ctx).kinds == {"human": 1}

    assert lead(ctx, "ana").status == "replied"
    assert count(ctx, Suppression) == 0
    assert len(calendar_rows(ctx, "ana")) == 1


def test_it_unsubscribes_and_suppresses_a_real_opt_out(ctx, dovecot, smtp_server, clock) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    dovecot.deliver(mailshapes.opt_out_reply(LEADS["ana"], "sender@example.com", ids["ana"]))

    assert check_inbox(ctx).kinds == {"opt_out": 1}

    ana = lead(ctx, "ana")
    assert ana.status == "unsubscribed"
    assert calendar_rows(ctx, "ana") == []
    assert count(ctx, Suppression, Suppression.value == LEADS["ana"]) == 1
    clock.advance(timedelta(days=8))
    assert send_due(ctx) == 0
    leads.delete_lead(ctx, ana.id)
    again = leads.import_csv(ctx, leads_csv(["ana"]))
    assert (again.imported, again.suppressed) == (0, [2])


def test_it_counts_a_reply_that_arrives_after_the_last_followup(
    ctx, dovecot, smtp_server, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    for days in (3, 4):
        clock.advance(timedelta(days=days))
        assert send_due(ctx) == 1
    assert lead(ctx, "ana").status == "completed"
    clock.advance(timedelta(days=10))
    dovecot.deliver(reply("ana", ids["ana"]))

    assert check_inbox(ctx).kinds == {"human": 1}

    ana = lead(ctx, "ana")
    assert ana.status == "replied"
    assert ana.replied_at == clock.now()
    assert len(calendar_rows(ctx, "ana")) == 1


def test_it_ignores_our_own_messages(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    # A self-BCC of a follow-up: threaded onto her email, with our footer in it.
    own = mailshapes.our_own_message(
        "sender@example.com", "<own-copy@example.com>", to_addr=LEADS["ana"]
    ).replace(b"Message-ID:", f"In-Reply-To: {ids['ana']}\r\nMessage-ID:".encode(), 1)
    dovecot.deliver(own)

    assert check_inbox(ctx).kinds == {"own": 1}

    assert lead(ctx, "ana").status == "sent"
    assert lead(ctx, "ana").last_inbound_kind is None
    assert count(ctx, PendingNotification) == 0
    assert count(ctx, Suppression) == 0


# --- incremental, idempotent, read-only ------------------------------------------------------


def test_it_does_not_duplicate_anything_when_the_mark_is_reset(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    dovecot.deliver(reply("ana", ids["ana"]))
    check_inbox(ctx)
    with ctx.db.transaction() as session:
        session.execute(delete(ImapSync))

    assert check_inbox(ctx).kinds == {"duplicate": 1}

    assert count(ctx, InboundMessage) == 1
    assert len(calendar_rows(ctx, "ana")) == 1
    assert count(ctx, PendingNotification, PendingNotification.kind == "reply") == 1


def test_it_rereads_without_duplicates_when_uidvalidity_changes(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana", "bob"])
    dovecot.deliver(reply("ana", ids["ana"]))
    check_inbox(ctx)
    dovecot.reset_uidvalidity()
    dovecot.deliver(reply("bob", ids["bob"]))

    report = check_inbox(ctx)

    assert report.restarted
    assert report.kinds == {"duplicate": 1, "human": 1}
    assert count(ctx, InboundMessage) == 2
    assert len(calendar_rows(ctx, "ana")) == 1
    assert len(calendar_rows(ctx, "bob")) == 1
    assert count(ctx, PendingNotification, PendingNotification.kind == "reply") == 2


def test_it_never_changes_the_mailbox(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana", "bob"])
    dovecot.deliver(reply("ana", ids["ana"]))
    dovecot.deliver(mailshapes.gmail_dsn(LEADS["bob"], ids["bob"]))

    check_inbox(ctx)

    with dovecot.client() as c:
        c.select_folder("INBOX", readonly=True)
        flags = c.get_flags(c.search(["ALL"]))
    assert len(flags) == 2
    assert all(b"\\Seen" not in f and b"\\Deleted" not in f for f in flags.values())


def test_it_fetches_only_the_new_messages_of_a_large_mailbox(ctx, dovecot, make_ctx) -> None:  # type: ignore[no-untyped-def]
    dovecot.bulk_fill(10_000)
    check_inbox(ctx)  # before the first send: starts at the top
    ids = start(ctx, list(LEADS))
    for name in LEADS:
        dovecot.deliver(reply(name, ids[name]))
    boxes: list[ImapMailbox] = []

    def counting_mailbox() -> ImapMailbox:
        boxes.append(ImapMailbox(ctx.imap_settings()))
        return boxes[-1]

    ctx.mailbox_factory = counting_mailbox

    report = check_inbox(ctx)

    assert report.fetched == 5
    assert [b.fetched_count for b in boxes] == [5]
    assert report.kinds == {"human": 5}


def test_it_starts_at_the_top_on_a_fresh_database_before_any_send(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    leads.import_csv(ctx, leads_csv(["ana"]))
    dovecot.deliver(
        mailshapes.unthreaded_reply(LEADS["ana"], "sender@example.com", "Old thread", "Hi!")
    )
    dovecot.bulk_fill(3)

    report = check_inbox(ctx)

    assert report.fetched == 0
    assert lead(ctx, "ana").status == "pending"
    with ctx.db.transaction() as session:
        assert session.get(ImapSync, (1, "INBOX")).last_uid == 4  # type: ignore[union-attr]
    dovecot.deliver(
        mailshapes.unthreaded_reply(LEADS["ana"], "sender@example.com", "New", "Hello again")
    )
    assert check_inbox(ctx).fetched == 1


# --- what the operator sees ------------------------------------------------------------------


def test_it_notifies_replies_bounces_and_opt_outs_with_lead_ids(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana", "bob", "cleo"])
    dovecot.deliver(reply("ana", ids["ana"]))
    dovecot.deliver(mailshapes.gmail_dsn(LEADS["bob"], ids["bob"]))
    dovecot.deliver(mailshapes.opt_out_reply(LEADS["cleo"], "sender@example.com", ids["cleo"]))

    check_inbox(ctx)

    with ctx.db.transaction() as session:
        items = {o.kind: o for o in session.scalars(select(PendingNotification))}
        assert set(items) == {"reply", "bounce", "opt_out"}
        assert items["reply"].payload["lead_id"] == lead(ctx, "ana").id
        assert items["bounce"].payload["lead_id"] == lead(ctx, "bob").id
        assert items["opt_out"].payload["lead_id"] == lead(ctx, "cleo").id
        assert "Sounds interesting" in words(items["reply"])
        assert LEADS["ana"] in words(items["reply"])


def test_it_reports_replies_bounces_opt_outs_and_auto_replies_in_status(
    ctx, dovecot, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, list(LEADS))
    dovecot.deliver(reply("ana", ids["ana"]))
    dovecot.deliver(mailshapes.gmail_dsn(LEADS["bob"], ids["bob"]))
    dovecot.deliver(mailshapes.opt_out_reply(LEADS["cleo"], "sender@example.com", ids["cleo"]))
    dovecot.deliver(mailshapes.gmail_vacation_reply(LEADS["dan"], ids["dan"]))
    check_inbox(ctx)

    st = campaign.status(ctx)

    assert (st.replies_today, st.replies_total) == (1, 1)
    assert st.reply_rate == pytest.approx(1 / 5)
    assert (st.bounces, st.opt_outs, st.auto_replies) == (1, 1, 1)
    clock.advance(timedelta(days=1))
    assert campaign.status(ctx).replies_today == 0
    assert campaign.status(ctx).replies_total == 1


def test_it_exports_the_last_reply_date_and_classification(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana", "bob", "cleo"])
    dovecot.deliver(reply("ana", ids["ana"]))
    dovecot.deliver(mailshapes.exchange_out_of_office(LEADS["bob"], ids["bob"]))
    check_inbox(ctx)

    rows = {
        r["email"]: r
        for r in csv.DictReader(io.StringIO(campaign.export_csv(ctx).decode("utf-8-sig")))
    }

    assert rows[LEADS["ana"]]["last_reply_kind"] == "human"
    assert rows[LEADS["ana"]]["last_reply_at"].startswith("2024-01-15T10:02")
    assert rows[LEADS["bob"]]["last_reply_kind"] == "auto_reply"
    assert (rows[LEADS["cleo"]]["last_reply_at"], rows[LEADS["cleo"]]["last_reply_kind"]) == (
        "",
        "",
    )


def test_it_reads_a_mailbox_whose_uidvalidity_is_above_2_to_the_31(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    # UIDVALIDITY is an unsigned 32-bit number (RFC 3501); servers that pick it at random or
    # from the clock after 2038 hand out values a signed 32-bit column cannot hold.
    dovecot.stop()
    uidlist = dovecot.maildir / "dovecot-uidlist"
    uidlist.write_text("3 V3000000000 N1 G0123456789abcdef0123456789abcdef\n")
    if os.geteuid() == 0:
        os.chown(uidlist, dovecot.mail_uid, dovecot.mail_gid)
    dovecot.start()
    ids = start(ctx, ["ana"])
    dovecot.deliver(reply("ana", ids["ana"]))

    assert check_inbox(ctx).kinds == {"human": 1}

    with ctx.db.transaction() as session:
        assert session.get(ImapSync, (1, "INBOX")).uidvalidity == 3_000_000_000  # type: ignore[union-attr]
    assert lead(ctx, "ana").status == "replied"


def test_it_reads_a_message_dated_in_an_unknown_zone_and_the_ones_after_it(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    # RFC 5322 "-0000": a time in UTC with no known local zone. Python parses it naive.
    ids = start(ctx, ["ana", "bob"])
    dovecot.deliver(
        mailshapes.exchange_out_of_office(LEADS["ana"], ids["ana"]).replace(
            b"2024 10:02:00 +0000", b"2024 10:02:00 -0000"
        )
    )
    dovecot.deliver(reply("bob", ids["bob"]))

    assert check_inbox(ctx).kinds == {"auto_reply": 1, "human": 1}

    assert lead(ctx, "ana").last_inbound_at is not None
    assert lead(ctx, "bob").status == "replied"
