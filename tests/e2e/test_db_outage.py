"""PostgreSQL stopped and started mid-campaign, end to end through ``python -m bot``.

The machine's shared PostgreSQL is never touched: the test runs its own throwaway cluster
(``initdb`` + ``pg_ctl`` on a free port, as the ``postgres`` user when run as root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.proc import BotProcess, bot_env, free_port, wait_ticks
from tests.e2e.test_faults import (
    deliveries,
    import_leads,
    message_states,
    recipients,
    run_campaign,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

LEADS = 8
# The log lines of a send tick the outage spoiled: it failed, or it could not start because the
# previous one is still retrying to record a send (APScheduler skips it), or it was missed.
SEND_DOWN = (
    "send: database unavailable",
    'Execution of job "job_send',
    "job send missed its run",
)


def _spoiled_send_ticks(bot: BotProcess) -> int:
    logs = bot.logs()
    return sum(logs.count(line) for line in SEND_DOWN)


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return str(Path(found[-1]).parent)
    which = shutil.which("pg_ctl")
    return str(Path(which).parent) if which else None


class Cluster:
    """A throwaway PostgreSQL cluster the test can stop and start."""

    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pg-outage-"))
        self.data = self.root / "data"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/outreach"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [f"{self.bindir}/{tool}", *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "pg.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self) -> None:
        admin = create_engine(
            self.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "outreach"'))
        admin.dispose()

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("pg_ctl/initdb not installed: cannot run a throwaway PostgreSQL cluster")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a 'postgres' user to run pg_ctl as")
    c = Cluster(bindir)
    try:
        c.start()
        c.create_database()
        yield c
    finally:
        c.destroy()


def _health(bot: BotProcess) -> int:
    try:
        return bot.health().status_code
    except httpx.HTTPError:
        return 0


def test_it_survives_postgresql_stopping_mid_campaign_without_losing_or_doubling(  # type: ignore[no-untyped-def]
    tmp_path: Path, fake_telegram: Any, smtp_server: Any, cluster: Cluster
):
    env = bot_env(
        telegram_url=fake_telegram.url,
        smtp_port=smtp_server.port,
        db_url=cluster.url,
        MIN_DELAY_SECONDS="1",
        MAX_DELAY_SECONDS="1",
    )
    bot = BotProcess(tmp_path, env).start()
    try:
        import_leads(fake_telegram, LEADS)
        run_campaign(fake_telegram)
        smtp_server.wait_for(2, timeout=20)

        cluster.stop()
        wait_until(lambda: _health(bot) == 503, 20, "/health to turn 503")
        assert bot.health().json()["database"] == "unreachable"
        down = _spoiled_send_ticks(bot)
        wait_until(lambda: _spoiled_send_ticks(bot) >= down + 3, 20, "send ticks to fail")
        assert bot.proc is not None and bot.proc.poll() is None, "the process died"

        cluster.start()
        wait_until(lambda: _health(bot) == 200, 30, "/health to turn 200 again")
        wait_until(lambda: len(smtp_server.messages) >= LEADS, 60, "every lead to get its email")
        wait_until(
            lambda: [s for _, _, s, _ in message_states(cluster.url)] == ["sent"] * LEADS,
            30,
            "every send recorded",
        )
        wait_ticks(cluster.url, "send", 3)  # a duplicate would go out on one of these
        assert bot.proc.poll() is None, "the process died"
    finally:
        bot.stop()

    sent = deliveries(smtp_server)
    assert {rcpt for rcpt, _ in sent} == recipients(LEADS)
    assert set(sent.values()) == {1}
    assert len(smtp_server.messages) == LEADS
