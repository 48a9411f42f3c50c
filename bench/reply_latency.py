"""Reply latency: from a reply landing in a mailbox's INBOX on a real Dovecot to its notification
reaching the (fake) Telegram Bot API, through ``python -m bot`` with IMAP IDLE on; the baseline is
the same with REPLY_IDLE=off, i.e. polling every REPLY_CHECK_INTERVAL_SECONDS (default 300 s).

    python -m bench.reply_latency [--db sqlite|postgres] [--mailboxes 10] [--replies 20]
                                  [--poll-interval 300] [--seed 7] [--mode both|idle|poll]
                                  [--keep DIR]

Each mode gets a fresh database, Dovecot (a user per mailbox) and aiosmtpd (a login per
mailbox): mailbox 1 from the environment, the others stored as rows (``/mailbox add``'s shape).
``--replies`` leads are imported and the process sends their first emails itself (pacing off).
Then each lead answers in the thread — a human reply whose In-Reply-To is the Message-ID the
process sent it — APPENDed over IMAP into the INBOX of the mailbox that sent it, one at a time,
round-robin over the mailboxes. The clock starts just before the APPEND (on an already
logged-in connection) and stops when the fake Bot API stores the sendMessage naming the lead
(its record's ``monotonic``; with polling, several replies may share one grouped message).

With IDLE (the poll, its fallback, stays at the default 300 s; the table says whether it ran
while the replies came in) the appends are spaced by a random 0.5–3 s, once every mailbox's
watcher holds its IDLE connection; with polling they fall at random times over one poll
interval, starting right after a poll, so the baseline is one interval long (~5 min at the
default). The spacing comes from ``random.Random(--seed)``; every other wait is on a condition
with a deadline. ``--poll-interval`` shortens the baseline for a quick run; recorded results use
the default. Job timings are production ones (notifications every 2 s, ...), except the send job
(every 0.2 s, so the first emails go out at once) and the first reply check (3 s after the
start, once those emails are out).

The floor, in the same run: a bare imapclient connection in IDLE on a Dovecot of its own, from
the APPEND to the EXISTS it hears (Dovecot waits ~0.5 s before telling an IDLE client of a
change, so no IDLE client can do better on this server).

``--mode idle`` or ``poll`` runs one of the two; ``--keep DIR`` writes each run's bot log and
every reply's wall-clock times there (to see where a slow one spent its time).

Targets, with IDLE: p50 <= 5 s, p95 <= 10 s, no reply lost. Exit 1 if missed.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import imapclient
from sqlalchemy import select

from bench.common import context, fresh_database, machine, p95, table, tcp_connections, verdict
from bench.footprint import KEY, add_mailboxes, checked, steady
from engine import campaign
from engine.intervals import TEST_ENV
from engine.leads.service import import_csv
from engine.storage.db import Database
from engine.storage.models import JobRun
from tests import mailshapes
from tests.conftest import BASE_ENV
from tests.e2e.proc import ADMIN, BotProcess, bot_env
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SmtpServer
from tests.servers.telegram import FakeTelegram
from tests.waiting import wait_until

DEFAULT_POLL = 300  # REPLY_CHECK_INTERVAL_SECONDS' default (engine/config.py)
SPACING = (0.5, 3.0)  # seconds between two appends with IDLE
INTERVALS = "send=0.2,send_start=0.1,reply_check_start=3"
BODY = "Sounds good. What times do you have next week?"
P50_TARGET, P95_TARGET = 5.0, 10.0
# APScheduler's note when a 0.2 s send tick finds the previous one still running (test timing).
SKIPPED_TICK = "skipped: maximum number of running instances reached"


@dataclass
class Reply:
    lead: str
    mailbox: str  # the login that sent the first email, and so the Dovecot user
    message_id: str  # ours, the first email's
    subject: str
    appended: float = 0.0  # monotonic, just before the APPEND
    notified: float | None = None  # monotonic, when the fake stored the notification
    appended_at: float = 0.0  # the same two moments by time.time(), to compare with logs
    notified_at: float | None = None

    @property
    def latency(self) -> float | None:
        return None if self.notified is None else self.notified - self.appended


@dataclass
class Run:
    mode: str
    replies: list[Reply]
    per_mailbox: Counter[str]
    idle_reads: int  # log lines "IDLE, mailbox N: k new" (reads after an IDLE wake-up)
    polls_meanwhile: bool  # the reply-check job finished a run while replies were appended
    warnings: list[str] = field(default_factory=list)

    @property
    def latencies(self) -> list[float]:
        return [r.latency for r in self.replies if r.latency is not None]

    @property
    def lost(self) -> list[Reply]:
        return [r for r in self.replies if r.notified is None]


def in_round_robin(sent: list[Reply]) -> list[Reply]:
    """One reply per mailbox in turn, so that consecutive appends go to different mailboxes."""
    by_box: dict[str, list[Reply]] = {}
    for r in sent:
        by_box.setdefault(r.mailbox, []).append(r)
    boxes = sorted(by_box)
    out = []
    for k in range(max(len(v) for v in by_box.values())):
        out += [by_box[b][k] for b in boxes if k < len(by_box[b])]
    return out


def reply_of(r: Reply) -> bytes:
    return mailshapes.threaded_reply(
        r.lead,
        r.mailbox,
        r.message_id,
        [r.message_id],
        BODY,
        mailshapes.default_original_body(),
        subject=f"Re: {r.subject}",
        message_id=f"<bench-{r.lead.replace('@', '.')}@mail.example>",
        from_name=r.lead.split("@")[0].upper(),
    )


def append(imap: Dovecot, r: Reply) -> None:
    with imap.client(user=r.mailbox) as c:  # logged in before the clock starts
        r.appended, r.appended_at = time.monotonic(), time.time()
        c.append("INBOX", reply_of(r))


def notified(telegram: FakeTelegram, mark: int, replies: list[Reply]) -> bool:
    """Fill in ``notified`` from the fake's records; True once every reply has one."""
    records = [
        m
        for m in telegram.sent(ADMIN)[mark:]
        if m["method"] == "sendMessage" and "Reply from" in (m.get("text") or "")
    ]
    for r in replies:
        if r.notified is None:
            hit = next((m for m in records if f"<{r.lead}>" in m["text"]), None)
            if hit is not None:
                r.notified, r.notified_at = hit["monotonic"], hit["time"]
    return all(r.notified is not None for r in replies)


