"""Webhook mode: ``POST /telegram`` on the real uvicorn server of ``python -m bot`` acts only on
requests carrying the secret Telegram was given."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.proc import ADMIN, BotProcess, bot_env, free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

SECRET = "s3cret_hook-token"


def _update(update_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": ADMIN, "type": "private", "first_name": "Admin"},
            "from": {"id": ADMIN, "is_bot": False, "first_name": "Admin"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


@pytest.fixture
def hook_bot(tmp_path: Path, fake_telegram, smtp_server) -> Iterator[BotProcess]:  # type: ignore[no-untyped-def]
    port = free_port()
    env = bot_env(
        telegram_url=fake_telegram.url,
        smtp_port=smtp_server.port,
        db_url=f"sqlite:///{tmp_path / 'hook.db'}",
        PORT=str(port),
        WEBHOOK_URL=f"http://127.0.0.1:{port}",
        WEBHOOK_SECRET=SECRET,
    )
    p = BotProcess(tmp_path, env).start()
    yield p
    p.stop()


def _post(bot: BotProcess, payload: dict, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{bot.port}/telegram", json=payload, headers=headers, timeout=5
    )


def test_it_refuses_an_update_without_the_secret_and_ignores_it(hook_bot, fake_telegram) -> None:  # type: ignore[no-untyped-def]
    assert _post(hook_bot, _update(9001, "/help"), {}).status_code == 403
    wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
    assert _post(hook_bot, _update(9002, "/help"), wrong).status_code == 403
    # An update with the secret, after them: once it is answered, the refused ones had their
    # chance to be answered too.
    right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    assert _post(hook_bot, _update(9003, "/status"), right).status_code == 200
    marker = fake_telegram.wait_for("Campaign:", chat_id=ADMIN, timeout=15)
    assert fake_telegram.sent(ADMIN) == [marker]


def test_it_handles_an_update_with_the_secret(hook_bot, fake_telegram) -> None:  # type: ignore[no-untyped-def]
    right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    assert _post(hook_bot, _update(9003, "/status"), right).status_code == 200
    fake_telegram.wait_for("Campaign:", chat_id=ADMIN, timeout=15)


def test_it_registers_the_webhook_with_its_secret(hook_bot, fake_telegram) -> None:  # type: ignore[no-untyped-def]
    wait_until(lambda: fake_telegram.webhook.get("url"), 10, "the webhook", required=False)
    assert fake_telegram.webhook["url"] == f"http://127.0.0.1:{hook_bot.port}/telegram"
    assert fake_telegram.webhook["secret_token"] == SECRET
