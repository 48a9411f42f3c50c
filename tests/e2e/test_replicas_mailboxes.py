"""Two ``python -m bot`` replicas on one PostgreSQL with three mailboxes (the environment's and two
added from the chat), each with its own SMTP login and Dovecot user: every lead is sent once,
from all three mailboxes, each email as its mailbox's login and From. Exactly one replica keeps
the IMAP IDLE watchers (/health ``idle_watchers``); when it is killed the other takes them over
and a reply to the third mailbox reaches the admin once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine import campaign
from engine.context import EngineContext
from engine.leads.service import import_csv
from engine.storage.db import Database
from tests import mailshapes
from tests.conftest import fresh_pg_url, make_settings
from tests.e2e.proc import ADMIN, BotProcess, bot_env, intervals_env, wait_ticks
from tests.mailboxrows import chat_mailbox
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

KEY = "an-e2e-secret-key-of-some-length"
BEA, CAI = "bea@example.com", "cai@example.com"
PASSWORDS = {BEA: "Bea-app-pw-77", CAI: "Cai-app-pw-88"}
LEADS = 30
REPLY = "Sounds good, what times do you have?"
# The reply check runs every second, so the survivor tries the lease that often; the holder
# renews it as often, and a replica that vanished without a word loses it after LEASE seconds
# (one on this host that was killed loses it at once: leases.owner_is_gone).
CHECK_SECONDS = 1.0
LEASE = 4.0


@pytest.fixture
def pg_url() -> str:
    return fresh_pg_url()


def _store_mailboxes(pg_url: str, smtp_port: int, imap_port: int) -> None:
    """Mailboxes 2 and 3 as /mailbox add stores them (the add itself: test_mailboxes_e2e)."""
    db = Database(pg_url)
    try:
        db.migrate()
        now = datetime.now(UTC)
        with db.transaction() as session:
            for email, password in PASSWORDS.items():
                session.add(
                    chat_mailbox(
                        email,
                        password,
                        key=KEY,
                        now=now,
                        smtp_server="127.0.0.1",
                        smtp_port=smtp_port,
                        smtp_security="none",
                        imap_server="127.0.0.1",
                        imap_port=imap_port,
                        imap_security="none",
                    )
                )
    finally:
        db.dispose()


@pytest.fixture
def replicas(  # type: ignore[no-untyped-def]
    tmp_path: Path, fake_telegram, smtp_server, dovecot, pg_url: str
) -> Iterator[list[BotProcess]]:
    smtp_server.set_credentials(dovecot.user, dovecot.password)  # mailbox 1: the environment's
    for login, password in PASSWORDS.items():
        smtp_server.add_login(login, password)
        dovecot.add_user(login, password)
    _store_mailboxes(pg_url, smtp_server.port, dovecot.port)
    procs: list[BotProcess] = []
    try:
        for _ in range(2):
            procs.append(BotProcess(tmp_path, _env(fake_telegram, smtp_server, dovecot, pg_url)))
            procs[-1].start(wait_healthy=False)
        for p in procs:
            p.wait_healthy()
        yield procs
    finally:  # a replica that failed to start takes none with it
        for p in procs:
            p.stop()


def _env(fake_telegram, smtp_server, dovecot, pg_url: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bot_env(
        telegram_url=fake_telegram.url,
        smtp_port=smtp_server.port,
        db_url=pg_url,
        imap_port=dovecot.port,
        EMAIL_ADDRESS=dovecot.user,
        EMAIL_PASSWORD=dovecot.password,
        SECRET_KEY=KEY,
        REPLY_IDLE="on",
        OUTREACH_TEST_INTERVALS=intervals_env(reply_check=CHECK_SECONDS, reply_check_lease=LEASE),
    )


def _watchers(procs: list[BotProcess]) -> list[int]:
    """Each live replica's IDLE watchers, as its /health says."""
    return [
        int(p.health().json()["idle_watchers"])
        for p in procs
        if p.proc is not None and p.proc.poll() is None
    ]


def _one_holder(procs: list[BotProcess], timeout: float) -> BotProcess:
    """Wait until one replica watches the three mailboxes and every other watches none."""

    def settled() -> BotProcess | None:
        counts = _watchers(procs)
        if sorted(counts) != [0] * (len(counts) - 1) + [3]:
            return None
        return next(p for p, n in zip(procs, counts, strict=True) if n == 3)

    found = wait_until(settled, timeout, "one replica with 3 IDLE watchers", required=False)
    assert found is not None, f"IDLE watchers per replica: {_watchers(procs)}"
    return found


def _is_reply_push(m: dict, sender: str) -> bool:
    text = m.get("text") or ""
    return "Reply from" in text and sender in text and REPLY in text and bool(m.get("reply_markup"))


def test_three_mailboxes_on_two_replicas_send_each_lead_once_and_one_replica_watches(  # type: ignore[no-untyped-def]
    replicas, fake_telegram, smtp_server, dovecot, pg_url: str
) -> None:
    db = Database(pg_url)
    ctx = EngineContext(db=db, settings=make_settings(DATABASE_URL=pg_url))
    rows = "".join(f"lead{i}@acme{i}.io;Lead{i}\n" for i in range(LEADS))
    assert import_csv(ctx, f"Email;First Name\n{rows}".encode()).imported == LEADS
    campaign.run(ctx)
    db.dispose()

    smtp_server.wait_for(LEADS, timeout=30)
    wait_ticks(pg_url, "send", 6)  # a second send of anything would show up by now
    got = smtp_server.messages
    recipients = [m.rcpt_tos[0] for m in got]
    assert len(recipients) == LEADS
    assert len(set(recipients)) == LEADS
    assert {m.login for m in got} == {dovecot.user, BEA, CAI}  # all three mailboxes send
    for m in got:  # each as its own login and From
        assert m.message["From"].addresses[0].addr_spec == m.login

    holder = _one_holder(replicas, timeout=20)
    holder.kill()
    survivor = next(p for p in replicas if p is not holder)
    # The survivor's next reply check takes the lease (at once: the holder is gone from this
    # host) and starts a watcher per mailbox; in any case within the lease's TTL.
    assert _one_holder([survivor], timeout=LEASE + 2 * CHECK_SECONDS + 5) is survivor

    first = next(m for m in got if m.login == CAI)
    lead, ours = first.rcpt_tos[0], str(first.message["Message-ID"])
    mark = fake_telegram.mark()
    dovecot.append(
        mailshapes.threaded_reply(
            lead,
            CAI,
            ours,
            [ours],
            REPLY,
            mailshapes.default_original_body(),
            message_id="<after-the-handover@mail.gmail.com>",
        ),
        user=CAI,
    )
    fake_telegram.wait_for(lambda m: _is_reply_push(m, lead), timeout=15, chat_id=ADMIN, after=mark)
    # Both the watcher and the poll see the reply; a second push would be out by now.
    wait_ticks(pg_url, "reply_check", 2)
    wait_ticks(pg_url, "outbox", 2)
    said = [m for m in fake_telegram.sent()[mark:] if str(m["chat_id"]) == str(ADMIN)]
    assert len([m for m in said if _is_reply_push(m, lead)]) == 1, [m.get("text") for m in said]
