"""A CSV import killed mid-way (kill -9 of ``python -m bot``) stores nothing, and the next start
edits its "⏳ Importing…" message to say so instead of leaving it on screen for ever."""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.storage.db import Database
from engine.storage.models import ImportRun, Lead
from tests.e2e.proc import ADMIN, BotProcess, bot_env
from tests.e2e.test_faults import leads_csv

pytestmark = pytest.mark.e2e

ROWS = 150_000


def count_leads(db_url: str) -> int:
    db = Database(db_url)
    try:
        with db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(Lead)) or 0)
    finally:
        db.dispose()


def import_runs(db_url: str) -> list[tuple[str, str | None]]:
    db = Database(db_url)
    try:
        with db.transaction() as session:
            return [(r.file_name, r.outcome) for r in session.scalars(select(ImportRun))]
    finally:
        db.dispose()


def test_an_import_killed_mid_way_is_reported_on_the_next_start_and_stored_nothing(
    fake_telegram: Any, smtp_server: Any, db_url: str, tmp_path: Path
) -> None:
    env = bot_env(telegram_url=fake_telegram.url, smtp_port=smtp_server.port, db_url=db_url)
    bot = BotProcess(tmp_path, env).start()
    try:
        fake_telegram.send_document(ADMIN, "big-list.csv", leads_csv(ROWS))
        progress = fake_telegram.wait_for(
            lambda r: re.search(r"Importing… \d+/", r.get("text") or "") is not None,
            chat_id=ADMIN,
            timeout=120,
        )
        bot.stop(signal.SIGKILL)
    finally:
        bot.stop(signal.SIGKILL)
    assert not [r for r in fake_telegram.sent(ADMIN) if "Import finished" in (r["text"] or "")]
    assert count_leads(db_url) == 0
    assert import_runs(db_url) == [("big-list.csv", None)]

    mark = fake_telegram.mark()
    bot = BotProcess(tmp_path, env).start()
    try:
        notice = fake_telegram.wait_for("was interrupted", chat_id=ADMIN, after=mark, timeout=30)
        assert notice["text"] == (
            "❌ The import of big-list.csv was interrupted; nothing was imported. Send it again."
        )
        assert notice["method"] == "editMessageText"
        assert notice["message_id"] == progress["message_id"]
        assert import_runs(db_url) == [("big-list.csv", "interrupted")]
        # Reported once: a later restart says nothing more about it.
        bot.stop()
        mark = fake_telegram.mark()
        bot = BotProcess(tmp_path, env).start()
        fake_telegram.send_text(ADMIN, "/leads")
        fake_telegram.wait_for("leads", chat_id=ADMIN, after=mark, timeout=30)
        assert not [
            r for r in fake_telegram.sent(ADMIN)[mark:] if "interrupted" in (r["text"] or "")
        ]
    finally:
        bot.stop()
    assert count_leads(db_url) == 0
