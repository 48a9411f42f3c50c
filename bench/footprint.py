"""Footprint: the resident memory and thread count of an idle ``python -m bot`` with 50 mailboxes
stored, against the same with 1 mailbox (the baseline, same run).

    python -m bench.footprint [--db both] [--mailboxes 50] [--ticks 5]

The bot runs as a subprocess (``tests/e2e/proc.py``) against the fake Bot API, one SMTP server
with a login per mailbox and one Dovecot with a user per mailbox, with the test intervals (send
job every 0.2 s), REPLY_IDLE=off (main has the setting but no IMAP IDLE yet) and the reply check
every 5 s. No campaign is running. Once it is healthy, every mailbox's inbox has been checked
(``mailboxes.last_check_at``) and the send job has run ``--ticks`` more times, VmRSS, VmHWM and
Threads are read from /proc/PID/status. Target: RSS with 50 mailboxes ≤ 2 × RSS with 1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bench.common import fresh_database, machine, table, verdict
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


def measure(kind: str, n: int, ticks: int, telegram: FakeTelegram, imap: Dovecot) -> dict:
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
            REPLY_IDLE="off",
            REPLY_CHECK_INTERVAL_SECONDS="5",
        )
        if db.is_sqlite:
            db.dispose()  # the bot claims the SQLite file for itself
        bot = BotProcess(Path(work), env).start()
        try:
            wait_until(lambda: checked(db.url) >= n, 120, f"{n} mailboxes checked")
            wait_ticks(db.url, "send", ticks, timeout=60)
            wait_ticks(db.url, "reply_check", 1, timeout=60)
            assert bot.proc is not None
            got = status(bot.proc.pid)
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
    args = ap.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"Idle python -m bot: {args.mailboxes} mailboxes vs 1 — {machine()}\n")
    rows, ok_all = [], True
    with FakeTelegram(token=BASE_ENV["TELEGRAM_BOT_TOKEN"]) as telegram, Dovecot() as imap:
        for kind in kinds:
            one = measure(kind, 1, args.ticks, telegram, imap)
            many = measure(kind, args.mailboxes, args.ticks, telegram, imap)
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
                        "",
                    ]
                )
            ratio = many["VmRSS"] / one["VmRSS"]
            rows.append([kind, "ratio", f"{ratio:.2f}x", "", "", verdict(ok)])
    print(table(["db", "mailboxes", "VmRSS", "VmHWM", "threads", "target RSS <= 2x"], rows))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
