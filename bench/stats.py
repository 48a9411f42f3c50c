"""/stats at scale: the figures of one campaign of 1,000,000 leads (``campaign_stats`` and the
14 days of ``daily``, what ``/stats`` asks the engine for, both at once in two worker threads
as the handler asks) with a second campaign beside it, against the same with 10,000 leads (the
baseline, measured in the same run). The two one after the other, ``/stats all`` (``compare``)
and the midnight lines are timed too, for information.

    python -m bench.stats [--db both] [--leads 1000000] [--runs 30]

The rows are generated inside the database (generate_series / a recursive CTE, as in
``bench.scale``), deterministically from each lead's number: half variant A, half B; a quarter
not written to yet, the rest sent 1, 2 or 3 steps (35 %, 20 %, 20 %), their emails spread over
the last 180 days (7,500 a day at 1M); of those written to, 3 % replied (a third of them marked
interested), 2 % hard-bounced, 1 % refused at RCPT, 1 % opted out, 1 % soft-bounced and 5 % sent
an auto-reply, each recorded as an inbound message answering the lead's last step. At 1M leads:
1.35M outbound and 90,000 inbound messages in the campaign. The second campaign has a tenth as many
leads, shaped the same. Target: /stats p95 <= 300 ms at 1M, on both databases.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import text

from bench.common import context as bench_context
from bench.common import fresh_database, machine, median, p95, samples, table, verdict
from engine.campaigns import stats
from engine.states import CampaignState
from engine.storage import store
from engine.storage.db import Database
from engine.storage.models import Campaign

TARGET_S = 0.300
# The emails (and answers) are spread over this many days: 1.35M emails in 180 days is 7,500 a
# day, 250 mailboxes at 30 a day. (Over 60 days, 22,500 a day, the 14 days of the chart alone
# held 315,000 emails.)
SPREAD_DAYS = 180
SECOND = 2  # the second campaign's id

# Per lead g: k = steps sent (from g % 20), u = its outcome (0-99, independent of k).
_SHAPE = """
SELECT g, {campaign} AS campaign_id,
    CASE WHEN g % 2 = 0 THEN 'A' ELSE 'B' END AS variant,
    CASE WHEN g % 20 < 5 THEN 0 WHEN g % 20 < 12 THEN 1 WHEN g % 20 < 16 THEN 2 ELSE 3 END AS k,
    ((g / 20) * 37) % 100 AS u
FROM {series}
"""
_LEADS = """
INSERT INTO leads (email, email_key, domain, campaign_id, first_name, last_name, company,
    custom, status, next_step, followups_sent, queue, next_send_at, last_sent_at, replied_at,
    auto_replies, interest, last_error, variant, created_at)
SELECT 'p' || g || '@c' || (g % 5000) || '.example', 'p' || g || '@c' || (g % 5000) || '.example',
    'c' || (g % 5000) || '.example', campaign_id, 'First' || g, 'Last', 'Company', '{{}}',
    CASE WHEN k = 0 THEN 'pending' WHEN u < 3 THEN 'replied' WHEN u < 6 THEN 'bounced'
         WHEN u = 6 THEN 'unsubscribed' WHEN k = 3 THEN 'completed' ELSE 'sent' END,
    k, CASE WHEN k > 0 THEN k - 1 ELSE 0 END,
    CASE WHEN k = 0 THEN 2 WHEN k < 3 AND u >= 7 THEN 1 ELSE NULL END,
    CASE WHEN k = 0 OR (k < 3 AND u >= 7) THEN {later} ELSE NULL END,
    CASE WHEN k > 0 THEN {sent} ELSE NULL END,
    CASE WHEN k > 0 AND u < 3 THEN {seen} ELSE NULL END,
    CASE WHEN k > 0 AND u >= 7 AND u < 12 THEN 1 ELSE 0 END,
    CASE WHEN k > 0 AND u = 0 THEN 'interested' ELSE NULL END,
    CASE WHEN k = 0 THEN NULL WHEN u IN (3, 4) THEN 'bounced 5.1.1: user unknown'
         WHEN u = 5 THEN '550 5.1.1 user unknown' WHEN u = 12 THEN 'soft bounce 4.2.2'
         ELSE NULL END,
    CASE WHEN k > 0 THEN variant ELSE NULL END,
    {sent}
