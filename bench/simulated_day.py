"""A simulated day of many mailboxes: 50 mailboxes with a cap of 30 each and pacing on (60–120 s
between two emails of a mailbox, a 5–8 min pause every 20), sending 2,000+ new leads through a
real SMTP server on 127.0.0.1 with a login per mailbox (``tests/servers/smtp.py``). Time is the
injected ``FakeClock``, moved to each round's ``next_wake``: nothing sleeps.

    python -m bench.simulated_day [--db both] [--mailboxes 50] [--cap 30] [--leads 2100]

Checks: exactly mailboxes × cap sent, no mailbox over its cap, no gap between two emails of a
mailbox under MIN_DELAY_SECONDS (``outbound_messages.attempted_at`` per mailbox), and each email
goes at the slot its mailbox drew (``mailbox_state.next_send_at`` after the previous claim) with
a lag ≤ 2 s. Target: the whole day in ≤ 60 s of wall time.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bench.common import fresh_database, machine, median, settings, table, verdict
from engine import campaign
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.leads.service import import_csv
from engine.sending.rotation import send_round
from engine.sending.smtp import SmtpMailer
from engine.storage.db import Database
from engine.storage.models import MailboxState, OutboundMessage
from tests.mailboxrows import chat_mailbox
from tests.servers.smtp import SmtpServer

KEY = "bench-secret-key-0123456789"
PRIMARY, PRIMARY_PW = "sender@example.com", "bench-password"
MIN_DELAY, MAX_DELAY = 60, 120
START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday, local midnight (TIMEZONE=UTC)
WALL_TARGET = 60.0
LAG_TARGET = 2.0


def utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def add_mailboxes(ctx: EngineContext, smtp: SmtpServer, n: int) -> None:
    """Mailboxes 2..n as /mailbox add stores them (password encrypted), each a login of ``smtp``."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        for i in range(2, n + 1):
            email, password = f"box{i}@example.com", f"pw-box-{i}"
            smtp.add_login(email, password)
            session.add(
                chat_mailbox(
                    email,
                    password,
                    key=KEY,
                    now=now,
                    smtp_server="127.0.0.1",
                    smtp_port=smtp.port,
                    smtp_security="none",
                )
            )


def slots(db: Database) -> dict[int, datetime | None]:
    with db.transaction() as session:
        return {
            mid: (utc(at) if at is not None else None)
            for mid, at in session.execute(select(MailboxState.id, MailboxState.next_send_at))
        }


