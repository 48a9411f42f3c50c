"""End to end through ``python -m bot``: with PUBLIC_URL set, a campaign email arrives with
RFC 8058's two headers; the test POSTs to the link from the received header, as a mail provider
would; the lead is unsubscribed, gets no follow-up, and the admin reads one line. Without
SECRET_KEY, PUBLIC_URL is refused at start."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.e2e.proc import ADMIN, BotProcess, bot_env, free_port, wait_ticks
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

ANA, BOB = "ana@acme.io", "bob@beta.io"
FOLLOWUP_SECONDS = 3
LEADS_CSV = f"email,first_name,company\n{ANA},Ana,Acme\n{BOB},Bob,Beta\n".encode()
LINK = re.compile(r"<(http://127\.0\.0\.1:\d+/u/[A-Za-z0-9_-]+)>, <mailto:[^<>\s]+>")


@pytest.fixture
def bot(tmp_path: Path, fake_telegram, smtp_server, db_url: str):  # type: ignore[no-untyped-def]
    port = free_port()
    env = bot_env(
        telegram_url=fake_telegram.url,
        smtp_port=smtp_server.port,
        db_url=db_url,
        PORT=str(port),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        SECRET_KEY="e2e-unsubscribe-secret-key-0123",
        FOLLOWUP_DELAYS=f"{FOLLOWUP_SECONDS}s",
    )
    p = BotProcess(tmp_path, env).start()
    yield p
    p.stop()


def test_a_provider_post_to_the_header_link_unsubscribes_and_the_admin_is_told(  # type: ignore[no-untyped-def]
    bot, fake_telegram, smtp_server, db_url: str
) -> None:
    fake_telegram.send_document(ADMIN, "leads.csv", LEADS_CSV)
    fake_telegram.wait_for("Imported: 2", timeout=20)
    fake_telegram.send_text(ADMIN, "/run")
    first = {r.rcpt_tos[0]: r.message for r in smtp_server.wait_for(2, timeout=20)}
    ana = first[ANA]
    assert str(ana["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    found = LINK.fullmatch(" ".join(str(ana["List-Unsubscribe"]).split()))
    assert found, ana["List-Unsubscribe"]
    link = found[1]

    assert httpx.get(link, timeout=10).status_code == 200  # a preview: nothing happens
    r = httpx.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=10)

    assert r.status_code == 200 and "You are unsubscribed" in r.text
    line = fake_telegram.wait_for(
        lambda m: "🔕" in (m.get("text") or "") and ANA in m["text"], chat_id=ADMIN, timeout=15
    )
    assert "unsubscribed with the link in the email" in line["text"]
    fake_telegram.send_text(ADMIN, f"/lead {ANA}")
    fake_telegram.wait_for("Status: unsubscribed", chat_id=ADMIN, timeout=15)

    # Bob's follow-up goes out; Ana's, due at the same time, does not.
    wait_until(
        lambda: len(smtp_server.by_recipient(BOB)) >= 2, FOLLOWUP_SECONDS + 20, "Bob's follow-up"
    )
    wait_ticks(db_url, "send", 3)
    assert len(smtp_server.by_recipient(ANA)) == 1, bot.logs()[-3000:]
    # A repeat is harmless and tells nobody again.
    assert httpx.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=10).status_code == 200
    wait_ticks(db_url, "outbox", 3)  # chances to deliver a second line
    assert sum("🔕" in (m.get("text") or "") for m in fake_telegram.sent(ADMIN)) == 1


def test_it_refuses_to_start_with_public_url_but_no_secret_key(tmp_path: Path) -> None:
    env = bot_env(telegram_url="http://127.0.0.1:1", smtp_port=1, db_url="sqlite:///x.db")
    env.update(PUBLIC_URL="https://outreach.example.com")
    p = BotProcess(tmp_path, env).start(wait_healthy=False)
    code = p.proc.wait(20) if p.proc else None
    p.stop()
    out = p.logs()
    assert code == 2
    assert "PUBLIC_URL is set but SECRET_KEY is empty" in out
    assert "Traceback" not in out
