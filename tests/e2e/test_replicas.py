"""Several ``python -m bot`` replicas on one PostgreSQL: commands answered once, every lead sent
once, the midnight reset once, and polling taken over when the leader dies. SQLite refuses a
second process."""

from __future__ import annotations

import subprocess
import sys
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
from tests.e2e.proc import ADMIN, ROOT, BotProcess, bot_env, wait_heartbeats, wait_ticks
from tests.waiting import wait_until

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
    def single() -> list[BotProcess] | None:
        polling = [
            p for p in procs if p.proc and p.proc.poll() is None and p.health().json()["polling"]
        ]
        return polling if len(polling) == 1 else None

    return wait_until(single, timeout, "a single polling replica")[0]


def _updates_settled(fake_telegram) -> None:  # type: ignore[no-untyped-def]
    """Send one more command and wait for its answer: the updates before it are confirmed to
    Telegram, so an answer sent twice would be here by now."""
    mark = fake_telegram.mark()
    fake_telegram.send_text(ADMIN, "/help")
    fake_telegram.wait_for("/help — Every command", chat_id=ADMIN, after=mark, timeout=20)


def _status_answers(fake_telegram, after: int = 0) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m for m in fake_telegram.sent(ADMIN)[after:] if STATUS in (m.get("text") or "")]


def test_it_answers_each_command_exactly_once(replicas, fake_telegram) -> None:  # type: ignore[no-untyped-def]
    _leader(replicas)
    for _ in range(3):
        fake_telegram.send_text(ADMIN, "/status")
    wait_until(lambda: len(_status_answers(fake_telegram)) >= 3, 20, "three answers")
    _updates_settled(fake_telegram)  # a duplicate answer would arrive by now
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
    wait_ticks(pg_url, "send", 6)  # a second send of anything would show up by now
    recipients = [r.rcpt_tos[0] for r in smtp_server.messages]
    assert len(recipients) == 30
    assert len(set(recipients)) == 30


MIDNIGHT = """
import sys
from datetime import datetime
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.storage.db import Database
from engine.scheduler import Scheduler
from tests.conftest import make_settings
db = Database(sys.argv[1])
clock = FakeClock(datetime.fromisoformat(sys.argv[2]))
engine = Scheduler(EngineContext(db=db, settings=make_settings(), clock=clock))
print("READY", flush=True)
sys.stdin.readline()  # the start line: every racer is ready, they go together
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
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", MIDNIGHT, pg_url, midnight.isoformat()],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    for r in runs:
        assert r.stdout is not None
        ready = r.stdout.readline()  # blocks until the racer is up (or has died)
        assert ready.strip() == "READY", ready + r.communicate(timeout=10)[0]
    for r in runs:  # the barrier opens
        assert r.stdin is not None
        r.stdin.write("go\n")
        r.stdin.flush()
    outputs = [r.communicate(timeout=60)[0].strip().splitlines()[-1] for r in runs]
    assert sorted(outputs) == ["RESET", "SKIPPED", "SKIPPED"]
    assert _midnight_runs(pg_url, tomorrow.isoformat()) == (1, 1)


def test_replicas_catch_up_a_missed_midnight_reset_once(replicas, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    today = datetime.now(UTC).date()
    db = Database(pg_url)
    # Recorded silently on a new database.
    wait_until(
        lambda: _midnight_runs(pg_url, today.isoformat())[0], 30, "a replica to record today"
    )
    with db.transaction() as session:  # as if every replica had been down at midnight
        session.execute(delete(DailyRun))
        yesterday = today - timedelta(days=1)
        session.add(
            DailyRun(job="midnight", day=yesterday.isoformat(), owner="gone", created_at=_now())
        )
    db.dispose()
    wait_until(
        lambda: _midnight_runs(pg_url, today.isoformat())[0], 40, "the missed reset caught up"
    )
    wait_heartbeats(pg_url, 2)  # one more maintenance tick on each replica
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
    _updates_settled(fake_telegram)
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
