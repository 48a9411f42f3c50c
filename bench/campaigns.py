"""Pick-next with many campaigns: 1,000,000 leads spread over 20 campaigns (19 running, one
paused) and 24 timezones, each campaign with a 06:00-22:00 window read in its leads' zones,
against the same 1,000,000 leads in one campaign, in the same run.

    python -m bench.campaigns [--db both] [--leads 1000000] [--campaigns 20] [--zones 24]

The leads are those of ``bench.scale``; the spread run moves them into the campaigns and zones
and, as an import would, stores on each due lead the next moment its window is open in its zone
(``next_send_at``), so the queue stays one index look-up. Target: pick median with campaigns
<= 2 x the single-campaign median.
"""

from __future__ import annotations

import argparse
import sys
import time as timer
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bench.common import context, fresh_database, machine, median, p95, samples, table, verdict
from bench.scale import fill
from engine import campaign
from engine.campaigns import registry
from engine.sending.claims import claim_next
from engine.sending.pacing import SendWindow, next_allowed
from engine.storage.db import Database

CLAIMS = 200
WINDOW = "06:00-22:00"
ZONES = [
    "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver",
    "America/Chicago", "America/New_York", "America/Sao_Paulo", "Atlantic/Azores",
    "Europe/London", "Europe/Berlin", "Europe/Athens", "Europe/Moscow", "Asia/Dubai",
    "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Shanghai",
    "Asia/Tokyo", "Australia/Brisbane", "Australia/Sydney", "Pacific/Noumea",
    "Pacific/Auckland", "Pacific/Kiritimati",
]  # fmt: skip


def spread(db: Database, campaigns: int, zones: int) -> None:
    """Campaigns 2..N (all running but the last), the leads dealt over them and the zones, and
    each due lead's next allowed moment in its zone."""
    ctx = context(db)
    for i in range(2, campaigns + 1):
        cid = registry.create(ctx, None, f"c{i}").id
        campaign.change_setting(ctx, "send_window", WINDOW, campaign_id=cid)
        if i < campaigns:
            campaign.run(ctx, cid)
    campaign.change_setting(ctx, "send_window", WINDOW, campaign_id=1)
    now = datetime.now(UTC)
    window = SendWindow(time(6, 0), time(22, 0), frozenset(range(7)))
    with db.engine.begin() as conn:
        conn.execute(text(f"UPDATE leads SET campaign_id = 1 + (id % {campaigns})"))
        conn.execute(
            text(f"UPDATE outbound_messages SET campaign_id = 1 + (lead_id % {campaigns})")
        )
        for z, name in enumerate(ZONES[:zones]):
            opening = next_allowed(now, window, ZoneInfo(name))
            conn.execute(
                text(f"UPDATE leads SET timezone = :z WHERE id % {zones} = {z}"), {"z": name}
            )
            conn.execute(
                text(
                    f"UPDATE leads SET next_send_at = :at WHERE id % {zones} = {z} AND queue = 2"
                    " AND next_send_at < :at"
                ),
                {"at": opening if db.is_postgres else opening.replace(tzinfo=None)},
            )
    # The spread rewrote every lead (an import writes them once): on PostgreSQL the dead row
    # versions would sit in the queue's index until autovacuum came by, so vacuum as it would.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if db.is_postgres else "ANALYZE"))


def measure(kind: str, leads: int, campaigns: int, zones: int) -> dict[str, float]:
    with fresh_database(kind) as db:
        t = timer.perf_counter()
        fill(db, leads)
        if campaigns > 1:
            spread(db, campaigns, zones)
        fill_s = timer.perf_counter() - t
        ctx = context(db)
        campaign.run(ctx)

        def pick() -> None:
            got = claim_next(ctx)
            assert hasattr(got, "lead_id"), got

        picks = samples(pick, CLAIMS)
        return {"fill": fill_s, "pick_med": median(picks), "pick_p95": p95(picks)}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--campaigns", type=int, default=20)
    ap.add_argument("--zones", type=int, default=24)
    args = ap.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(
        f"Pick next at {args.leads:,} leads: {args.campaigns} campaigns x {args.zones} zones vs "
        f"one campaign — {machine()}\n"
    )
    rows, ok_all = [], True
    for kind in kinds:
        one = measure(kind, args.leads, 1, 1)
        many = measure(kind, args.leads, args.campaigns, args.zones)
        ok = many["pick_med"] <= 2 * one["pick_med"]
        ok_all &= ok
        for label, r in (("1 x 1", one), (f"{args.campaigns} x {args.zones}", many)):
            rows.append(
                [
                    kind,
                    label,
                    f"{r['fill']:.1f} s",
                    f"{r['pick_med'] * 1000:.2f} ms",
                    f"{r['pick_p95'] * 1000:.2f} ms",
                ]
            )
        ratio = many["pick_med"] / one["pick_med"]
        rows.append([kind, "ratio", "", f"{ratio:.2f}x {verdict(ok)}", ""])
    print(table(["db", "campaigns x zones", "fill", "pick median", "pick p95"], rows))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
