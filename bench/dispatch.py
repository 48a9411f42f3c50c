"""Dispatch throughput: pacing off, one mailbox, an aiosmtpd sink (with AUTH) in another process.
The engine's send loop (``run_send_queue`` with the real ``SmtpMailer``: claim, render, send,
record — one committed transaction before and one after every email) against a bare smtplib loop
over one connection sending messages of the same size to the same sink.

    python -m bench.dispatch --db both [--emails 1000]

Target: engine throughput >= 0.5 x the bare loop.
"""

from __future__ import annotations

import argparse
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage

from bench.common import BENCH_ENV, context, fresh_database, machine, table, verdict
from engine import campaign
from engine.leads.service import import_csv
from engine.sending.smtp import SmtpMailer

SINK = """
import sys
from tests.servers.smtp import SmtpServer
s = SmtpServer(sys.argv[1], sys.argv[2]).start()
print(s.port, flush=True)
sys.stdin.read()
"""
USER, PASSWORD = BENCH_ENV["EMAIL_ADDRESS"], BENCH_ENV["EMAIL_PASSWORD"]


def start_sink() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SINK, USER, PASSWORD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def bare_loop(port: int, n: int) -> float:
    t = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.login(USER, PASSWORD)
        for i in range(n):
            msg = EmailMessage()
            msg["From"] = f"Sam Sender <{USER}>"
            msg["To"] = f"bare{i}@acme{i % 50}.example"
            msg["Subject"] = "Quick question about Acme"
            msg.set_content("Hi Lead,\n\n" + "A short cold email body line.\n" * 12)
            smtp.send_message(msg)
    return time.perf_counter() - t


def engine_loop(kind: str, port: int, n: int) -> float:
    with fresh_database(kind) as db:
        ctx = context(db, SMTP_PORT=str(port))
        rows = "".join(f"lead{i}@acme{i % 50}.example;Lead{i};Acme\n" for i in range(n))
        assert import_csv(ctx, f"Email;First Name;Company\n{rows}".encode()).imported == n
        campaign.run(ctx)
        mailer = SmtpMailer(ctx.smtp_settings())
        t = time.perf_counter()
        from engine.sending.queue import run_send_queue

        report = run_send_queue(ctx, mailer, max_sends=n + 1)
        elapsed = time.perf_counter() - t
        mailer.close()
        assert report.sent == n, report
        return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--emails", type=int, default=1000)
    args = ap.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"Dispatch of {args.emails:,} emails, pacing off — {machine()}\n")
    sink, port = start_sink()
    rows, ok_all = [], True
    try:
        for kind in kinds:
            bare = args.emails / bare_loop(port, args.emails)
            eng = args.emails / engine_loop(kind, port, args.emails)
            ok = eng >= 0.5 * bare
            ok_all &= ok
            rows.append([kind, f"{eng:,.0f}/s", f"{bare:,.0f}/s", f"{eng / bare:.2f}", verdict(ok)])
    finally:
        sink.kill()
        sink.wait()
    print(table(["db", "engine", "bare smtplib", "ratio", "target >= 0.5"], rows))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
