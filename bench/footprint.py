"""Footprint: the resident memory and thread count of an idle ``python -m bot`` with 50 mailboxes
stored, against the same with 1 mailbox (the baseline, same run).

    python -m bench.footprint [--db both] [--mailboxes 50] [--ticks 5] [--reply-idle on|off]
                              [--poll-interval SECONDS]

The bot runs as a subprocess (``tests/e2e/proc.py``) against the fake Bot API, one SMTP server
with a login per mailbox and one Dovecot with a user per mailbox, with the test intervals (send
job every 0.2 s). No campaign is running. By default REPLY_IDLE is on and the reply check polls
at its default interval (300 s): the process keeps one IMAP IDLE connection, in one thread, per
mailbox. Once it is healthy, every mailbox's inbox has been checked (``mailboxes.last_check_at``),
with IDLE every mailbox's watcher holds its connection (the process's established connections
to Dovecot, read from /proc), and the send job has run ``--ticks`` more times, VmRSS, VmHWM and
Threads are read from /proc/PID/status. ``--reply-idle off`` is the configuration measured
before IDLE existed: polling only, every 5 s unless ``--poll-interval`` says otherwise, and one
more poll waited for. Target: RSS with 50 mailboxes ≤ 2 × RSS with 1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bench.common import fresh_database, machine, table, tcp_connections, verdict
from engine.storage.db import Database
from engine.storage.models import Mailbox
from tests.conftest import BASE_ENV
from tests.e2e.proc import BotProcess, bot_env, wait_ticks
from tests.mailboxrows import chat_mailbox
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SmtpServer
from tests.servers.telegram import FakeTelegram
from tests.waiting import wait_until

KEY = "bench-secret-key-0123456789"


def add_mailboxes(db: Database, n: int, smtp: SmtpServer, imap: Dovecot) -> None:
    now = datetime.now(UTC)
    with db.transaction() as session:
        for i in range(2, n + 1):
            email, password = f"box{i}@example.com", f"pw-box-{i}"
            smtp.add_login(email, password)
            if email not in imap.users:
                imap.add_user(email, password)
            session.add(
                chat_mailbox(
                    email,
                    password,
                    key=KEY,
                    now=now,
                    smtp_server="127.0.0.1",
                    smtp_port=smtp.port,
                    smtp_security="none",
                    imap_server="127.0.0.1",
                    imap_port=imap.port,
                    imap_security="none",
                )
            )


def checked(url: str) -> int:
    db = Database(url)
    try:
        with db.transaction() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(Mailbox)
                    .where(Mailbox.last_check_at.is_not(None))
                )
                or 0
            )
    finally:
        db.dispose()


def status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            out[key] = int(value.split()[0])
    return out


def steady(pred: Callable[[], bool], timeout: float, what: str, reads: int = 5) -> None:
    """``pred`` true on ``reads`` reads in a row, 0.1 s apart (connections come and go)."""
    row = [0]

    def ok() -> bool:
        row[0] = row[0] + 1 if pred() else 0
        return row[0] >= reads

    wait_until(ok, timeout, what, poll=0.1)


def measure(
    kind: str,
    n: int,
    ticks: int,
    telegram: FakeTelegram,
    imap: Dovecot,
    *,
    idle: bool,
    poll_interval: int,
) -> dict:
    with (
        fresh_database(kind) as db,
        SmtpServer(imap.user, imap.password) as smtp,
        tempfile.TemporaryDirectory() as work,
    ):
        add_mailboxes(db, n, smtp, imap)
        env = bot_env(
            telegram_url=telegram.url,
            smtp_port=smtp.port,
            imap_port=imap.port,
            db_url=db.url,
            EMAIL_ADDRESS=imap.user,
            EMAIL_PASSWORD=imap.password,
            SECRET_KEY=KEY,
            REPLY_IDLE="on" if idle else "off",
            REPLY_CHECK_INTERVAL_SECONDS=str(poll_interval),
        )
        if db.is_sqlite:
            db.dispose()  # the bot claims the SQLite file for itself
        bot = BotProcess(Path(work), env).start()
        try:
            assert bot.proc is not None
            pid = bot.proc.pid
            wait_until(lambda: checked(db.url) >= n, 120, f"{n} mailboxes checked")
            if idle:
                steady(lambda: tcp_connections(pid, imap.port) == n, 120, f"{n} IDLE connections")
            wait_ticks(db.url, "send", ticks, timeout=60)
            if not idle:
                wait_ticks(db.url, "reply_check", 1, timeout=poll_interval + 60)
            got = status(pid)
            got["imap"] = tcp_connections(pid, imap.port)
        finally:
            bot.stop()
    return got


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--mailboxes", type=int, default=50)
    ap.add_argument("--ticks", type=int, default=5)
    ap.add_argument("--reply-idle", default="on", choices=["on", "off"])
    ap.add_argument(
        "--poll-interval",
        type=int,
        help="REPLY_CHECK_INTERVAL_SECONDS (default: 300, the setting's, with IDLE; 5 without)",
    )
    args = ap.parse_args()
    idle = args.reply_idle == "on"
    poll = args.poll_interval or (300 if idle else 5)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(
        f"Idle python -m bot: {args.mailboxes} mailboxes vs 1, REPLY_IDLE={args.reply_idle}, "
        f"reply check every {poll} s — {machine()}\n"
    )
    rows, ok_all = [], True
    with FakeTelegram(token=BASE_ENV["TELEGRAM_BOT_TOKEN"]) as telegram, Dovecot() as imap:
        for kind in kinds:
            one = measure(kind, 1, args.ticks, telegram, imap, idle=idle, poll_interval=poll)
            many = measure(
                kind, args.mailboxes, args.ticks, telegram, imap, idle=idle, poll_interval=poll
            )
            ok = many["VmRSS"] <= 2 * one["VmRSS"]
            ok_all &= ok
            for n, r in ((1, one), (args.mailboxes, many)):
                rows.append(
                    [
                        kind,
                        str(n),
                        f"{r['VmRSS'] / 1024:.1f} MB",
                        f"{r['VmHWM'] / 1024:.1f} MB",
                        str(r["Threads"]),
                        str(r["imap"]),
                        "",
                    ]
                )
            ratio = many["VmRSS"] / one["VmRSS"]
            rows.append([kind, "ratio", f"{ratio:.2f}x", "", "", "", verdict(ok)])
    headers = ["db", "mailboxes", "VmRSS", "VmHWM", "threads", "IMAP conns", "target RSS <= 2x"]
    print(table(headers, rows))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
