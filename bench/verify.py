"""List verification benchmark, against the local DNS server of ``tests/servers/dns.py`` running
in its own process with a 20 ms delay on every answer:

1. 10,000 distinct domains (80 % MX, 10 % A only, 10 % NXDOMAIN) through
   ``engine.leads.verification.DomainLookups`` with the production bounds (at most
   ``LOOKUPS_IN_FLIGHT`` lookups at a time, the 60 s budget): target within 30 s, and at most N
   queries in flight at the server (its measured peak is reported).
2. A 100,000-row import (``bench.import_csv``'s file: 5,000 domains, all with an MX) through
   ``engine.leads.service.import_csv`` with VERIFY_EMAILS=mx and with off, each in a fresh
   child process: rows/s with the time the import waited for DNS taken out (``dns_wait``:
   from the first lookup, once the file is read, to the last answer; the transaction opens
   after it). Target >= 20,000 rows/s with verification on.
3. What the disposable-domain list costs: VmRSS of a fresh process before and after its first
   check (it is loaded lazily, at the first import).

    python -m bench.verify [--db both] [--domains 10000] [--rows 100000] [--delay 0.02]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

from bench.common import (
    child_json,
    context,
    fresh_database,
    machine,
    peak_rss_mb,
    settings,
    table,
    verdict,
)
from bench.import_csv import make_csv

TARGET_SECONDS = 30.0
TARGET_ROWS_PER_S = 20_000
IMPORT_DOMAINS = 5_000  # company0.example … company4999.example in make_csv's rows


def _records(names: list[str], mixed: bool) -> dict[str, dict[str, list[str]]]:
    """``mixed``: 80 % MX, 10 % A only, 10 % nothing (NXDOMAIN); else all MX."""
    records: dict[str, dict[str, list[str]]] = {}
    for i, name in enumerate(names):
        if mixed and i % 10 == 9:
            continue
        if mixed and i % 10 == 8:
            records[name] = {"A": ["192.0.2.1"]}
        else:
            records[name] = {"MX": [f"10 mx.{name}."]}
    return records


def _serve(names: list[str], mixed: bool, delay: float, conn: Connection) -> None:
    """The DNS server's process: answers until told to stop, then sends its figures."""
    from tests.servers.dns import DnsServer

    with DnsServer(_records(names, mixed), delay=delay) as server:
        conn.send(server.address)
        conn.recv()
        conn.send({"peak": server.peak_in_flight, "queries": len(server.queries)})


@contextmanager
def dns_process(
    names: list[str], delay: float, *, mixed: bool
) -> Iterator[tuple[tuple[str, int], Connection]]:
    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(
        target=_serve, args=(names, mixed, delay, child), daemon=True
    )
    proc.start()
    try:
        yield parent.recv(), parent
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()


def _stop(conn: Connection) -> dict[str, int]:
    conn.send("stop")
    return dict(conn.recv())


def bench_domains(count: int, delay: float) -> dict[str, float]:
    from engine.intervals import Intervals
    from engine.leads.verification import LOOKUPS_IN_FLIGHT, DomainLookups, dns_lookup

    names = [f"domain{i}.example" for i in range(count)]
    with dns_process(names, delay, mixed=True) as ((host, port), conn):
        lookup = dns_lookup(settings(DNS_NAMESERVERS=f"{host}:{port}"))
        intervals = Intervals()
        cpu = time.process_time()
        started = time.perf_counter()
        lookups = DomainLookups(
            lookup, budget=intervals.verify_budget, timeout=intervals.verify_lookup
        )
        for name in names:
            lookups.add(name)
        routes = lookups.wait()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        server = _stop(conn)
    kinds = {str(r): 0 for r in set(routes.values())}
    for r in routes.values():
        kinds[str(r)] += 1
    return {
        "seconds": elapsed,
        "cpu": cpu,
        "n": LOOKUPS_IN_FLIGHT,
        "peak": server["peak"],
        "queries": server["queries"],
        **{f"route_{k}": v for k, v in kinds.items()},
    }


