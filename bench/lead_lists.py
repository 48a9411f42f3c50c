"""Lead lists at 1M leads: a page of ``/leads STATUS`` (``engine.leads.listing.status_page``)
for each status, near the start and deep in the list, and ``/find`` (``listing.find``) for a
word every lead has, a word one lead has and a word none has — with all the leads in one
campaign, then with a third of them moved to a second campaign (the pages then filter by
campaign). The baseline is the same with 10,000 leads, in the same run.

    python -m bench.lead_lists [--db both] [--sizes 10000,1000000] [--runs 20]

The leads are those of ``bench.scale`` (a quarter pending, most sent, 5 % replied, 5 %
bounced), then ``VACUUM ANALYZE`` on PostgreSQL (as autovacuum leaves a table at rest: without
it the page's count of its status cannot be answered from the index alone). Targets: a page's p95 <= 100 ms at 1M (pages 1 and 100; page 10,000 reported);
/find is reported (a substring cannot use an index: one with few matches reads every lead).
"""

from __future__ import annotations

import argparse
import sys
import time

from sqlalchemy import text

from bench.common import context, fresh_database, machine, median, p95, samples, table, verdict
from bench.scale import fill
from engine.leads import listing
from engine.states import LeadStatus
from engine.storage import store
from engine.storage.db import Database

TARGET_S = 0.100
PAGES = (0, 99, 9_999)
STATUSES = (LeadStatus.PENDING, LeadStatus.SENT, LeadStatus.REPLIED, LeadStatus.BOUNCED)
FINDS = {"every lead": "company", "one lead": "p777@", "no lead": "nobody-has-this"}


def settle(db: Database) -> None:
    """Statistics for the planner, and on PostgreSQL the visibility map that lets a count be
    answered from an index alone."""
    if db.is_postgres:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE leads"))
        return
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def second_campaign(db: Database) -> None:
    """A second campaign holding every third lead."""
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO campaign (id, name, name_key, state, reason, changed_at, created_at)"
                " SELECT 2, 'two', 'two', state, reason, changed_at, created_at FROM campaign"
                " WHERE id = 1"
            )
        )
        conn.execute(text("UPDATE leads SET campaign_id = 2 WHERE id % 3 = 0"))
    settle(db)


def measure(kind: str, n: int, runs: int) -> list[list[object]]:
    rows: list[list[object]] = []
    with fresh_database(kind) as db:
        t = time.perf_counter()
        fill(db, n)
        settle(db)
        print(f"  {kind} {n:,}: filled in {time.perf_counter() - t:.1f} s", flush=True)
        ctx = context(db)
        with db.transaction() as session:
            store.campaign(session, ctx.clock.now())  # the default campaign's row
        for layout in ("one campaign", "two campaigns"):
            if layout == "two campaigns":
                second_campaign(db)
            for status in STATUSES:
                for page in PAGES:
                    xs = samples(lambda s=status, p=page: listing.status_page(ctx, 1, s, p), runs)
                    ok = "—" if page == PAGES[-1] else verdict(n < 1_000_000 or p95(xs) <= TARGET_S)
                    rows.append([kind, f"{n:,}", layout, f"{status} p{page + 1}", *_ms(xs), ok])
            for what, word in FINDS.items():
                xs = samples(lambda w=word: listing.find(ctx, w), max(3, runs // 4), warmup=1)
                rows.append([kind, f"{n:,}", layout, f"/find {what}", *_ms(xs), "—"])
    return rows


def _ms(xs: list[float]) -> list[str]:
    return [f"{median(xs) * 1000:.1f} ms", f"{p95(xs) * 1000:.1f} ms"]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--sizes", default="10000,1000000")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"Lead lists: /leads STATUS pages and /find — {machine()}\n")
    rows = [r for kind in kinds for n in sizes for r in measure(kind, n, args.runs)]
    print()
    print(table(["db", "leads", "layout", "what", "median", "p95", "target"], rows))
    return 0 if all(r[-1] != verdict(False) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
