"""SIGTERM shuts ``python -m bot`` down promptly even while Telegram is still unreachable at start
(a PaaS stopping a deploy must not have to wait for its SIGKILL)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.proc import BotProcess, bot_env
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def test_it_stops_on_sigterm_while_telegram_is_unreachable_at_start(  # type: ignore[no-untyped-def]
    tmp_path: Path, fake_telegram, smtp_server
):
    fake_telegram.set_unreachable(True)
    env = bot_env(
        telegram_url=fake_telegram.url,
        smtp_port=smtp_server.port,
        db_url=f"sqlite:///{tmp_path / 'outreach.db'}",
    )
    bot = BotProcess(tmp_path, env).start(wait_healthy=False)
    # The second failed attempt logs its retry wait (2 s) just before it starts waiting: a
    # SIGTERM now comes inside the retry wait, not the connect attempt.
    wait_until(lambda: "retrying in 2s" in bot.logs(), 20, "the second retry wait")
    started = time.monotonic()
    code = bot.stop(timeout=15)
    assert code == 0, bot.logs()
    assert time.monotonic() - started < 5