FROM ({shape}) AS s
"""
# One row per step sent; a lead refused at RCPT has its last email failed with the server's
# answer (as engine.sending.outcomes writes it).
_OUTBOUND = """
INSERT INTO outbound_messages (lead_id, kind, step, message_id, to_email, subject, body, state,
    attempts, attempted_at, sent_at, error, mailbox_id, campaign_id, variant, created_at)
SELECT l.id, CASE WHEN st.step = 0 THEN 'initial' ELSE 'followup' END, st.step,
    '<' || l.id || '.' || st.step || '@example.com>', l.email, 'Hello', 'Body',
    CASE WHEN {refused} THEN 'failed' WHEN l.id % 500 = 7 THEN 'uncertain' ELSE 'sent' END,
    1, {at}, CASE WHEN {refused} THEN NULL ELSE {at} END,
    CASE WHEN {refused} THEN l.last_error ELSE NULL END,
    1, l.campaign_id, l.variant, {at}
FROM leads l JOIN ({steps}) AS st ON st.step < l.next_step
"""
_REFUSED = "(l.status = 'bounced' AND l.last_error LIKE '550%' AND st.step = l.next_step - 1)"
# One inbound message per lead with an answer, at its last step, read from what the lead says.
_INBOUND = """
INSERT INTO inbound_messages (message_id, lead_id, kind, reason, from_email, subject, snippet,
    folder, uid, seen_at, mailbox_id, campaign_id, step, variant)
SELECT '<in' || l.id || '@example.net>', l.id, l.kind,
    CASE l.kind WHEN 'human' THEN 'human reply' WHEN 'opt_out' THEN 'asked to unsubscribe'
         WHEN 'auto_reply' THEN 'auto-submitted'
         ELSE CASE WHEN l.last_error LIKE 'soft%' THEN 'soft bounce 4.2.2'
                   ELSE 'hard bounce 5.1.1' END END,
    l.email, 'Re: Hello', '', 'INBOX', l.id, {seen}, 1, l.campaign_id, l.next_step - 1, l.variant
FROM (SELECT id, email, campaign_id, next_step, variant, last_error,
        CASE WHEN replied_at IS NOT NULL THEN 'human' WHEN status = 'unsubscribed' THEN 'opt_out'
             WHEN auto_replies > 0 THEN 'auto_reply'
             WHEN last_error LIKE 'bounced%' OR last_error LIKE 'soft%' THEN 'bounce' END AS kind
      FROM leads WHERE next_step > 0) AS l
WHERE l.kind IS NOT NULL
"""


def _series(db: Database, first: int, last: int) -> str:
    if db.is_postgres:
        return f"generate_series({first}, {last}) AS g"
    return (
        f"(WITH RECURSIVE s(g) AS (SELECT {first} UNION ALL SELECT g + 1 FROM s "
        f"WHERE g < {last}) SELECT g FROM s)"
    )


def _spread(db: Database, number: str, salt: int, plus: str = "0") -> str:
    """Seconds in [0, SPREAD_DAYS days), scattered by a lead's ``number``."""
    big = f"CAST({number} AS BIGINT)" if db.is_postgres else number
    return f"(({big} * 7919 * {salt} + {plus}) % {SPREAD_DAYS * 86_400})"


def _ts(db: Database, now: datetime, seconds: str) -> str:
    """``now`` + ``seconds`` (an SQL expression) as the column stores it."""
    if db.is_postgres:
        return f"(TIMESTAMPTZ '{now.isoformat()}' + make_interval(secs => {seconds}))"
    base = now.replace(tzinfo=None).isoformat(sep=" ")
    return f"(strftime('%Y-%m-%d %H:%M:%S', '{base}', ({seconds}) || ' seconds') || '.000000')"