def _import_child(kind: str, mode: str, rows: int, delay: float) -> dict[str, float]:
    from engine.leads.service import import_csv

    data = make_csv(rows)
    names = [f"company{i}.example" for i in range(IMPORT_DOMAINS)]
    with (
        dns_process(names, delay, mixed=False) as ((host, port), conn),
        fresh_database(kind) as db,
    ):
        ctx = context(db, VERIFY_EMAILS=mode, DNS_NAMESERVERS=f"{host}:{port}")
        before = peak_rss_mb()
        started = time.perf_counter()
        report = import_csv(ctx, data)
        elapsed = time.perf_counter() - started
        growth = peak_rss_mb() - before
        server = _stop(conn)
    return {
        "seconds": elapsed,
        "dns_wait": report.dns_wait,
        "rows": report.imported,
        "domains": report.domains_looked_up,
        "unverified": len(report.unverified),
        "invalid": len(report.no_mail_server),
        "growth_mb": growth,
        "queries": server["queries"],
    }


def _rss_child() -> dict[str, float]:
    """VmRSS before and after the disposable list's first check, in a fresh process that has
    imported the engine (as the bot has)."""
    import engine.leads.service  # noqa: F401 - the bot's process has it imported
    from engine.leads.disposable import is_disposable

    def rss() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    before = rss()
    t = time.perf_counter()
    is_disposable("mailinator.com")
    load = time.perf_counter() - t
    return {"before": before, "after": rss(), "load_ms": load * 1000}


def _run_child(*args: str) -> dict[str, float]:
    return child_json("bench.verify", "--child", *args)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--domains", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--delay", type=float, default=0.02)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        what = args.child[0]
        if what == "import":
            result = _import_child(args.child[1], args.child[2], args.rows, args.delay)
        else:
            result = _rss_child()
        print(json.dumps(result))
        return 0

    print(f"List verification — {machine()}; load {os.getloadavg()[0]:.2f} at the start")
    print(f"DNS: tests/servers/dns.py in its own process, {args.delay * 1000:.0f} ms per answer\n")

    d = bench_domains(args.domains, args.delay)
    ok_domains = d["seconds"] <= TARGET_SECONDS and d["peak"] <= d["n"]
    routes = ", ".join(
        f"{k[6:]} {int(v):,}" for k, v in sorted(d.items()) if k.startswith("route_")
    )
    print(
        table(
            ["domains", "time", "CPU", "N", "peak in flight", "queries", "routes", "target"],
            [
                [
                    f"{args.domains:,}",
                    f"{d['seconds']:.2f} s",
                    f"{d['cpu']:.2f} s",
                    int(d["n"]),
                    int(d["peak"]),
                    f"{int(d['queries']):,}",
                    routes,
                    f"<= {TARGET_SECONDS:.0f} s, peak <= N: {verdict(ok_domains)}",
                ]
            ],
        )
    )
    print()

    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows = []
    ok_all = ok_domains
    for kind in kinds:
        off = _run_child(
            "import", kind, "off", "--rows", str(args.rows), "--delay", str(args.delay)
        )
        on = _run_child("import", kind, "mx", "--rows", str(args.rows), "--delay", str(args.delay))
        assert off["rows"] == on["rows"] == args.rows, (off, on)
        rate_off = off["rows"] / off["seconds"]
        rate_on = on["rows"] / (on["seconds"] - on["dns_wait"])
        ok = rate_on >= TARGET_ROWS_PER_S
        ok_all &= ok
        rows.append(
            [
                kind,
                f"{off['seconds']:.2f} s",
                f"{rate_off:,.0f}",
                f"{on['seconds']:.2f} s",
                f"{on['dns_wait']:.2f} s",
                f"{rate_on:,.0f}",
                f"{int(on['domains']):,} / {int(on['queries']):,}",
                f"{off['growth_mb']:.0f} / {on['growth_mb']:.0f} MB",
                verdict(ok),
            ]
        )
    print(
        table(
            [
                "db",
                "off: time",
                "off: rows/s",
                "mx: time",
                "mx: DNS wait",
                "mx: rows/s without the wait",
                "domains / queries",
                "peak + off / mx",
                f"target >= {TARGET_ROWS_PER_S:,}/s",
            ],
            rows,
        )
    )
    print()

    r = _run_child("rss")
    print(
        table(
            ["disposable list", "VmRSS before", "after first check", "difference", "load time"],
            [
                [
                    "disposable-email-domains",
                    f"{r['before']:.1f} MB",
                    f"{r['after']:.1f} MB",
                    f"{r['after'] - r['before']:.1f} MB",
                    f"{r['load_ms']:.0f} ms",
                ]
            ],
        )
    )
    print(f"\nload {os.getloadavg()[0]:.2f} at the end")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
