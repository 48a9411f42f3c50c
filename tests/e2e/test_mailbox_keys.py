"""End to end through ``python -m bot``: with a SECRET_KEY that cannot open a stored mailbox
password the process still starts, the admins get one alert naming the mailbox, /mailboxes shows
it broken, and neither the password nor a key is in the log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.storage.db import Database
from tests.e2e.proc import ADMIN, BotProcess, bot_env
from tests.mailboxrows import chat_mailbox

pytestmark = pytest.mark.e2e

KEY = "the-key-the-password-was-saved-with"
WRONG_KEY = "a-different-key-set-after-a-redeploy"
PASSWORD = "Bea-S3cret-pw-4410"


def stored_mailbox(db_url: str) -> None:
    db = Database(db_url)
    try:
        db.migrate()
        now = datetime.now(UTC)
        with db.transaction() as session:
            session.add(chat_mailbox("bea@acme.test", PASSWORD, key=KEY, now=now))
    finally:
        db.dispose()


def test_it_starts_with_an_unreadable_mailbox_and_says_so_once(  # type: ignore[no-untyped-def]
    tmp_path: Path, fake_telegram, smtp_server, db_url: str
) -> None:
    stored_mailbox(db_url)
    env = bot_env(
        telegram_url=fake_telegram.url,
        smtp_port=smtp_server.port,
        db_url=db_url,
        SECRET_KEY=WRONG_KEY,
    )
    bot = BotProcess(tmp_path, env).start()
    try:
        alert = fake_telegram.wait_for("mailbox(es) cannot send", timeout=20, chat_id=ADMIN)
        assert "bea@acme.test" in alert["text"]
        assert "SECRET_KEY is not the key their passwords were saved with" in alert["text"]
        fake_telegram.send_text(ADMIN, "/mailboxes")
        block = fake_telegram.wait_for("📮 bea@acme.test", chat_id=ADMIN)
        assert "broken: its password cannot be decrypted" in block["text"]
    finally:
        assert bot.stop() == 0
    said = [r.get("text") or "" for r in fake_telegram.sent(ADMIN)]
    assert len([t for t in said if "cannot send" in t]) == 1
    logs = bot.logs()
    assert PASSWORD not in logs and KEY not in logs and WRONG_KEY not in logs