def simulate(kind: str, mailboxes: int, cap: int, leads: int) -> dict[str, object]:
    with fresh_database(kind) as db, SmtpServer(PRIMARY, PRIMARY_PW) as smtp:
        clock = FakeClock(START)
        ctx = EngineContext(
            db=db,
            settings=settings(
                EMAIL_ADDRESS=PRIMARY,
                EMAIL_PASSWORD=PRIMARY_PW,
                SMTP_PORT=str(smtp.port),
                DAILY_EMAIL_LIMIT=str(cap),
                MIN_DELAY_SECONDS=str(MIN_DELAY),
                MAX_DELAY_SECONDS=str(MAX_DELAY),
                PAUSE_EVERY_N_EMAILS="20",
                PAUSE_MIN_MINUTES="5",
                PAUSE_MAX_MINUTES="8",
                FOLLOWUP_DELAYS="",
                SECRET_KEY=KEY,
            ),
            clock=clock,
            rng=random.Random(7),
        )
        add_mailboxes(ctx, smtp, mailboxes)
        rows = "".join(f"lead{i}@acme{i % 97}.example;Lead{i}\n" for i in range(leads))
        import_csv(ctx, f"Email;First Name\n{rows}".encode())
        campaign.run(ctx)
        day_end = START + timedelta(days=1)

        drawn: dict[int, list[datetime]] = defaultdict(list)  # per mailbox, in claim order
        before = slots(db)
        rounds = queue_runs = 0
        t0 = time.perf_counter()
        while True:
            report = send_round(ctx, lambda account: SmtpMailer(account.smtp), vault=ctx.vault)
            rounds += 1
            queue_runs += len(report.reports)
            after = slots(db)
            for mid, r in report.reports.items():
                if r.sent:
                    assert r.sent == 1, f"mailbox {mid} sent {r.sent} in one instant"
                    slot = after.get(mid)
                    assert slot is not None and slot != before.get(mid), mid
                    drawn[mid].append(slot)
            before = after
            wake = report.next_wake
            if wake is None or wake >= day_end:
                break
            clock.set(max(wake, clock.now()))
        wall = time.perf_counter() - t0

        with db.transaction() as session:
            sent_rows = session.execute(
                select(OutboundMessage.mailbox_id, OutboundMessage.attempted_at).order_by(
                    OutboundMessage.mailbox_id, OutboundMessage.attempted_at
                )
            ).all()
        received = len(smtp.messages)
        per_login = Counter(m.login for m in smtp.messages)

    attempts: dict[int, list[datetime]] = defaultdict(list)
    for mid, at in sent_rows:
        attempts[int(mid)].append(utc(at))
    gaps: list[float] = []
    lags: list[float] = []
    for mid, ats in attempts.items():
        gaps += [(b - a).total_seconds() for a, b in zip(ats, ats[1:], strict=False)]
        # the k-th email's claim drew the slot of the (k+1)-th
        assert len(drawn[mid]) == len(ats), (mid, len(drawn[mid]), len(ats))
        lags += [(at - slot).total_seconds() for slot, at in zip(drawn[mid], ats[1:], strict=False)]
    counts = [len(ats) for ats in attempts.values()]
    return {
        "sent": len(sent_rows),
        "received": received,
        "logins": len(per_login),
        "max_per_box": max(counts, default=0),
        "boxes": len(attempts),
        "min_gap": min(gaps, default=0.0),
        "med_gap": median(gaps) if gaps else 0.0,
        "max_gap": max(gaps, default=0.0),
        "max_lag": max(lags, default=0.0),
        "min_lag": min(lags, default=0.0),
        "lags": len(lags),
        "rounds": rounds,
        "queue_runs": queue_runs,
        "sim_hours": (clock.now() - START).total_seconds() / 3600,
        "wall": wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--mailboxes", type=int, default=50)
    ap.add_argument("--cap", type=int, default=30)
    ap.add_argument("--leads", type=int, default=2100)
    args = ap.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    want = args.mailboxes * args.cap
    print(
        f"Simulated day: {args.mailboxes} mailboxes x cap {args.cap}, pacing "
        f"{MIN_DELAY}-{MAX_DELAY} s, pause 5-8 min every 20, {args.leads:,} leads — {machine()}\n"
    )
    rows, ok_all = [], True
    for kind in kinds:
        r = simulate(kind, args.mailboxes, args.cap, args.leads)
        ok = (
            r["sent"] == want
            and r["received"] == want
            and r["max_per_box"] <= args.cap  # type: ignore[operator]
            and r["min_gap"] >= MIN_DELAY  # type: ignore[operator]
            and r["max_lag"] <= LAG_TARGET  # type: ignore[operator]
            and r["wall"] <= WALL_TARGET  # type: ignore[operator]
        )
        ok_all &= ok
        print(f"{kind}: {r}", flush=True)
        rows.append(
            [
                kind,
                f"{r['sent']} / {r['received']} ({r['logins']} logins)",
                f"{r['max_per_box']} ({r['boxes']} boxes)",
                f"{r['min_gap']:.1f} / {r['med_gap']:.1f} / {r['max_gap']:.1f} s",
                f"{r['min_lag']:.2f} / {r['max_lag']:.2f} s ({r['lags']})",
                f"{r['rounds']} rounds, {r['queue_runs']:,} queue runs, {r['sim_hours']:.1f} h",
                f"{r['wall']:.1f} s",
                verdict(ok),
            ]
        )
    print(
        table(
            [
                "db",
                "sent / received",
                "max per mailbox",
                "gap min / median / max",
                "lag vs drawn slot min / max",
                "rounds, last send at",
                "wall",
                f"target {want}, <= {args.cap}, gap >= {MIN_DELAY} s, lag <= 2 s, <= 60 s",
            ],
            rows,
        )
    )
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
