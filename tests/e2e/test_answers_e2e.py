"""End to end through ``python -m bot``: a lead replies, the admin answers from the chat
(✍️ Reply → text → preview → 📨 Send), and the process is killed with SIGKILL in the window
between the server storing the answer and answering 250. After the restart the answer is settled
from the Sent folder: the lead has it exactly once, from its mailbox, in its thread, and Send
pressed again says it was sent."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests import mailshapes
from tests.e2e.proc import ADMIN, BotProcess, bot_env, intervals_env
from tests.e2e.test_faults import deliveries, message_states
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

ANA = "ana@acme.io"
ANSWER = "Hi Ana, Tuesday 10:00 works for me. Talk then!"


def _buttons(message: dict) -> dict[str, str]:
    """Button text → callback data."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def test_an_answer_from_the_chat_goes_once_through_a_kill_9_after_the_server_took_it(
    tmp_path: Path, fake_telegram: Any, smtp_server: Any, dovecot: Any, db_url: str
) -> None:
    smtp_server.set_credentials(dovecot.user, dovecot.password)
    env = bot_env(
        telegram_url=fake_telegram.url,
        smtp_port=smtp_server.port,
        db_url=db_url,
        imap_port=dovecot.port,
        EMAIL_ADDRESS=dovecot.user,
        EMAIL_PASSWORD=dovecot.password,
        OUTREACH_TEST_INTERVALS=intervals_env(reply_check=1),
        SENT_COPY_GRACE_SECONDS="3",
        FOLLOWUP_DELAYS="1d",
    )
    current: list[BotProcess] = []
    kill = {"armed": False}

    def on_store(received: Any) -> None:
        dovecot.deliver_to_sent(received.data)  # as Gmail: the Sent copy before the 250
        body = received.message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        if kill["armed"] and ANSWER in text:
            kill["armed"] = False
            proc = current[-1].proc
            if proc is not None:
                os.kill(proc.pid, signal.SIGKILL)

    smtp_server.on_store = on_store
    try:
        current.append(BotProcess(tmp_path, env).start())
        fake_telegram.send_document(
            ADMIN, "leads.csv", f"email,first_name,company\n{ANA},Ana,Acme\n".encode()
        )
        fake_telegram.wait_for("Imported: 1", timeout=20)
        fake_telegram.send_text(ADMIN, "/run")
        [first] = smtp_server.wait_for(1, timeout=20)
        ours = str(first.message["Message-ID"])
        mark = fake_telegram.mark()
        dovecot.deliver(
            mailshapes.threaded_reply(
                ANA,
                dovecot.user,
                ours,
                [ours],
                "Sounds good — when are you free?",
                mailshapes.default_original_body(),
                message_id="<ana-answer-e2e@mail.gmail.com>",
            )
        )
        push = fake_telegram.wait_for(
            lambda m: "Reply from" in (m.get("text") or "") and bool(m.get("reply_markup")),
            timeout=20,
            chat_id=ADMIN,
            after=mark,
        )
        fake_telegram.press_button(ADMIN, push, _buttons(push)["✍️ Reply"])
        fake_telegram.wait_for("✍️ Write your answer", timeout=10, chat_id=ADMIN, after=mark)
        fake_telegram.send_text(ADMIN, ANSWER)
        preview = fake_telegram.wait_for("📝 Your answer", timeout=10, chat_id=ADMIN, after=mark)
        send = _buttons(preview)["📨 Send"]

        kill["armed"] = True
        fake_telegram.press_button(ADMIN, preview, send)
        bot = current[-1]
        wait_until(lambda: bot.proc is not None and bot.proc.poll() is not None, 20, "the kill")
        bot.kill()

        current.append(BotProcess(tmp_path, env).start())  # settles it from the Sent folder
        wait_until(
            lambda: [s for to, step, s, _ in message_states(db_url) if step >= 1000] == ["sent"],
            60,
            "the answer settled as sent",
        )
        mark = fake_telegram.mark()
        fake_telegram.press_button(ADMIN, preview, send)  # its buttons survived the kill
        fake_telegram.wait_for("✅ Sent to ana@acme.io", timeout=15, chat_id=ADMIN, after=mark)
    finally:
        for b in current:
            b.stop()

    answers = [
        r for r in smtp_server.by_recipient(ANA) if ANSWER in r.message.get_body().get_content()
    ]
    assert len(answers) == 1, "the answer went out other than exactly once"
    assert set(deliveries(smtp_server).values()) == {1}
    [answer] = answers
    assert answer.login == dovecot.user
    assert answer.message["In-Reply-To"] == "<ana-answer-e2e@mail.gmail.com>"
    assert answer.message["References"].split() == [ours, "<ana-answer-e2e@mail.gmail.com>"]
    assert answer.message["Subject"].startswith("Re: ")
