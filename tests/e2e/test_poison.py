"""Poison email end to end through ``python -m bot``: the four messages from issue 8 are APPENDed
to the real Dovecot INBOX ahead of a genuine reply. While the reply check reads them, ``/health``
keeps answering 200, and the genuine reply is pushed within one check. The classifier's child
process goes away with the bot."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests import hostile, mailshapes
from tests.e2e.proc import ADMIN, BotProcess, bot_env

pytestmark = pytest.mark.e2e

CHECK_SECONDS = 5  # the config's minimum
ANA = "ana@acme.io"


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` and that run the classifier."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"engine.inbox.budget" in cmdline:
            found.append(int(entry.name))
    return found


class HealthProbe(threading.Thread):
    """Polls /health until stopped; records every answer (status or error) and its latency."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/health"
        self.results: list[tuple[int | str, float]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            t0 = time.monotonic()
            try:
                status: int | str = httpx.get(self.url, timeout=2).status_code
            except httpx.HTTPError as e:
                status = type(e).__name__
            self.results.append((status, time.monotonic() - t0))
            self.halt.wait(0.1)


def test_poison_mail_neither_freezes_health_nor_delays_a_genuine_reply(  # type: ignore[no-untyped-def]
    tmp_path: Path, fake_telegram, smtp_server, dovecot, db_url: str
) -> None:
    smtp_server.set_credentials(dovecot.user, dovecot.password)
    env = bot_env(
        telegram_url=fake_telegram.url,
        smtp_port=smtp_server.port,
        db_url=db_url,
        imap_port=dovecot.port,
        EMAIL_ADDRESS=dovecot.user,
        EMAIL_PASSWORD=dovecot.password,
        REPLY_CHECK_INTERVAL_SECONDS=str(CHECK_SECONDS),
        FOLLOWUP_DELAYS="",
    )
    bot = BotProcess(tmp_path, env).start()
    try:
        fake_telegram.send_document(ADMIN, "leads.csv", f"email,first_name\n{ANA},Ana\n".encode())
        fake_telegram.wait_for("Imported: 1", timeout=20)
        fake_telegram.send_text(ADMIN, "/run")
        [first] = smtp_server.wait_for(1, timeout=20)
        ours = str(first.message["Message-ID"])
        mark = fake_telegram.mark()
        probe = HealthProbe(bot.port)
        probe.start()
        for build in hostile.POISON.values():
            assert dovecot.append(build()) is not None
        dovecot.append(
            mailshapes.threaded_reply(
                ANA,
                dovecot.user,
                ours,
                [ours],
                "Sounds good, what times do you have?",
                mailshapes.default_original_body(),
                message_id="<ana-after-poison@mail.gmail.com>",
            )
        )
        appended_at = time.monotonic()

        fake_telegram.wait_for(
            lambda m: "Reply from" in (m.get("text") or "") and ANA in m["text"],
            timeout=CHECK_SECONDS + 10,
            chat_id=ADMIN,
            after=mark,
        )
        waited = time.monotonic() - appended_at
        probe.halt.set()
        probe.join(5)

        assert waited < CHECK_SECONDS + 10
        assert probe.results, "the probe never ran"
        assert all(status == 200 for status, _ in probe.results), probe.results
        assert len(_children(bot.proc.pid)) == 1  # type: ignore[union-attr]
    finally:
        pid = bot.proc.pid if bot.proc is not None else None
        bot.stop()
    assert pid is not None and _children(pid) == []
    print(
        f"/health answers during the check: {len(probe.results)}, slowest {max(t for _, t in probe.results):.3f} s"
    )
