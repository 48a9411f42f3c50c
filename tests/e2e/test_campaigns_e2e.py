"""End to end through ``python -m bot``: the operator creates a second campaign from the chat,
gives it its own first email, selects it, uploads its leads, runs it and reads its stats (a
message and a chart photo); the first campaign's leads are untouched, and the selection holds
across a restart of the process."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.e2e.proc import ADMIN, BotProcess, bot_env

pytestmark = pytest.mark.e2e


def test_an_operator_runs_a_second_campaign_from_the_chat(  # type: ignore[no-untyped-def]
    tmp_path: Path, fake_telegram, smtp_server, db_url: str
) -> None:
    env = bot_env(telegram_url=fake_telegram.url, smtp_port=smtp_server.port, db_url=db_url)
    bot = BotProcess(tmp_path, env).start()
    try:
        fake_telegram.send_document(
            ADMIN, "first.csv", b"email,first_name\nold@one.io,Old\n"
        )  # into default, which stays stopped
        fake_telegram.wait_for("Imported: 1", timeout=20, chat_id=ADMIN)

        fake_telegram.send_text(ADMIN, "/campaign new agency-q3")
        fake_telegram.wait_for("agency-q3 created and selected", timeout=20, chat_id=ADMIN)
        fake_telegram.send_text(
            ADMIN,
            "/template initial\nSubject: For agencies, {first_name}\n\nHi {first_name}, "
            "{{a quick|one short}} question.",
        )
        fake_telegram.wait_for("Saved in campaign agency-q3", timeout=20, chat_id=ADMIN)
        leads = "email,first_name\n" + "".join(f"a{i}@ag{i}.io,A{i}\n" for i in range(3))
        fake_telegram.send_document(ADMIN, "agency.csv", leads.encode())
        fake_telegram.wait_for("Import into agency-q3 finished", timeout=20, chat_id=ADMIN)
        fake_telegram.send_text(ADMIN, "/run")
        fake_telegram.wait_for("Campaign agency-q3 started", timeout=20, chat_id=ADMIN)
        got = smtp_server.wait_for(3, timeout=30)
        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/stats")
        figures = fake_telegram.wait_for("agency-q3", timeout=30, chat_id=ADMIN, after=mark)
        photo = fake_telegram.wait_for(
            lambda r: r.get("photo") is not None, timeout=60, chat_id=ADMIN, after=mark
        )
    finally:
        assert bot.stop() == 0
    assert "First A    3    0 0.0%" in figures["text"]  # step 0, variant A: 3 sent, no reply
    assert _png_size(photo["photo"]["content"]) == (960, 540)
    assert sorted(m.rcpt_tos[0] for m in got) == ["a0@ag0.io", "a1@ag1.io", "a2@ag2.io"]
    for m in got:
        assert str(m.message["Subject"]).startswith("For agencies, A")
        body = m.message.get_body().get_content()
        assert "a quick question" in body or "one short question" in body  # spintax
    assert "old@one.io" not in {m.rcpt_tos[0] for m in smtp_server.messages}

    bot = BotProcess(tmp_path, env).start()  # a restart: the selection is in the database
    try:
        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/status")
        status = fake_telegram.wait_for("📊 Campaign agency-q3", timeout=20, after=mark)
        assert "Leads: 3" in status["text"]
    finally:
        assert bot.stop() == 0


def _png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.verify()
    with Image.open(io.BytesIO(data)) as img:
        return img.size
