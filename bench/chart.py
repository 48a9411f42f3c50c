"""Chart rendering: ``bot.charts.daily_chart`` (the PNG that comes with /stats) drawn N times in a
fresh child process, with the resident memory before matplotlib is imported, after the first
chart and after all N.

    python -m bench.chart [--charts 50]

Each chart is 14 days of random counts (a tenth of the days zero). The first chart pays for
importing matplotlib and is reported on its own; p50/p95 are over the N charts after it.
Target: p95 <= 1 s. Reported: the RSS growth from the first chart to the last (a leak would
show here), and the cost of the first chart (import + render) over the idle process.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import machine, p95, table, verdict

TARGET_P95_S = 1.0
DAYS = [date(2026, 11, 21) + timedelta(days=i) for i in range(14)]


def rss_mb() -> float:
    """This process's resident set size now (VmRSS), not its peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def series(rng: random.Random) -> tuple[list[int], list[int]]:
    sent = [0 if rng.random() < 0.1 else rng.randint(1, 500) for _ in DAYS]
    replies = [rng.randint(0, max(1, s // 15)) if s else 0 for s in sent]
    return sent, replies


def child(charts: int) -> None:
    from bot.charts import daily_chart

    assert "matplotlib" not in sys.modules, "bot.charts imported matplotlib at import time"
    rng = random.Random(7)
    idle = rss_mb()
    sent, replies = series(rng)
    t = time.perf_counter()
    png = daily_chart(DAYS, sent, replies, "Last 14 days")
    first_s = time.perf_counter() - t
    after_first = rss_mb()
    times, sizes = [], [len(png)]
    for i in range(charts):
        sent, replies = series(rng)
        t = time.perf_counter()
        png = daily_chart(DAYS, sent, replies, f"Last 14 days ({i + 1})")
        times.append(time.perf_counter() - t)
        sizes.append(len(png))
    print(
        json.dumps(
            {
                "idle_mb": idle,
                "first_s": first_s,
                "after_first_mb": after_first,
                "after_all_mb": rss_mb(),
                "times": times,
                "png_kb": statistics.median(sizes) / 1024,
            }
        )
    )


def run(charts: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.chart", "--child", "--charts", str(charts)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--charts", type=int, default=50)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.charts)
        return 0
    print(f"Chart rendering, {args.charts} charts after the first — {machine()}\n")
    r = run(args.charts)
    times = r["times"]
    ok = p95(times) <= TARGET_P95_S
    print(
        table(
            ["first chart", "p50", "p95", "max", "PNG", f"target p95 <= {TARGET_P95_S:.0f} s"],
            [
                [
                    f"{r['first_s'] * 1000:.0f} ms",
                    f"{statistics.median(times) * 1000:.0f} ms",
                    f"{p95(times) * 1000:.0f} ms",
                    f"{max(times) * 1000:.0f} ms",
                    f"{r['png_kb']:.0f} KB",
                    verdict(ok),
                ]
            ],
        )
    )
    print()
    print(
        table(
            [
                "RSS idle",
                "after the first chart",
                f"after {args.charts} more",
                "growth after first",
            ],
            [
                [
                    f"{r['idle_mb']:.1f} MB",
                    f"{r['after_first_mb']:.1f} MB (+{r['after_first_mb'] - r['idle_mb']:.1f})",
                    f"{r['after_all_mb']:.1f} MB",
                    f"{r['after_all_mb'] - r['after_first_mb']:+.1f} MB",
                ]
            ],
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
