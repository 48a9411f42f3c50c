"""End to end through ``python -m bot``: leads get the first email, then one replies in the thread,
one replies unthreaded, one is out of office and one address bounces. One reply check later the
admin has both replies (with buttons), both repliers get the calendar link exactly once, the
out-of-office lead keeps getting follow-ups, and nobody who replied or bounced gets another one."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests import mailshapes
from tests.e2e.proc import ADMIN, BotProcess, bot_env, intervals_env, wait_ticks
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

CHECK_SECONDS = 1  # OUTREACH_TEST_INTERVALS' reply_check (the setting's minimum is 5 s)
FOLLOWUP_SECONDS = 4  # > one check interval, so replies are always read before a follow-up
CALENDAR_LINK = "https://cal.example.com/sam"
ANA, BOB, CLEO, DAN = "ana@acme.io", "bob@beta.io", "cleo@gamma.io", "dan@delta.io"
LEADS_CSV = (
    "email,first_name,company\n"
    f"{ANA},Ana,Acme\n{BOB},Bob,Beta Corp\n{CLEO},Cleo,Gamma\n{DAN},Dan,Delta\n"
).encode()


@pytest.fixture
def bot(tmp_path: Path, fake_telegram, smtp_server, dovecot, db_url: str):  # type: ignore[no-untyped-def]
    smtp_server.set_credentials(dovecot.user, dovecot.password)
    env = bot_env(
        telegram_url=fake_telegram.url,
        smtp_port=smtp_server.port,
        db_url=db_url,
        imap_port=dovecot.port,
        EMAIL_ADDRESS=dovecot.user,
        EMAIL_PASSWORD=dovecot.password,
        OUTREACH_TEST_INTERVALS=intervals_env(reply_check=CHECK_SECONDS),
        FOLLOWUP_DELAYS=f"{FOLLOWUP_SECONDS}s,{FOLLOWUP_SECONDS}s",
        CALENDAR_LINK=CALENDAR_LINK,
    )
    p = BotProcess(tmp_path, env).start()
    yield p
    p.stop()


def _is_reply_push(m: dict) -> bool:
    return "Reply from" in (m.get("text") or "") and bool(m.get("reply_markup"))


def test_it_answers_replies_once_and_keeps_following_up_only_the_out_of_office_lead(  # type: ignore[no-untyped-def]
    bot, fake_telegram, smtp_server, dovecot, db_url: str
) -> None:
    fake_telegram.send_document(ADMIN, "leads.csv", LEADS_CSV)
    fake_telegram.wait_for("Imported: 4", timeout=20)
    fake_telegram.send_text(ADMIN, "/run")
    first = {r.rcpt_tos[0]: r.message for r in smtp_server.wait_for(4, timeout=20)}
    ours = {addr: str(msg["Message-ID"]) for addr, msg in first.items()}
    mark = fake_telegram.mark()

    dovecot.deliver(
        mailshapes.threaded_reply(
            ANA,
            dovecot.user,
            ours[ANA],
            [ours[ANA]],
            "Sounds good, what times do you have?",
            mailshapes.default_original_body(),
            message_id="<ana-reply@mail.gmail.com>",
        )
    )
    dovecot.deliver(
        mailshapes.unthreaded_reply(
            BOB, dovecot.user, "Your email", "Saw your note, call me?", message_id="<bob@beta.io>"
        )
    )
    dovecot.deliver(
        mailshapes.exchange_out_of_office(CLEO, ours[CLEO], to_addr=dovecot.user, from_name="Cleo")
    )
    dovecot.deliver(mailshapes.gmail_dsn(DAN, ours[DAN], sender=dovecot.user))
    delivered_at = time.monotonic()

    # One check (plus the outbox's 1 s gap between Telegram messages) brings both replies.
    pushes = [
        fake_telegram.wait_for(
            lambda m, addr=addr: _is_reply_push(m) and addr in m["text"],  # type: ignore[misc]
            timeout=CHECK_SECONDS + 8,
            chat_id=ADMIN,
            after=mark,
        )
        for addr in (ANA, BOB)
    ]
    assert time.monotonic() - delivered_at < CHECK_SECONDS + 8
    buttons = {
        b["callback_data"].split(":")[0]
        for p in pushes
        for row in p["reply_markup"]["inline_keyboard"]
        for b in row
    }
    assert buttons == {"rpl", "lbl", "full", "stop", "dom", "int", "notint"}  # a stored reply
    fake_telegram.wait_for(lambda m: DAN in (m.get("text") or ""), after=mark, chat_id=ADMIN)

    # Cleo's two follow-ups go out; by then Ana's and Bob's would have been due too.
    wait_until(
        lambda: len(smtp_server.by_recipient(CLEO)) >= 3,
        2 * FOLLOWUP_SECONDS + 15,
        "Cleo's follow-ups",
        required=False,  # the assertion below says what is missing
    )
    wait_ticks(db_url, "send", 3)  # a send tick or two more: nothing else may go out

    def bodies(addr: str) -> list[str]:
        return [
            r.message.get_body(("plain",)).get_content() for r in smtp_server.by_recipient(addr)
        ]

    assert len(smtp_server.by_recipient(CLEO)) == 3, bot.logs()[-3000:]
    assert not any(CALENDAR_LINK in b for b in bodies(CLEO))
    assert len(smtp_server.by_recipient(DAN)) == 1
    for addr, their_id in ((ANA, "<ana-reply@mail.gmail.com>"), (BOB, "<bob@beta.io>")):
        received = smtp_server.by_recipient(addr)
        assert len(received) == 2, [r.message["Subject"] for r in received]
        answer = received[1].message
        assert CALENDAR_LINK in bodies(addr)[1]
        assert answer["In-Reply-To"] == their_id