def last_poll(url: str) -> object:
    """When the reply-check job last finished (job_runs), to tell whether it ran meanwhile."""
    db = Database(url)
    try:
        with db.transaction() as session:
            return session.execute(
                select(JobRun.last_success_at, JobRun.last_error_at).where(
                    JobRun.job == "reply_check"
                )
            ).all()
    finally:
        db.dispose()


def run(kind: str, idle: bool, args: argparse.Namespace, telegram: FakeTelegram) -> Run:
    rng = random.Random(args.seed)
    interval = DEFAULT_POLL if idle else args.poll_interval  # IDLE keeps the default poll
    n = args.mailboxes
    with (
        Dovecot() as imap,
        SmtpServer(imap.user, imap.password) as smtp,
        fresh_database(kind) as db,
        tempfile.TemporaryDirectory() as work,
    ):
        add_mailboxes(db, n, smtp, imap)
        ctx = context(db, EMAIL_ADDRESS=imap.user, EMAIL_PASSWORD=imap.password)
        leads = [f"r{i:03d}@lead{i:03d}.example" for i in range(args.replies)]
        rows = "".join(f"{a};{a.split('@')[0].upper()}\n" for a in leads)
        assert import_csv(ctx, f"Email;First Name\n{rows}".encode()).imported == len(leads)
        env = bot_env(
            telegram_url=telegram.url,
            smtp_port=smtp.port,
            imap_port=imap.port,
            db_url=db.url,
            EMAIL_ADDRESS=imap.user,
            EMAIL_PASSWORD=imap.password,
            SECRET_KEY=KEY,
            REPLY_IDLE="on" if idle else "off",
            REPLY_CHECK_INTERVAL_SECONDS=str(interval),
            **{TEST_ENV: INTERVALS},
        )
        # Running before the process starts: a /run that lands while a send round is under way
        # gives the mailboxes that claimed before it none of this round's leads, and the next
        # round splits only the rest evenly (seen here as 1/1/1/1/2/2/3/3/3/3 over 10 mailboxes).
        campaign.run(ctx)
        if db.is_sqlite:
            db.dispose()  # the bot claims the SQLite file for itself
        bot = BotProcess(Path(work), env).start()
        assert bot.proc is not None
        pid = bot.proc.pid
        try:
            got = smtp.wait_for(len(leads), timeout=120)
            sent = [
                Reply(
                    m.rcpt_tos[0], m.login or "", str(m.message["Message-ID"]), m.message["Subject"]
                )
                for m in got
            ]
            assert sorted(r.lead for r in sent) == leads, "each lead exactly one first email"
            wait_until(lambda: checked(db.url) >= n, 60, f"the first reply check of {n} inboxes")
            if idle:  # a watcher per mailbox, in IDLE (its own connection) and nothing else
                steady(lambda: tcp_connections(pid, imap.port) == n, 60, f"{n} IDLE connections")
            else:
                steady(lambda: tcp_connections(pid, imap.port) == 0, 60, "no IMAP connection")
            replies = in_round_robin(sent)
            polls_before = last_poll(db.url)
            mark = telegram.mark()
            start = time.monotonic()  # with polling: right after a poll
            offsets = [] if idle else sorted(rng.uniform(0, interval) for _ in replies)
            for i, r in enumerate(replies):
                if idle:
                    time.sleep(rng.uniform(*SPACING))
                else:
                    time.sleep(max(0.0, start + offsets[i] - time.monotonic()))
                append(imap, r)
                notified(telegram, mark, replies)
            grace = 60 if idle else interval + 60
            wait_until(
                lambda: notified(telegram, mark, replies),
                grace,
                "every reply's notification",
                required=False,  # the table says which were lost
            )
            polls_meanwhile = last_poll(db.url) != polls_before
        finally:
            stopped_at = datetime.now()  # the log's clock (asctime: local time)
            bot.stop()
        logs = bot.logs()
        if args.keep:
            keep(Path(args.keep), f"{kind}-{'idle' if idle else 'poll'}", logs, replies)
        warnings = [
            line
            for line in logs.splitlines()
            if (" WARNING " in line or " ERROR " in line) and SKIPPED_TICK not in line
        ]
        warnings = [
            w + (" (after SIGTERM)" if logged_at(w) >= stopped_at else "") for w in warnings
        ]
        skipped = logs.count(SKIPPED_TICK)
        if skipped:
            warnings.insert(0, f"{skipped} send ticks skipped while the previous one ran")
        warnings += [
            line for line in imap.logs().splitlines() if re.search(r"inotify|Warning|Error", line)
        ]
    return Run(
        "IDLE" if idle else f"poll {interval}s",
        replies,
        Counter(r.mailbox for r in replies),
        len(re.findall(r"IDLE, mailbox \d+: \d+ new", logs)),
        polls_meanwhile,
        warnings,
    )


