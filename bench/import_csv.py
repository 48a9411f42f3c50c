"""Import benchmark: a 100,000-row CSV through ``engine.leads.service.import_csv`` (the bot's code path)
against a raw ``executemany`` (SQLite) / ``COPY`` (PostgreSQL) of the same rows.

    python -m bench.import_csv --db both [--rows 100000]

Each measurement runs in a fresh child process so peak-memory growth (ru_maxrss) is its own.
Targets: >= 20,000 rows/s end to end; peak memory growth <= 100 MB.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from datetime import UTC, datetime

from bench.common import child_json, context, fresh_database, machine, peak_rss_mb, table, verdict

TARGET_ROWS_PER_S = 20_000
TARGET_GROWTH_MB = 100


def make_csv(rows: int) -> bytes:
    out = io.StringIO()
    out.write("Email;First Name;Last Name;Company;City\n")
    for i in range(rows):
        out.write(
            f"person{i}@company{i % 5000}.example;First{i};Last{i};Company {i % 5000};City{i % 97}\n"
        )
    return out.getvalue().encode("utf-8")


def _engine_import(kind: str, data: bytes) -> dict[str, float]:
    from engine.leads.service import import_csv

    with fresh_database(kind) as db:
        ctx = context(db)
        before = peak_rss_mb()
        t = time.perf_counter()
        report = import_csv(ctx, data)
        elapsed = time.perf_counter() - t
        return {"seconds": elapsed, "rows": report.imported, "growth_mb": peak_rss_mb() - before}


def _raw_import(kind: str, data: bytes) -> dict[str, float]:
    with fresh_database(kind) as db:
        before = peak_rss_mb()
        t = time.perf_counter()
        now = datetime.now(UTC)
        reader = csv.reader(io.StringIO(data.decode("utf-8")), delimiter=";")
        next(reader)
        rows = [
            (e, e.lower(), e.rsplit("@", 1)[1], f, la, c, json.dumps({"city": city}), now)
            for e, f, la, c, city in reader
        ]
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            if db.is_sqlite:
                cur.executemany(
                    "INSERT INTO leads (email, email_key, domain, first_name, last_name, company,"
                    " custom, status, next_step, followups_sent, queue, next_send_at,"
                    " auto_replies, created_at) VALUES (?,?,?,?,?,?,?,'pending',0,0,1,?,0,?)",
                    [(*r, r[-1]) for r in rows],
                )
            else:
                buf = io.StringIO()
                w = csv.writer(buf)
                for e, k, d, f, la, c, cu, ts in rows:
                    w.writerow([e, k, d, f, la, c, cu, "pending", 0, 0, 1, ts, 0, ts])
                buf.seek(0)
                cur.copy_expert(
                    "COPY leads (email, email_key, domain, first_name, last_name, company, custom,"
                    " status, next_step, followups_sent, queue, next_send_at, auto_replies,"
                    " created_at) FROM STDIN WITH (FORMAT csv)",
                    buf,
                )
            raw.commit()
        finally:
            raw.close()
        elapsed = time.perf_counter() - t
        return {"seconds": elapsed, "rows": len(rows), "growth_mb": peak_rss_mb() - before}


def child(kind: str, path: str, rows: int) -> None:
    data = make_csv(rows)
    result = _engine_import(kind, data) if path == "engine" else _raw_import(kind, data)
    print(json.dumps(result))


def run(kind: str, path: str, rows: int) -> dict[str, float]:
    return child_json("bench.import_csv", "--child", path, "--db", kind, "--rows", str(rows))


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--child", choices=["engine", "raw"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.db, args.child, args.rows)
        return 0
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"Import of {args.rows:,} CSV rows — {machine()}\n")
    rows = []
    ok_all = True
    for kind in kinds:
        raw = run(kind, "raw", args.rows)
        eng = run(kind, "engine", args.rows)
        assert eng["rows"] == args.rows, eng
        rate, raw_rate = eng["rows"] / eng["seconds"], raw["rows"] / raw["seconds"]
        ok = rate >= TARGET_ROWS_PER_S and eng["growth_mb"] <= TARGET_GROWTH_MB
        ok_all &= ok
        rows.append(
            [
                kind,
                f"{eng['seconds']:.2f} s",
                f"{rate:,.0f}",
                f"{raw_rate:,.0f}",
                f"{rate / raw_rate:.2f}",
                f"{eng['growth_mb']:.0f} MB",
                f"{raw['growth_mb']:.0f} MB",
                verdict(ok),
            ]
        )
    print(
        table(
            [
                "db",
                "engine time",
                "engine rows/s",
                "raw rows/s",
                "ratio",
                "engine peak +",
                "raw peak +",
                f"target >= {TARGET_ROWS_PER_S:,}/s, <= {TARGET_GROWTH_MB} MB",
            ],
            rows,
        )
    )
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
