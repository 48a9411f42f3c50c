"""Many mailboxes: the time to pick the next due email at 1,000,000 leads with 50 mailboxes,
against the same with 1 mailbox (the baseline, measured in the same run).

    python -m bench.mailboxes --db both [--leads 1000000] [--mailboxes 50]

The leads are generated as in ``bench.scale`` (a quarter due for a first email, most in their
sequence, some replied or bounced); the leads in sequence and their messages are spread over the
mailboxes. Each pick is ``claim_next`` for the next mailbox in turn, so every mailbox's own queue
(its follow-ups, then the shared new leads) and its own gate are exercised. Target: the median
pick with 50 mailboxes ≤ 2 × the median with 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from itertools import cycle

from sqlalchemy import text

from bench.common import context, fresh_database, machine, median, p95, samples, table, verdict
from bench.scale import fill
from engine import campaign
from engine.sending.claims import claim_next
from engine.storage.db import Database
from tests.mailboxrows import chat_mailbox

CLAIMS = 200
KEY = "bench-secret-key-0123456789"


def add_mailboxes(db: Database, n: int) -> None:
    """Mailboxes 2..n, and the leads in sequence (and their messages) spread over 1..n."""
    now = datetime.now(UTC)
    with db.sessions.begin() as session:
        for i in range(2, n + 1):
            session.add(chat_mailbox(f"box{i}@example.com", "bench-password", key=KEY, now=now))
    with db.engine.begin() as conn:
        conn.execute(
            text(f"UPDATE leads SET mailbox_id = 1 + (id % {n}) WHERE queue IS NULL OR queue <> 2")
        )
        conn.execute(text(f"UPDATE outbound_messages SET mailbox_id = 1 + (lead_id % {n})"))
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def measure(kind: str, leads: int, mailboxes: int) -> dict[str, float]:
    with fresh_database(kind) as db:
        t = time.perf_counter()
        fill(db, leads)
        add_mailboxes(db, mailboxes)
        fill_s = time.perf_counter() - t
        ctx = context(db)
        campaign.run(ctx)
        turn = cycle(range(1, mailboxes + 1))

        def pick() -> None:
            got = claim_next(ctx, next(turn))
            assert hasattr(got, "lead_id"), got

        picks = samples(pick, CLAIMS)
        return {"fill": fill_s, "pick_med": median(picks), "pick_p95": p95(picks)}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--mailboxes", type=int, default=50)
    args = ap.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"Pick next at {args.leads:,} leads: {args.mailboxes} mailboxes vs 1 — {machine()}\n")
    rows, ok_all = [], True
    for kind in kinds:
        one, many = measure(kind, args.leads, 1), measure(kind, args.leads, args.mailboxes)
        ok = many["pick_med"] <= 2 * one["pick_med"]
        ok_all &= ok
        for n, r in ((1, one), (args.mailboxes, many)):
            rows.append(
                [
                    kind,
                    str(n),
                    f"{r['fill']:.1f} s",
                    f"{r['pick_med'] * 1000:.2f} ms",
                    f"{r['pick_p95'] * 1000:.2f} ms",
                ]
            )
        ratio = many["pick_med"] / one["pick_med"]
        rows.append([kind, "ratio", "", f"{ratio:.2f}x {verdict(ok)}", ""])
    print(table(["db", "mailboxes", "fill", "pick median", "pick p95"], rows))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
