"""Start ``python -m bot`` as a subprocess against the test servers, and stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import select

from engine.intervals import TEST_ENV
from engine.storage.db import Database
from engine.storage.models import JobRun, Replica
from tests.conftest import BASE_ENV
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
ADMIN = 1001
# The process's jobs and leases on a test's time scale (engine/intervals.py). The reply check
# keeps REPLY_CHECK_INTERVAL_SECONDS: most tests have no IMAP server, and a failing check would
# raise alerts that today's tests do not expect.
FAST = {
    "send": 0.2,
    "notifications": 0.2,
    "maintenance": 0.5,
    "send_start": 0.1,
    "reply_check_start": 0.2,
    "poller_lease": 6.0,
    "notification_lease": 10.0,
    "recovery_lease": 10.0,
}


def intervals_env(**changes: float) -> str:
    """The value of OUTREACH_TEST_INTERVALS: FAST with ``changes``."""
    return ",".join(f"{k}={v}" for k, v in {**FAST, **changes}.items())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.port = int(env["PORT"])
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"bot-{self.port}.log"

    def start(self, wait_healthy: bool = True) -> BotProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "EMAIL"))}
        env.update(self.env)
        env["PYTHONPATH"] = str(ROOT)
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=self.workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        if wait_healthy:
            try:
                self.wait_healthy()
            except BaseException:
                self.stop(signal.SIGKILL)  # never leave a process behind a failed start
                raise
        return self

    def health(self) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=5)

    def wait_healthy(self, timeout: float = 30) -> dict:
        last = [""]

        def healthy() -> dict | None:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"bot exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                r = self.health()
                if r.status_code == 200:
                    return dict(r.json())
                last[0] = r.text
            except httpx.HTTPError as e:
                last[0] = str(e)
            return None

        found = wait_until(healthy, timeout, "a healthy bot", required=False)
        if found is None:
            raise AssertionError(f"bot not healthy in {timeout}s ({last[0]}):\n{self.logs()}")
        return found

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return int(self.proc.returncode)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def bot_env(
    *, telegram_url: str, smtp_port: int, db_url: str, imap_port: int = 1, **extra: str
) -> dict[str, str]:
    env = dict(BASE_ENV)
    env.update(
        TELEGRAM_API_URL=telegram_url,
        SMTP_PORT=str(smtp_port),
        IMAP_PORT=str(imap_port),
        DATABASE_URL=db_url,
        PORT=str(free_port()),
        MIN_DELAY_SECONDS="0",
        MAX_DELAY_SECONDS="0",
        PAUSE_EVERY_N_EMAILS="0",
        SEND_INTERVAL_SECONDS="1",
        REPLY_CHECK_INTERVAL_SECONDS="3600",
    )
    env[TEST_ENV] = intervals_env()
    env.update(extra)
    return env


def _job_runs(db_url: str, job: str) -> tuple[datetime | None, datetime | None]:
    db = Database(db_url)
    try:
        with db.transaction() as session:
            row = session.get(JobRun, job)
            return (row.last_success_at, row.last_error_at) if row is not None else (None, None)
    finally:
        db.dispose()


def wait_ticks(db_url: str, job: str, n: int = 3, timeout: float = 30) -> None:
    """Wait until ``job`` has finished ``n`` more runs (successful or not, as job_runs records
    them): the proof that whatever a tick would do (send a duplicate, say) had its chance."""
    seen = {_job_runs(db_url, job)}
    wait_until(
        lambda: seen.add(_job_runs(db_url, job)) or len(seen) > n, timeout, f"{n} {job} runs"
    )


def wait_heartbeats(db_url: str, n: int = 2, timeout: float = 30) -> None:
    """Wait until every live replica's maintenance job has beaten ``n`` more times."""

    def beats() -> dict[str, datetime]:
        db = Database(db_url)
        try:
            with db.transaction() as session:
                return {r.id: r.heartbeat_at for r in session.scalars(select(Replica))}
        finally:
            db.dispose()

    first = beats()
    seen: dict[str, set[datetime]] = {rid: {at} for rid, at in first.items()}

    def enough() -> bool:
        for rid, at in beats().items():
            seen.setdefault(rid, set()).add(at)
        return all(len(seen[rid]) > n for rid in first)

    wait_until(enough, timeout, f"{n} more heartbeats of every replica")
