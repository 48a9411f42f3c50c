"""Scale in leads: with 10,000 and with 1,000,000 leads stored, the time to pick the next due
email (``engine.sending.claims.claim_next``) and to answer ``/status`` (``engine.campaign.status``).

    python -m bench.scale --db both [--sizes 10000,1000000]

The leads are generated inside the database (generate_series / a recursive CTE): a quarter due
for a first email, most already sent once with an outbound message and a follow-up weeks away,
some replied or bounced. Targets: picking stays flat (1M median <= 2 x 10k median) and /status
p95 <= 300 ms at 1M, on both databases. The 10k run is the baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import text

from bench.common import context, fresh_database, machine, median, p95, samples, table, verdict
from engine import campaign
from engine.sending.claims import claim_next
from engine.storage.db import Database

CLAIMS, STATUSES = 200, 40

# A lead's shape from g % 20: 0-4 due new, 5-17 sent (follow-up later), 18 replied, 19 bounced.
_LEADS = """
INSERT INTO leads (email, email_key, domain, first_name, last_name, company, custom, status,
    next_step, followups_sent, queue, next_send_at, last_sent_at, replied_at, auto_replies,
    created_at)
SELECT 'p' || g || '@c' || (g % 5000) || '.example', 'p' || g || '@c' || (g % 5000) || '.example',
    'c' || (g % 5000) || '.example', 'First' || g, 'Last', 'Company', '{{}}',
    CASE WHEN g % 20 < 5 THEN 'pending' WHEN g % 20 < 18 THEN 'sent'
         WHEN g % 20 = 18 THEN 'replied' ELSE 'bounced' END,
    CASE WHEN g % 20 < 5 THEN 0 ELSE 1 END, 0,
    CASE WHEN g % 20 < 5 THEN 2 WHEN g % 20 < 18 THEN 1 ELSE NULL END,
    CASE WHEN g % 20 < 5 THEN {past} WHEN g % 20 < 18 THEN {future} ELSE NULL END,
    CASE WHEN g % 20 >= 5 THEN {sent} ELSE NULL END,
    CASE WHEN g % 20 = 18 THEN {sent} ELSE NULL END,
    0, {sent}
FROM {series}
"""
_OUTBOUND = """
INSERT INTO outbound_messages (lead_id, kind, step, message_id, to_email, subject, body, state,
    attempts, attempted_at, sent_at, created_at)
SELECT id, 'initial', 0, '<' || id || '@example.com>', email, 'Hello', 'Body', 'sent', 1,
    last_sent_at, last_sent_at, last_sent_at
FROM leads WHERE last_sent_at IS NOT NULL
"""


def fill(db: Database, n: int) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    if db.is_postgres:
        ts = "(TIMESTAMPTZ '" + now.isoformat() + "' + make_interval(secs => {}))"
        sql = _LEADS.format(
            series=f"generate_series(1, {n}) AS g",
            past=ts.format("-(g % 1000)"),
            future=ts.format("86400 * 3 + (g % 86400)"),
            sent=ts.format("-(86400 * 2 + (g % (86400 * 28)))"),
        ).replace("'{}'", "'{}'::json")
    else:
        base = now.replace(tzinfo=None).isoformat(sep=" ")
        ts = f"(strftime('%Y-%m-%d %H:%M:%S', '{base}', ({{}}) || ' seconds') || '.000000')"
        sql = _LEADS.format(
            series=f"(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s "
            f"WHERE g < {n}) SELECT g FROM s)",
            past=ts.format("-(g % 1000)"),
            future=ts.format("86400 * 3 + (g % 86400)"),
            sent=ts.format("-(86400 * 2 + (g % (86400 * 28)))"),
        )
    with db.engine.begin() as conn:
        conn.execute(text(sql))
        conn.execute(text(_OUTBOUND))
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def measure(kind: str, n: int) -> dict[str, float]:
    with fresh_database(kind) as db:
        t = time.perf_counter()
        fill(db, n)
        fill_s = time.perf_counter() - t
        ctx = context(db)
        campaign.run(ctx)

        def pick() -> None:
            got = claim_next(ctx)
            assert hasattr(got, "lead_id"), got

        picks = samples(pick, CLAIMS)
        statuses = samples(lambda: campaign.status(ctx), STATUSES)
        return {
            "fill": fill_s,
            "pick_med": median(picks),
            "pick_p95": p95(picks),
            "status_med": median(statuses),
            "status_p95": p95(statuses),
        }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--sizes", default="10000,1000000")
    args = ap.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    small, large = (int(x) for x in args.sizes.split(","))
    print(f"Scale in leads ({small:,} vs {large:,}) — {machine()}\n")
    rows, ok_all = [], True
    for kind in kinds:
        base, big = measure(kind, small), measure(kind, large)
        flat = big["pick_med"] <= 2 * base["pick_med"]
        fast = big["status_p95"] <= 0.300
        ok_all &= flat and fast
        for n, r in ((small, base), (large, big)):
            rows.append(
                [
                    kind,
                    f"{n:,}",
                    f"{r['fill']:.1f} s",
                    f"{r['pick_med'] * 1000:.1f} ms",
                    f"{r['pick_p95'] * 1000:.1f} ms",
                    f"{r['status_med'] * 1000:.1f} ms",
                    f"{r['status_p95'] * 1000:.1f} ms",
                ]
            )
        rows.append(
            [
                kind,
                "ratio",
                "",
                f"{big['pick_med'] / base['pick_med']:.2f}x {verdict(flat)}",
                "",
                f"{big['status_med'] / base['status_med']:.1f}x",
                f"<=300 ms {verdict(fast)}",
            ]
        )
    print(
        table(
            ["db", "leads", "fill", "pick median", "pick p95", "/status median", "/status p95"],
            rows,
        )
    )
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
