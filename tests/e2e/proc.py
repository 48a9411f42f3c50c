"""Start ``python -m bot`` as a subprocess against the test servers, and stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import BASE_ENV

ROOT = Path(__file__).resolve().parents[2]
ADMIN = 1001


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
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"bot exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                r = self.health()
                if r.status_code == 200:
                    return r.json()
                last = r.text
            except httpx.HTTPError as e:
                last = str(e)
            time.sleep(0.1)
        raise AssertionError(f"bot not healthy in {timeout}s ({last}):\n{self.logs()}")

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
    env.update(extra)
    return env
