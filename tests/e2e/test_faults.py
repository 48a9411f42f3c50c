"""Provider faults end to end through ``python -m bot``: a wrong password, a used-up daily quota
and a busy server (4xx) against the real aiosmtpd server's fault switches. The operator hears
about each condition once, no lead is touched, and once the fault clears every lead gets its
email exactly once. Also: the secrets never reach the process's logs.

Helpers shared with ``test_crash.py`` and ``test_db_outage.py`` live here.
"""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.storage.db import Database
from engine.storage.models import Lead, OutboundMessage
from tests.e2e.proc import ADMIN, BotProcess, bot_env, wait_ticks

pytestmark = pytest.mark.e2e

TOKEN = "123456:TEST-token_abcdef"  # noqa: S105 - the test bot's token (BASE_ENV)


# --- helpers ------------------------------------------------------------------------------------
def leads_csv(n: int) -> bytes:
    """``n`` leads, each on its own domain (so recipient errors never look like one domain)."""
    rows = ["Email,First Name,Company"]
    rows += [f"lead{i}@d{i}.example.org,Lead{i},Co{i}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


def recipients(n: int) -> set[str]:
    return {f"lead{i}@d{i}.example.org" for i in range(n)}


def import_leads(fake_telegram: Any, n: int) -> None:
    fake_telegram.send_document(ADMIN, "leads.csv", leads_csv(n))
    fake_telegram.wait_for(lambda m: f"Imported: {n}" in (m.get("text") or ""), timeout=30)


def run_campaign(fake_telegram: Any) -> None:
    mark = fake_telegram.mark()
    fake_telegram.send_text(ADMIN, "/run")
    fake_telegram.wait_for("Campaign ", chat_id=ADMIN, after=mark, timeout=30)


def lead_statuses(db_url: str) -> dict[str, str]:
    """Every lead's status, read straight from the database the bot uses."""
    db = Database(db_url)
    try:
        with db.transaction() as session:
            return {lead.email: lead.status for lead in session.scalars(select(Lead))}
    finally:
        db.dispose()


def message_states(db_url: str) -> list[tuple[str, int, str, str]]:
    """(to_email, step, state, message_id) of every outbound message."""
    db = Database(db_url)
    try:
        with db.transaction() as session:
            return [
                (m.to_email, m.step, m.state, m.message_id)
                for m in session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
            ]
    finally:
        db.dispose()


def deliveries(smtp_server: Any) -> Counter[tuple[str, str]]:
    """How many times the server took each (recipient, Message-ID)."""
    return Counter(
        (r.rcpt_tos[0].lower(), str(r.message["Message-ID"])) for r in smtp_server.messages
    )


def texts(fake_telegram: Any, needle: str) -> list[str]:
    return [m["text"] for m in fake_telegram.sent(ADMIN) if needle in (m.get("text") or "")]


def assert_no_secrets(logs: str, password: str) -> None:
    plain = base64.b64encode(f"\0sender@example.com\0{password}".encode()).decode()
    login = base64.b64encode(password.encode()).decode()
    for secret in (password, TOKEN, TOKEN.split(":", 1)[1], plain, login):
        assert secret not in logs, f"a secret ({secret[:4]}…) is in the process logs"


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture
def start_bot(tmp_path: Path, fake_telegram: Any, smtp_server: Any, db_url: str):  # type: ignore[no-untyped-def]
    """Factory: start ``python -m bot`` against the test servers, with extra environment."""
    started: list[BotProcess] = []

    def start(**extra: str) -> BotProcess:
        env = bot_env(
            telegram_url=fake_telegram.url, smtp_port=smtp_server.port, db_url=db_url, **extra
        )
        bot = BotProcess(tmp_path, env).start()
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.stop()


# --- tests ---------------------------------------------------------------------------------------
def test_it_pauses_on_a_wrong_password_without_touching_leads_and_resumes_after_run(  # type: ignore[no-untyped-def]
    start_bot, fake_telegram, smtp_server, db_url
):
    start_bot()
    import_leads(fake_telegram, 3)
    smtp_server.refuse_auth()
    run_campaign(fake_telegram)
    fake_telegram.wait_for("refused to log in", chat_id=ADMIN, timeout=20)
    wait_ticks(db_url, "send", 5)  # several send ticks go by

    assert len(texts(fake_telegram, "refused to log in")) == 1
    assert smtp_server.auth_attempts <= 3
    assert smtp_server.messages == []
    assert set(lead_statuses(db_url).values()) == {"pending"}

    smtp_server.refuse_auth(False)
    run_campaign(fake_telegram)
    got = smtp_server.wait_for(3, timeout=20)
    assert sorted(r.rcpt_tos[0] for r in got) == sorted(recipients(3))
    wait_ticks(db_url, "send", 3)  # a send tick or two more: nothing else may go out
    assert len(smtp_server.messages) == 3


def test_it_stops_for_the_day_when_the_quota_is_used_up_and_touches_no_lead(  # type: ignore[no-untyped-def]
    start_bot, fake_telegram, smtp_server, db_url
):
    start_bot()
    import_leads(fake_telegram, 3)
    smtp_server.quota_exceeded()
    run_campaign(fake_telegram)
    fake_telegram.wait_for("daily sending quota", chat_id=ADMIN, timeout=20)
    connections = smtp_server.connections
    wait_ticks(db_url, "send", 5)

    assert smtp_server.connections == connections, "it tried again the same day"
    assert len(texts(fake_telegram, "daily sending quota")) == 1
    assert smtp_server.messages == []
    assert set(lead_statuses(db_url).values()) == {"pending"}
    mark = fake_telegram.mark()
    fake_telegram.send_text(ADMIN, "/status")
    status = fake_telegram.wait_for("Campaign:", chat_id=ADMIN, after=mark)
    assert "quota" in status["text"]


def test_it_retries_4xx_later_and_reaches_every_lead_exactly_once(  # type: ignore[no-untyped-def]
    start_bot, fake_telegram, smtp_server, db_url
):
    start_bot(RETRY_BASE_SECONDS="2")
    import_leads(fake_telegram, 4)
    smtp_server.tempfail_next(2)
    run_campaign(fake_telegram)
    smtp_server.wait_for(4, timeout=30)
    wait_ticks(db_url, "send", 3)  # a duplicate would go out on one of these

    sent = deliveries(smtp_server)
    assert {rcpt for rcpt, _ in sent} == recipients(4)
    assert set(sent.values()) == {1}
    assert len(smtp_server.messages) == 4
    states = message_states(db_url)
    assert sorted(s for _, _, s, _ in states) == ["sent"] * 4
    assert set(lead_statuses(db_url).values()) == {"sent"}  # in sequence, none failed


def test_it_keeps_the_password_and_token_out_of_the_logs_through_faults(  # type: ignore[no-untyped-def]
    start_bot, fake_telegram, smtp_server
):
    bot = start_bot(LOG_LEVEL="DEBUG", RETRY_BASE_SECONDS="1")
    import_leads(fake_telegram, 2)
    smtp_server.refuse_auth()
    run_campaign(fake_telegram)
    fake_telegram.wait_for("refused to log in", chat_id=ADMIN, timeout=20)
    smtp_server.refuse_auth(False)
    smtp_server.tempfail_next(1)
    run_campaign(fake_telegram)
    smtp_server.wait_for(2, timeout=30)
    bot.stop()

    logs = bot.logs()
    assert "refused" in logs or "AccountBroken" in logs or "paused" in logs  # it did log the fault
    assert_no_secrets(logs, "app-password-123")
