"""What every benchmark shares: a fresh database, the machine's description, timing helpers and
a plain-text table. Benchmarks are scripts (``python -m bench.<name>``), never pytest tests."""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import create_engine, text

from engine.config import Settings, load_settings
from engine.context import EngineContext
from engine.storage.db import Database

PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"),
)

BENCH_ENV = {
    "TELEGRAM_BOT_TOKEN": "123456:BENCH-token_abcdef",
    "TELEGRAM_ADMIN_IDS": "1001",
    "EMAIL_ADDRESS": "sender@example.com",
    "EMAIL_PASSWORD": "bench-password",
    "SENDER_NAME": "Sam Sender",
    "SMTP_SERVER": "127.0.0.1",
    "SMTP_PORT": "2525",
    "SMTP_SECURITY": "none",
    "IMAP_SERVER": "127.0.0.1",
    "IMAP_PORT": "1143",
    "IMAP_SECURITY": "none",
    "DAILY_EMAIL_LIMIT": "100000",
    "MIN_DELAY_SECONDS": "0",
    "MAX_DELAY_SECONDS": "0",
    "PAUSE_EVERY_N_EMAILS": "0",
    "FOLLOWUP_DELAYS": "3d,4d",
    "TIMEZONE": "UTC",
    # Imports look nothing up unless a benchmark says so (bench/verify.py, with its own DNS).
    "VERIFY_EMAILS": "off",
}


def settings(**env: str) -> Settings:
    return load_settings({**BENCH_ENV, **env})


def context(db: Database, **env: str) -> EngineContext:
    return EngineContext(db=db, settings=settings(**env), rng=random.Random(7))


@contextmanager
def fresh_database(kind: str) -> Iterator[Database]:
    """A migrated, empty database of ``kind`` ("sqlite" or "postgres"), dropped afterwards."""
    if kind == "sqlite":
        with TemporaryDirectory(prefix="bench-") as d:
            db = Database(f"sqlite:///{Path(d) / 'bench.db'}")
            db.migrate()
            try:
                yield db
            finally:
                db.dispose()
        return
    if kind != "postgres":
        raise SystemExit(f"unknown --db {kind!r}: use sqlite or postgres")
    name = f"outreach_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        db.migrate()
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs (nproc), "
        f"{mem:.1f} GiB RAM, Python {sys.version.split()[0]}"
    )


def tcp_connections(pid: int, port: int) -> int:
    """Established TCP connections of process ``pid`` to a server on ``port`` (from /proc: its
    socket fds matched against its network namespace's TCP table)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for name in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]:
            f = line.split()
            remote_port = int(f[2].rsplit(":", 1)[1], 16)
            if f[3] == "01" and remote_port == port and f[9] in inodes:  # 01: ESTABLISHED
                count += 1
    return count


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def samples(fn: Callable[[], object], n: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    return [timed(fn) for _ in range(n)]


def p95(xs: Sequence[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 2 else xs[0]


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def child_json(module: str, *args: str) -> dict[str, float]:
    """Run ``python -m module args`` in a fresh process (its own RSS, its own imports) and read
    the JSON object it prints on its last line."""
    out = subprocess.run(
        [sys.executable, "-m", module, *args], check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))