def keep(folder: Path, name: str, logs: str, replies: list[Reply]) -> None:
    """The bot's log and one line per reply (wall-clock times, as in the log), for a look at
    where a slow reply spent its time."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}-bot.log").write_text(logs)

    def clock(t: float | None) -> str:
        return "-" if t is None else datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3]

    lines = ["lead\tmailbox\tappended\tnotified\tlatency_s"] + [
        f"{r.lead}\t{r.mailbox}\t{clock(r.appended_at)}\t{clock(r.notified_at)}\t"
        + ("-" if r.latency is None else f"{r.latency:.3f}")
        for r in replies
    ]
    (folder / f"{name}-replies.tsv").write_text("\n".join(lines) + "\n")


def bare_idle(samples: int) -> list[float]:
    """The floor: APPEND to the EXISTS a bare imapclient connection in IDLE hears, on a Dovecot
    of its own (Dovecot holds a change back ~0.5 s before it tells an IDLE client)."""
    out = []
    with Dovecot() as imap:
        c = imapclient.IMAPClient(imap.host, imap.port, ssl=False, timeout=10)
        try:
            c.login(imap.user, imap.password)
            c.select_folder("INBOX", readonly=True)
            for i in range(samples):
                c.idle()
                with imap.client() as a:
                    t = time.monotonic()
                    a.append(
                        "INBOX", mailshapes.unthreaded_reply("a@b.example", imap.user, f"{i}", "x")
                    )
                deadline = t + 30
                while time.monotonic() < deadline:
                    got = c.idle_check(timeout=deadline - time.monotonic())
                    if any(len(r) > 1 and r[1] == b"EXISTS" for r in got):
                        out.append(time.monotonic() - t)
                        break
                c.idle_done()
        finally:
            c.logout()
    return out


def logged_at(line: str) -> datetime:
    """The time at the start of a log line of the bot (engine/logs.py's format)."""
    try:
        return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    except ValueError:
        return datetime.min


def seconds(x: float) -> str:
    return f"{x:.2f} s" if x < 100 else f"{x:.0f} s"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--mailboxes", type=int, default=10)
    ap.add_argument("--replies", type=int, default=20)
    ap.add_argument("--poll-interval", type=int, default=DEFAULT_POLL)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--mode", default="both", choices=["both", "idle", "poll"])
    ap.add_argument("--keep", metavar="DIR", help="write the bot's logs and per-reply times here")
    args = ap.parse_args()
    if args.poll_interval != DEFAULT_POLL:
        print(f"(polling every {args.poll_interval} s, not the default {DEFAULT_POLL} s)")
    print(
        f"Reply latency, {args.replies} replies over {args.mailboxes} mailboxes, IDLE vs "
        f"polling ({args.db}) — {machine()}\n"
    )
    with FakeTelegram(token=BASE_ENV["TELEGRAM_BOT_TOKEN"]) as telegram:
        modes = {"both": (True, False), "idle": (True,), "poll": (False,)}[args.mode]
        runs = [run(args.db, idle, args, telegram) for idle in modes]
    rows, stats = [], {}
    for r in runs:
        xs = r.latencies
        s = (statistics.median(xs), p95(xs), max(xs)) if xs else (float("nan"),) * 3
        stats[r.mode] = s
        spread = "/".join(str(c) for c in sorted(r.per_mailbox.values()))
        rows.append(
            [
                args.db,
                r.mode,
                f"{len(xs)}/{len(r.replies)}",
                f"{len(r.per_mailbox)} ({spread})",
                seconds(s[0]),
                seconds(s[1]),
                seconds(s[2]),
                str(r.idle_reads),
                ("yes" if r.polls_meanwhile else "no") if r.mode == "IDLE" else "",
            ]
        )
    floor = bare_idle(args.replies)
    rows.append(
        [
            args.db,
            "bare IDLE",
            f"{len(floor)}/{args.replies}",
            "1 (imapclient, APPEND to EXISTS)",
            seconds(statistics.median(floor)),
            seconds(p95(floor)),
            seconds(max(floor)),
            "",
            "",
        ]
    )
    idle_run = next((r for r in runs if r.mode == "IDLE"), None)
    poll_run = next((r for r in runs if r.mode != "IDLE"), None)
    ok = True
    if idle_run is not None:
        i50, i95, _ = stats[idle_run.mode]
        ok = not idle_run.lost and i50 <= P50_TARGET and i95 <= P95_TARGET
    if idle_run is not None and poll_run is not None:
        q50, q95, _ = stats[poll_run.mode]
        rows.append(
            [args.db, "poll/IDLE", "", "", f"{q50 / i50:.0f}x", f"{q95 / i95:.0f}x", "", "", ""]
        )
    print(
        table(
            [
                "db",
                "mode",
                "notified",
                "mailboxes (replies each)",
                "p50",
                "p95",
                "max",
                "IDLE reads",
                "poll meanwhile",
            ],
            rows,
        )
    )
    if idle_run is not None:
        print(
            f"\nTarget with IDLE: p50 <= {P50_TARGET:.0f} s, p95 <= {P95_TARGET:.0f} s, "
            f"none lost: {verdict(ok)}"
        )
    for r in runs:
        slow = sorted(r.replies, key=lambda x: -(x.latency or float("inf")))[:3]
        print(
            f"{r.mode}: slowest "
            + ", ".join(
                f"{x.lead} via {x.mailbox} " + ("LOST" if x.latency is None else seconds(x.latency))
                for x in slow
            )
        )
        for x in r.lost:
            print(f"  LOST: {x.lead} via {x.mailbox} (our {x.message_id})")
        for line in r.warnings[:20]:
            print(f"  log: {line[:240]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
