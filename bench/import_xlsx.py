"""Excel import benchmark: the rows of ``bench.import_csv``'s 100,000-row CSV as an ``.xlsx``
through ``engine.leads.service.import_csv`` (the bot's upload path: openpyxl read-only, the
sheet as CSV text, the CSV steps), with the CSV of the same rows beside it from the same run.

    python -m bench.import_xlsx --db both [--rows 100000]

Both files are written once by the parent; each import runs in a fresh child process that
reads its file and then measures, so peak-memory growth (ru_maxrss) is the import's own, the
lazy ``import openpyxl`` included. A last child measures what openpyxl costs a process that
has loaded it (current RSS, not peak). Targets: xlsx >= 10,000 rows/s end to end; peak memory
growth <= 150 MB.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.common import child_json, context, fresh_database, machine, peak_rss_mb, table, verdict
from bench.import_csv import make_csv

TARGET_ROWS_PER_S = 10_000
TARGET_GROWTH_MB = 150


def make_xlsx(rows: int) -> bytes:
    """The CSV benchmark's rows, one cell each, in one sheet (openpyxl's streaming writer)."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Sheet1")
    for line in make_csv(rows).decode().splitlines():
        sheet.append(line.split(";"))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rss_mb() -> float:
    """This process's current resident set size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(kind: str, path: str) -> None:
    from engine.leads.service import import_csv

    data = Path(path).read_bytes()
    with fresh_database(kind) as db:
        ctx = context(db)
        before = peak_rss_mb()
        t = time.perf_counter()
        report = import_csv(ctx, data)
        elapsed = time.perf_counter() - t
    print(
        json.dumps(
            {"seconds": elapsed, "rows": report.imported, "growth_mb": peak_rss_mb() - before}
        )
    )


def idle_cost(path: str) -> None:
    """RSS of a process with the import code loaded, then with openpyxl loaded and one small
    workbook read (what a bot keeps after its first Excel upload)."""
    import engine.leads.service  # noqa: F401 - what the bot has loaded anyway
    from engine.leads.lead_file.workbook import read_workbook

    base = rss_mb()
    read_workbook(Path(path).read_bytes(), max_rows=10)
    print(json.dumps({"base_mb": base, "openpyxl_mb": rss_mb() - base}))


def run(*args: str) -> dict[str, float]:
    return child_json("bench.import_xlsx", *args)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--idle", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.db, args.child)
        return 0
    if args.idle:
        idle_cost(args.idle)
        return 0
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    with TemporaryDirectory(prefix="bench-xlsx-") as tmp:
        files = {"csv": Path(tmp) / "leads.csv", "xlsx": Path(tmp) / "leads.xlsx"}
        files["csv"].write_bytes(make_csv(args.rows))
        files["xlsx"].write_bytes(make_xlsx(args.rows))
        small = Path(tmp) / "small.xlsx"
        small.write_bytes(make_xlsx(5))
        sizes = {k: p.stat().st_size / 1e6 for k, p in files.items()}
        print(
            f"Import of {args.rows:,} rows as .xlsx ({sizes['xlsx']:.1f} MB) and as CSV "
            f"({sizes['csv']:.1f} MB) — {machine()}\n"
        )
        rows = []
        ok_all = True
        for kind in kinds:
            for fmt in ("xlsx", "csv"):
                got = run("--child", str(files[fmt]), "--db", kind)
                assert got["rows"] == args.rows, got
                rate = got["rows"] / got["seconds"]
                ok = rate >= TARGET_ROWS_PER_S and got["growth_mb"] <= TARGET_GROWTH_MB
                if fmt == "xlsx":
                    ok_all &= ok
                rows.append(
                    [
                        kind,
                        fmt,
                        f"{got['seconds']:.2f} s",
                        f"{rate:,.0f}",
                        f"{got['growth_mb']:.0f} MB",
                        verdict(ok) if fmt == "xlsx" else "(beside it)",
                    ]
                )
        idle = run("--idle", str(small))
    print(
        table(
            [
                "db",
                "file",
                "time",
                "rows/s",
                "peak +",
                f"target >= {TARGET_ROWS_PER_S:,}/s, <= {TARGET_GROWTH_MB} MB",
            ],
            rows,
        )
    )
    print(
        f"\nopenpyxl loaded (one small workbook read): RSS +{idle['openpyxl_mb']:.1f} MB over "
        f"{idle['base_mb']:.1f} MB with the import code loaded"
    )
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
