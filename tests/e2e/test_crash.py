"""Exactly-once sends through kill -9, end to end through ``python -m bot``.

The SMTP server files a copy of every accepted message in the Dovecot Sent folder before it
answers (as Gmail does), and the bot reads that folder over IMAP to settle sends a crash left
uncertain. Where the server keeps no Sent copy, an uncertain email waits for the operator.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.proc import ADMIN, BotProcess, bot_env, intervals_env, wait_ticks
from tests.e2e.test_faults import (
    assert_no_secrets,
    deliveries,
    import_leads,
    message_states,
    recipients,
    run_campaign,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

LEADS = 20


@pytest.fixture
def mailbox(smtp_server: Any, dovecot: Any) -> Any:
    """One account on both servers, as at a real provider."""
    smtp_server.set_credentials(dovecot.user, dovecot.password)
    return dovecot


def _env(fake_telegram: Any, smtp_server: Any, dovecot: Any, db_url: str, **extra: str) -> dict:
    return bot_env(
        telegram_url=fake_telegram.url,
        smtp_port=smtp_server.port,
        db_url=db_url,
        imap_port=dovecot.port,
        EMAIL_ADDRESS=dovecot.user,
        EMAIL_PASSWORD=dovecot.password,
        SENT_COPY_GRACE_SECONDS="3",
        **extra,
    )


def _all_settled(db_url: str, expected: int) -> bool:
    states = message_states(db_url)
    return len(states) == expected and all(s == "sent" for _, _, s, _ in states)


def _sending_resumed(smtp_server: Any, before: int, timeout: float) -> None:
    """Until the server took one more message (or all are sent: then the timeout passes)."""
    wait_until(
        lambda: len(smtp_server.messages) > before, timeout, "sending", required=False, poll=0.02
    )


def test_it_sends_each_step_exactly_once_through_repeated_kill_9(  # type: ignore[no-untyped-def]
    tmp_path: Path, fake_telegram, smtp_server, mailbox, db_url
):
    rng = random.Random(4)
    env = _env(fake_telegram, smtp_server, mailbox, db_url, FOLLOWUP_DELAYS="3s")
    current: list[BotProcess] = []
    kill_on_store = {"at": 0}

    def on_store(received: Any) -> None:
        # Gmail files the Sent copy before it answers 250; then, maybe, the process dies
        # exactly in the window between "stored" and "answered".
        mailbox.deliver_to_sent(received.data)
        if kill_on_store["at"] and len(smtp_server.messages) >= kill_on_store["at"]:
            kill_on_store["at"] = 0
            proc = current[-1].proc
            if proc is not None:
                os.kill(proc.pid, signal.SIGKILL)

    smtp_server.on_store = on_store

    def start() -> BotProcess:
        bot = BotProcess(tmp_path, env).start()
        current.append(bot)
        return bot

    try:
        bot = start()
        import_leads(fake_telegram, LEADS)
        kill_on_store["at"] = 3
        run_campaign(fake_telegram)
        wait_until(lambda: bot.proc is not None and bot.proc.poll() is not None, 20, "the kill")
        bot.kill()

        for round_ in range(6):
            bot = start()
            before = len(smtp_server.messages)
            if round_ % 3 == 0:
                kill_on_store["at"] = before + rng.randint(1, 4)  # dies in the window
            elif round_ % 3 == 1:
                smtp_server.drop_after_store_next(1)  # stored, connection dropped: uncertain
            # Kill -9 at a random moment while it sends (if on_store did not already).
            _sending_resumed(smtp_server, before, timeout=8)
            time.sleep(rng.uniform(0.0, 0.4))
            bot.kill()
            kill_on_store["at"] = 0

        bot = start()
        wait_until(lambda: _all_settled(db_url, 2 * LEADS), 90, "every step sent and settled")
        wait_ticks(db_url, "send", 3)  # anything sent twice would show up now
        wait_ticks(db_url, "maintenance", 2)  # ...or settled twice by the Sent-folder check
    finally:
        for b in current:
            b.stop()

    sent = deliveries(smtp_server)
    per_lead: dict[str, int] = {}
    for rcpt, _ in sent:
        per_lead[rcpt] = per_lead.get(rcpt, 0) + 1
    assert set(per_lead) == recipients(LEADS)
    assert set(per_lead.values()) == {2}, "some lead did not get each step exactly once"
    assert set(sent.values()) == {1}, "some email went out twice"
    assert len(smtp_server.messages) == 2 * LEADS
    assert_no_secrets("".join(b.logs() for b in current[-1:]), mailbox.password)


def test_it_leaves_an_uncertain_email_to_the_operator_without_a_sent_copy(  # type: ignore[no-untyped-def]
    tmp_path: Path, fake_telegram, smtp_server, mailbox, db_url
):
    # No on_store: no Sent copies. The Sent-folder check first runs 8 s after the start, when
    # the uncertain email and the good ones after it are all past the 3 s grace: it finds that
    # the server keeps no copies (an earlier pass would only know that it cannot tell yet).
    slow_check = intervals_env(maintenance=2, maintenance_start=8)
    env = _env(fake_telegram, smtp_server, mailbox, db_url, OUTREACH_TEST_INTERVALS=slow_check)
    bot = BotProcess(tmp_path, env).start()
    try:
        import_leads(fake_telegram, 3)
        smtp_server.drop_after_store_next(1)
        run_campaign(fake_telegram)
        smtp_server.wait_for(3, timeout=20)
        first = smtp_server.messages[0]
        rcpt, mid = first.rcpt_tos[0].lower(), str(first.message["Message-ID"])
        fake_telegram.wait_for("keeps no Sent copy", chat_id=ADMIN, timeout=40)
        wait_ticks(db_url, "send", 3)  # the send job and the Sent-folder check had their
        wait_ticks(db_url, "maintenance", 2)  # chances to resend
        assert len(smtp_server.by_recipient(rcpt)) == 1, "resent without the operator's word"

        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/status")
        status = fake_telegram.wait_for("Campaign:", chat_id=ADMIN, after=mark)
        assert "keeps no Sent copy" in status["text"]
        assert "1 email(s) with unknown delivery" in status["text"]

        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/uncertain")
        card = fake_telegram.wait_for(rcpt, chat_id=ADMIN, after=mark)
        buttons = [
            b["callback_data"] for row in card["reply_markup"]["inline_keyboard"] for b in row
        ]
        resend = next(b for b in buttons if b.startswith("resend:"))
        assert any(b.startswith("wassent:") for b in buttons)

        fake_telegram.press_button(ADMIN, card, resend)
        wait_until(lambda: len(smtp_server.by_recipient(rcpt)) == 2, 20, "the resend")
        again = smtp_server.by_recipient(rcpt)[1]
        assert str(again.message["Message-ID"]) == mid
        wait_ticks(db_url, "send", 3)
        assert len(smtp_server.messages) == 4
    finally:
        bot.stop()