def fill(db: Database, leads: int, now: datetime) -> None:
    """Campaign 1 with ``leads`` leads and campaign 2 with a tenth as many (see above)."""
    day = 86_400
    with db.sessions.begin() as session:
        store.campaign(session, now)  # campaign 1, made by the migration
        session.add(
            Campaign(id=SECOND, name="second", name_key="second", changed_at=now, created_at=now)
        )
        for cid in (1, SECOND):
            store.set_campaign_state(session, now, CampaignState.RUNNING, campaign_id=cid)
    with db.engine.begin() as conn:
        for campaign, first, last in ((1, 1, leads), (SECOND, leads + 1, leads + leads // 10)):
            shape = _SHAPE.format(campaign=campaign, series=_series(db, first, last))
            sql = _LEADS.format(
                shape=shape,
                later=_ts(db, now, f"{day} * 3 + (g % {day})"),
                sent=_ts(db, now, "-" + _spread(db, "g", 13)),
                seen=_ts(db, now, "-" + _spread(db, "g", 17)),
            )
            if db.is_postgres:
                sql = sql.replace("'{}'", "'{}'::json")
            conn.execute(text(sql))
        steps = "SELECT 0 AS step UNION ALL SELECT 1 UNION ALL SELECT 2"
        at = _ts(db, now, "-" + _spread(db, "l.id", 13, f"st.step * {day * 7 // 2}"))
        conn.execute(text(_OUTBOUND.format(steps=steps, at=at, refused=_REFUSED)))
        conn.execute(text(_INBOUND.format(seen=_ts(db, now, "-" + _spread(db, "l.id", 17)))))
    with db.engine.connect() as conn:
        if db.is_postgres:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()


def counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t: int(
                conn.execute(text(f"SELECT count(*) FROM {t} WHERE campaign_id = 1")).scalar() or 0
            )
            for t in ("leads", "outbound_messages", "inbound_messages")
        }


def measure(kind: str, leads: int, runs: int) -> dict[str, float]:
    now = datetime.now(UTC).replace(microsecond=0)
    with fresh_database(kind) as db, ThreadPoolExecutor(2) as pool:
        t = time.perf_counter()
        fill(db, leads, now)
        fill_s = time.perf_counter() - t
        ctx = bench_context(db)
        rows = counts(db)

        def figures() -> None:
            st = stats.campaign_stats(ctx, 1, now)
            assert st.total.sent and len(st.steps) == 6, st

        def days() -> None:
            assert len(stats.daily(ctx, 1, now)) == stats.DAYS

        def stats_cmd() -> None:
            """As bot/handlers/stats.py asks: both at once, in two worker threads."""
            for f in [pool.submit(figures), pool.submit(days)]:
                f.result()

        def one_after_the_other() -> None:
            figures()
            days()

        def midnight() -> None:
            with ctx.db.transaction() as session:
                tz = store.effective_settings(session, ctx.settings).tz
                assert len(stats.midnight_lines(session, now, tz)) == 2

        at_once = samples(stats_cmd, runs)
        serial = samples(one_after_the_other, runs)
        every = samples(lambda: stats.compare(ctx, now), max(runs // 3, 5))
        lines = samples(midnight, max(runs // 3, 5))
        return {
            "fill": fill_s,
            "outbound": rows["outbound_messages"],
            "inbound": rows["inbound_messages"],
            "med": median(at_once),
            "p95": p95(at_once),
            "serial_p95": p95(serial),
            "all_med": median(every),
            "mid_med": median(lines),
        }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--baseline", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    if args.runs < 20:
        raise SystemExit("--runs must be at least 20 for a p95")
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"/stats at {args.leads:,} leads vs {args.baseline:,} — {machine()}\n")
    rows, ok_all = [], True
    for kind in kinds:
        base, big = measure(kind, args.baseline, args.runs), measure(kind, args.leads, args.runs)
        ok = big["p95"] <= TARGET_S
        ok_all &= ok
        for n, r in ((args.baseline, base), (args.leads, big)):
            rows.append(
                [
                    kind,
                    f"{n:,}",
                    f"{r['outbound']:,} / {r['inbound']:,}",
                    f"{r['fill']:.1f} s",
                    f"{r['med'] * 1000:.1f} ms",
                    f"{r['p95'] * 1000:.1f} ms",
                    f"{r['serial_p95'] * 1000:.1f} ms",
                    f"{r['all_med'] * 1000:.1f} ms",
                    f"{r['mid_med'] * 1000:.1f} ms",
                ]
            )
        rows.append(
            [kind, "ratio", "", "", f"{big['med'] / base['med']:.1f}x", verdict(ok), "", "", ""]
        )
    print(
        table(
            [
                "db",
                "leads",
                "outbound / inbound",
                "fill",
                "/stats median",
                "/stats p95",
                "one after the other p95",
                "/stats all median",
                "midnight median",
            ],
            rows,
        )
    )
    print(f"\nTarget: /stats p95 <= {TARGET_S * 1000:.0f} ms at {args.leads:,} leads.")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
