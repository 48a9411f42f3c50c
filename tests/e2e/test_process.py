"""End to end through ``python -m bot``: the operator uploads a CSV, runs the campaign, and every
lead gets one personalised email at the real SMTP server; /status and /export agree."""

from __future__ import annotations

import csv
import io
import signal
from pathlib import Path

import pytest

from tests.e2e.proc import ADMIN, BotProcess, bot_env

pytestmark = pytest.mark.e2e

LEADS_CSV = (
    "Email;First Name;Company;City\n"
    "ana@acme.io;Ana;Acme;Lisbon\n"
    "BOB@beta.io;Bob;Beta Corp;Berlin\n"
    "cleo@gamma.io;Cléo;Gamma;Paris\n"
    "not-an-email;X;Y;Z\n"
    "ana@ACME.io;Ana again;Acme;Lisbon\n"
).encode("cp1252")


@pytest.fixture
def bot(tmp_path: Path, fake_telegram, smtp_server, db_url: str):  # type: ignore[no-untyped-def]
    env = bot_env(telegram_url=fake_telegram.url, smtp_port=smtp_server.port, db_url=db_url)
    p = BotProcess(tmp_path, env).start()
    yield p
    p.stop()


def test_it_imports_runs_and_sends_one_personal_email_per_lead(bot, fake_telegram, smtp_server):  # type: ignore[no-untyped-def]
    fake_telegram.send_text(ADMIN, "/start")
    fake_telegram.wait_for("/status", chat_id=ADMIN)
    commands = {c["command"] for c in fake_telegram.commands()}
    assert {"status", "run", "pause", "stop", "export", "lead", "settings"} <= commands

    fake_telegram.send_document(ADMIN, "leads.csv", LEADS_CSV)
    report = fake_telegram.wait_for(lambda m: "Imported: 3" in (m.get("text") or ""), timeout=20)
    assert "Invalid: 1" in report["text"]
    assert "line 5" in report["text"]
    assert "Duplicates: 1" in report["text"]

    fake_telegram.send_text(ADMIN, "/run")
    fake_telegram.wait_for("Campaign started", chat_id=ADMIN)
    received = smtp_server.wait_for(3, timeout=20)
    by_rcpt = {r.rcpt_tos[0].lower(): r for r in received}
    assert set(by_rcpt) == {"ana@acme.io", "bob@beta.io", "cleo@gamma.io"}
    cleo = by_rcpt["cleo@gamma.io"].message
    assert "Cléo" in cleo.get_body(("plain",)).get_content()
    assert cleo["Message-ID"].endswith("@example.com>")
    assert "Sam Sender" in str(cleo["From"])

    fake_telegram.send_text(ADMIN, "/status")
    status = fake_telegram.wait_for(lambda m: "Sent today: 3/500" in (m.get("text") or ""))
    assert "Campaign: RUNNING" in status["text"]

    fake_telegram.send_text(ADMIN, "/export")
    doc = fake_telegram.wait_for(lambda m: m.get("document") is not None)
    rows = list(csv.DictReader(io.StringIO(doc["document"]["content"].decode("utf-8-sig"))))
    assert {r["email"].lower() for r in rows} == set(by_rcpt)
    assert all(r["status"] == "sent" and r["last_sent_at"] for r in rows)
    assert {r["city"] for r in rows} == {"Lisbon", "Berlin", "Paris"}
    # No second email to anyone: the follow-ups are days away.
    assert len(smtp_server.messages) == 3


def test_it_refuses_strangers_and_shuts_down_cleanly_on_sigterm(bot, fake_telegram, smtp_server):  # type: ignore[no-untyped-def]
    stranger = 4242
    fake_telegram.send_text(stranger, "/status")
    refusal = fake_telegram.wait_for(lambda m: m["chat_id"] == stranger)
    assert "private bot" in refusal["text"]
    assert "Campaign" not in refusal["text"]
    assert bot.stop(signal.SIGTERM) == 0
    assert "stopped" in bot.logs()
    assert "app-password-123" not in bot.logs()
    assert "TEST-token_abcdef" not in bot.logs()


def test_it_exits_2_with_every_problem_listed(tmp_path: Path) -> None:
    env = bot_env(telegram_url="http://127.0.0.1:1", smtp_port=1, db_url="sqlite:///x.db")
    env.update(TELEGRAM_ADMIN_IDS="abc", DAILY_EMAIL_LIMIT="lots", EMAIL_PASSWORD="")
    p = BotProcess(tmp_path, env).start(wait_healthy=False)
    code = p.proc.wait(20) if p.proc else None
    p.stop()
    out = p.logs()
    assert code == 2
    assert "TELEGRAM_ADMIN_IDS" in out and "DAILY_EMAIL_LIMIT" in out and "EMAIL_PASSWORD" in out
    assert "Traceback" not in out


def test_it_serves_health_and_joins_telegram_when_it_comes_back(  # type: ignore[no-untyped-def]
    tmp_path: Path, fake_telegram, smtp_server, db_url: str
):
    fake_telegram.set_unreachable(True)
    env = bot_env(telegram_url=fake_telegram.url, smtp_port=smtp_server.port, db_url=db_url)
    p = BotProcess(tmp_path, env).start()  # healthy while Telegram is unreachable
    try:
        assert p.health().json()["status"] == "healthy"
        fake_telegram.set_unreachable(False)
        fake_telegram.send_text(ADMIN, "/status")
        answer = fake_telegram.wait_for("Campaign:", chat_id=ADMIN, timeout=40)
        assert "STOPPED" in answer["text"]
    finally:
        assert p.stop() == 0


def test_it_exits_2_when_telegram_refuses_the_token(tmp_path: Path, fake_telegram) -> None:  # type: ignore[no-untyped-def]
    env = bot_env(
        telegram_url=fake_telegram.url,
        smtp_port=1,
        db_url=f"sqlite:///{tmp_path / 'x.db'}",
        TELEGRAM_BOT_TOKEN="999:WRONG-token",
    )
    p = BotProcess(tmp_path, env).start(wait_healthy=False)
    code = p.proc.wait(30) if p.proc else None
    p.stop()
    assert code == 2
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in p.logs()
    assert "WRONG-token" not in p.logs()
