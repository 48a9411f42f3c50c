"""Replicas: 1 vs 2 ``python -m bot`` processes on one PostgreSQL, pacing off, one SMTP sink in
another process. Every lead must arrive exactly once; the table gives the throughput of each.

    python -m bench.replicas [--leads 5000]

Claims are serialised by the mailbox row (pacing and the daily cap are global to the mailbox),
so two replicas are not expected to send twice as fast; the point is "exactly once, no slower".
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.common import context, fresh_database, machine, table, verdict
from engine import campaign
from engine.leads.service import import_csv
from engine.states import OutboundState
from engine.storage.models import OutboundMessage
from tests.conftest import BASE_ENV
from tests.e2e.proc import BotProcess, bot_env
from tests.servers.telegram import FakeTelegram

SINK = """
import sys
from tests.servers.smtp import SmtpServer
s = SmtpServer(sys.argv[1], sys.argv[2]).start()
print(s.port, flush=True)
for line in sys.stdin:
    rcpts = [m.rcpt_tos[0].lower() for m in s.messages]
    print(len(rcpts), len(set(rcpts)), flush=True)
"""


class Sink:
    def __init__(self, user: str, password: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SINK, user, password],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def counts(self) -> tuple[int, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        total, distinct = self.proc.stdout.readline().split()
        return int(total), int(distinct)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def run(replicas: int, leads: int, telegram: FakeTelegram) -> tuple[float, int, int]:
    with fresh_database("postgres") as db, tempfile.TemporaryDirectory() as work:
        ctx = context(db)
        rows = "".join(f"lead{i}@acme{i % 50}.example;Lead{i}\n" for i in range(leads))
        assert import_csv(ctx, f"Email;First Name\n{rows}".encode()).imported == leads
        sink = Sink(ctx.settings.email_address, ctx.settings.email_password)
        env = bot_env(
            telegram_url=telegram.url,
            smtp_port=sink.port,
            db_url=db.url,
            EMAIL_PASSWORD=ctx.settings.email_password,
            DAILY_EMAIL_LIMIT=str(max(leads, 500)),
        )
        procs = []
        try:
            for _ in range(replicas):
                env = {**env, "PORT": bot_env(telegram_url="", smtp_port=0, db_url="")["PORT"]}
                procs.append(BotProcess(Path(work), env).start(wait_healthy=False))
            for p in procs:
                p.wait_healthy(60)
            t = time.perf_counter()
            campaign.run(ctx)
            while True:
                with db.transaction() as session:
                    sent = session.scalar(
                        select(func.count())
                        .select_from(OutboundMessage)
                        .where(OutboundMessage.state == OutboundState.SENT)
                    )
                if sent == leads:
                    break
                if time.perf_counter() - t > 600:
                    raise SystemExit(f"only {sent} of {leads} sent in 600 s")
                time.sleep(0.05)
            elapsed = time.perf_counter() - t
            time.sleep(2)  # a duplicate would reach the sink by now
            total, distinct = sink.counts()
            return elapsed, total, distinct
        finally:
            for p in procs:
                p.stop()
            sink.stop()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--leads", type=int, default=5000)
    args = ap.parse_args()
    print(f"{args.leads:,} leads, 1 vs 2 replicas on PostgreSQL — {machine()}\n")
    rows, ok_all = [], True
    with FakeTelegram(token=BASE_ENV["TELEGRAM_BOT_TOKEN"]) as telegram:
        base = None
        for n in (1, 2):
            elapsed, total, distinct = run(n, args.leads, telegram)
            rate = args.leads / elapsed
            base = base or rate
            ok = total == distinct == args.leads
            ok_all &= ok
            rows.append(
                [
                    n,
                    f"{elapsed:.1f} s",
                    f"{rate:,.0f}/s",
                    f"{rate / base:.2f}",
                    total,
                    distinct,
                    verdict(ok),
                ]
            )
    print(
        table(
            ["replicas", "time", "throughput", "vs 1", "received", "distinct", "exactly once"],
            rows,
        )
    )
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
