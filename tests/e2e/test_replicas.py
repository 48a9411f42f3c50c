"""Several ``python -m bot`` replicas on one PostgreSQL: commands answered once, every lead sent
once, the midnight reset once, and polling taken over when the leader dies. SQLite refuses a
second process."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from engine import campaign
from engine.context import EngineContext
from engine.leads.service import import_csv
from engine.storage.db import Database
from engine.storage.models import DailyRun, PendingNotification
from tests.conftest import fresh_pg_url, make_settings
from tests.e2e.proc import ADMIN, ROOT, BotProcess, bot_env

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

STATUS = "Campaign:"


@pytest.fixture
def pg_url() -> str:
    return fresh_pg_url()


@pytest.fixture
def replicas(tmp_path: Path, fake_telegram, smtp_server, pg_url: str) -> Iterator[list[BotProcess]]:  # type: ignore[no-untyped-def]
    procs = []
    for _ in range(2):
        env = bot_env(telegram_url=fake_telegram.url, smtp_port=smtp_server.port, db_url=pg_url)
        procs.append(BotProcess(tmp_path, env).start(wait_healthy=False))
    for p in procs:
        p.wait_healthy()
    yield procs
    for p in procs:
        p.stop()


def _leader(procs: list[BotProcess], timeout: float = 20) -> BotProcess:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        polling = [
            p for p in procs if p.proc and p.proc.poll() is None and p.health().json()["polling"]
        ]
        if len(polling) == 1:
            return polling[0]
        time.sleep(0.2)
    raise AssertionError("no single polling replica")


def _status_answers(fake_telegram, after: int = 0) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m for m in fake_telegram.sent(ADMIN)[after:] if STATUS in (m.get("text") or "")]


def test_it_answers_each_command_exactly_once(replicas, fake_telegram) -> None:  # type: ignore[no-untyped-def]
    _leader(replicas)
    for _ in range(3):
        fake_telegram.send_text(ADMIN, "/status")
    deadline = time.monotonic() + 20
    while len(_status_answers(fake_telegram)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)  # a duplicate answer would arrive by now
    assert len(_status_answers(fake_telegram)) == 3
    assert fake_telegram.conflicts == 0


def test_it_sends_every_lead_exactly_once(replicas, smtp_server, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    db = Database(pg_url)
    ctx = EngineContext(db=db, settings=make_settings(DATABASE_URL=pg_url))
    rows = "".join(f"lead{i}@acme{i % 7}.io;Lead{i}\n" for i in range(30))
    assert import_csv(ctx, f"Email;First Name\n{rows}".encode()).imported == 30
    campaign.run(ctx)
    db.dispose()
    smtp_server.wait_for(30, timeout=60)
    time.sleep(3)  # a second send of anything would show up by now
    recipients = [r.rcpt_tos[0] for r in smtp_server.messages]
    assert len(recipients) == 30
    assert len(set(recipients)) == 30


MIDNIGHT = """
import sys, time
from datetime import datetime
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.storage.db import Database
from engine.scheduler import Scheduler
from tests.conftest import make_settings
db = Database(sys.argv[1])
clock = FakeClock(datetime.fromisoformat(sys.argv[3]))
engine = Scheduler(EngineContext(db=db, settings=make_settings(), clock=clock))
while time.time() < float(sys.argv[2]):
    time.sleep(0.001)
print("RESET" if engine.midnight_reset() else "SKIPPED")
"""


def _midnight_runs(pg_url: str, day: str) -> tuple[int, int]:
    db = Database(pg_url)
    with db.transaction() as session:
        runs = session.scalar(select(func.count()).select_from(DailyRun).where(DailyRun.day == day))
        summaries = session.scalar(
            select(func.count())
            .select_from(PendingNotification)
            .where(PendingNotification.kind == "summary")
        )
    db.dispose()
    return int(runs or 0), int(summaries or 0)


def test_it_runs_a_racing_midnight_reset_once(replicas, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    midnight = datetime.combine(tomorrow, datetime.min.time(), UTC) + timedelta(seconds=5)
    start_at = str(time.time() + 3)
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", MIDNIGHT, pg_url, start_at, midnight.isoformat()],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [r.communicate(timeout=60)[0].strip().splitlines()[-1] for r in runs]
    assert sorted(outputs) == ["RESET", "SKIPPED", "SKIPPED"]
    assert _midnight_runs(pg_url, tomorrow.isoformat()) == (1, 1)


def test_replicas_catch_up_a_missed_midnight_reset_once(replicas, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    today = datetime.now(UTC).date()
    db = Database(pg_url)
    deadline = time.monotonic() + 30
    while _midnight_runs(pg_url, today.isoformat())[0] == 0:  # recorded silently on a new db
        assert time.monotonic() < deadline, "no replica recorded today"
        time.sleep(0.2)
    with db.transaction() as session:  # as if every replica had been down at midnight
        session.execute(delete(DailyRun))
        yesterday = today - timedelta(days=1)
        session.add(
            DailyRun(job="midnight", day=yesterday.isoformat(), owner="gone", created_at=_now())
        )
    db.dispose()
    deadline = time.monotonic() + 40
    while _midnight_runs(pg_url, today.isoformat())[0] == 0:
        assert time.monotonic() < deadline, "the missed reset was not caught up"
        time.sleep(0.2)
    time.sleep(16)  # one more maintenance tick on each replica
    assert _midnight_runs(pg_url, today.isoformat()) == (1, 1)


def _now() -> datetime:
    return datetime.now(UTC)


def test_it_hands_polling_to_another_replica_when_the_leader_dies(replicas, fake_telegram) -> None:  # type: ignore[no-untyped-def]
    leader = _leader(replicas)
    leader.kill()
    survivor = next(p for p in replicas if p is not leader)
    mark = fake_telegram.mark()
    fake_telegram.send_text(ADMIN, "/status")
    fake_telegram.wait_for(STATUS, timeout=45, chat_id=ADMIN, after=mark)
    assert survivor.health().json()["polling"] is True
    time.sleep(2)
    assert len(_status_answers(fake_telegram, mark)) == 1


def test_it_refuses_a_second_process_on_one_sqlite_file(
    tmp_path: Path, fake_telegram, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'one.db'}"
    first = BotProcess(
        tmp_path, bot_env(telegram_url=fake_telegram.url, smtp_port=smtp_server.port, db_url=url)
    ).start()
    second = BotProcess(
        tmp_path, bot_env(telegram_url=fake_telegram.url, smtp_port=smtp_server.port, db_url=url)
    ).start(wait_healthy=False)
    try:
        assert second.proc is not None
        assert second.proc.wait(30) == 2
        assert "another process is already using the SQLite database" in second.logs()
        assert "Traceback" not in second.logs()
        assert first.health().status_code == 200
    finally:
        second.stop()
        first.stop()
