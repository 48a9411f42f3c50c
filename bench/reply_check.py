"""Reply check: a 10,000-message INBOX on a real Dovecot plus 5 new messages. The engine's
``check_inbox`` (after a first check that sets the watermark) against a bare imapclient session
that searches the new UIDs and fetches them, in the same run.

    python -m bench.reply_check [--db sqlite|postgres|both] [--messages 10000]

Target: <= 1 s and exactly 5 messages fetched.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.common import context, fresh_database, machine, table, verdict
from engine.inbox.sync import check_inbox
from tests.mailshapes import unthreaded_reply
from tests.servers.dovecot import Dovecot

NEW = 5


def bare(server: Dovecot, since_uid: int) -> tuple[float, int]:
    t = time.perf_counter()
    with server.client() as c:
        c.select_folder("INBOX", readonly=True)
        uids = [u for u in c.search(["UID", f"{since_uid + 1}:*"]) if u > since_uid]
        got = c.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
    return time.perf_counter() - t, len(got)


def measure(kind: str, n: int) -> list[object]:
    with Dovecot() as server, fresh_database(kind) as db:
        server.bulk_fill(n)
        ctx = context(
            db,
            IMAP_PORT=str(server.port),
            EMAIL_ADDRESS=server.user,
            EMAIL_PASSWORD=server.password,
        )
        check_inbox(ctx)  # the first check only sets the watermark
        with server.client() as c:
            c.select_folder("INBOX", readonly=True)
            top = max(c.search(["ALL"]))
        for i in range(NEW):
            server.deliver(
                unthreaded_reply(f"reply{i}@acme.example", server.user, "Re: hello", "Sounds good.")
            )
        t = time.perf_counter()
        report = check_inbox(ctx)
        elapsed = time.perf_counter() - t
        raw_s, raw_n = bare(server, top)
        ok = elapsed <= 1.0 and report.fetched == NEW
        return [
            kind,
            f"{n:,} + {NEW}",
            f"{elapsed * 1000:.0f} ms",
            report.fetched,
            f"{raw_s * 1000:.0f} ms",
            raw_n,
            f"{elapsed / raw_s:.1f}x",
            verdict(ok),
        ]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--messages", type=int, default=10_000)
    args = ap.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"Reply check on Dovecot — {machine()}\n")
    rows = [measure(kind, args.messages) for kind in kinds]
    print(
        table(
            [
                "db",
                "mailbox",
                "engine",
                "fetched",
                "bare imapclient",
                "fetched",
                "ratio",
                "target <= 1 s, 5",
            ],
            rows,
        )
    )
    return 0 if all(r[-1] == "MET" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
