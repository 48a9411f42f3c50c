"""Bot latency under load: ``/status`` round trips through the fake Bot API to one
``python -m bot`` while it dispatches at full speed (pacing off, an SMTP sink in another process)
and checks a 10,000-message Dovecot INBOX every 5 s. Baseline: the same round trips while idle.

    python -m bench.bot_latency [--db sqlite|postgres] [--leads 3000] [--samples 30]

Target: p95 <= 300 ms under load.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.common import context, fresh_database, machine, median, p95, table, verdict
from bench.replicas import Sink
from engine import campaign
from engine.leads.service import import_csv
from tests.conftest import BASE_ENV
from tests.e2e.proc import ADMIN, BotProcess, bot_env
from tests.servers.dovecot import Dovecot
from tests.servers.telegram import FakeTelegram


def round_trips(telegram: FakeTelegram, n: int) -> list[float]:
    out = []
    for _ in range(n):
        mark = telegram.mark()
        t = time.perf_counter()
        telegram.send_text(ADMIN, "/status")
        telegram.wait_for("Campaign:", chat_id=ADMIN, after=mark, timeout=30)
        out.append(time.perf_counter() - t)
        time.sleep(0.1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--leads", type=int, default=3000)
    ap.add_argument("--samples", type=int, default=30)
    args = ap.parse_args()
    print(f"/status round trip, idle vs under load ({args.db}) — {machine()}\n")
    with (
        FakeTelegram(token=BASE_ENV["TELEGRAM_BOT_TOKEN"]) as telegram,
        Dovecot() as imap,
        fresh_database(args.db) as db,
        tempfile.TemporaryDirectory() as work,
    ):
        imap.bulk_fill(10_000)
        ctx = context(db, EMAIL_ADDRESS=imap.user, EMAIL_PASSWORD=imap.password)
        rows = "".join(f"lead{i}@acme{i % 50}.example;Lead{i}\n" for i in range(args.leads))
        import_csv(ctx, f"Email;First Name\n{rows}".encode())
        sink = Sink(imap.user, imap.password)
        env = bot_env(
            telegram_url=telegram.url,
            smtp_port=sink.port,
            imap_port=imap.port,
            db_url=db.url,
            EMAIL_ADDRESS=imap.user,
            EMAIL_PASSWORD=imap.password,
            DAILY_EMAIL_LIMIT=str(max(args.leads, 500)),
            REPLY_CHECK_INTERVAL_SECONDS="5",
        )
        if db.is_sqlite:
            db.dispose()  # the bot claims the SQLite file for itself
        bot = BotProcess(Path(work), env).start()
        try:
            idle = round_trips(telegram, args.samples)
            campaign.run(ctx)
            time.sleep(2)
            loaded = round_trips(telegram, args.samples)
            sent = campaign.status(ctx).sent_today
        finally:
            bot.stop()
            sink.stop()
    ok = p95(loaded) <= 0.300
    print(
        table(
            ["phase", "median", "p95", "emails sent meanwhile", "target p95 <= 300 ms"],
            [
                ["idle", f"{median(idle) * 1000:.0f} ms", f"{p95(idle) * 1000:.0f} ms", "", ""],
                [
                    "under load",
                    f"{median(loaded) * 1000:.0f} ms",
                    f"{p95(loaded) * 1000:.0f} ms",
                    sent,
                    verdict(ok),
                ],
            ],
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
