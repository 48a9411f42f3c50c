"""Several workers claiming from one send queue on PostgreSQL: every lead is claimed exactly once.

Claims only (no SMTP): with pacing off, each worker calls ``claim_next`` until nothing is due.
SQLite serves one process, so these run on PostgreSQL only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.context import EngineContext
from engine.sending.claims import Claimed, claim_next
from engine.sending.pacing import Gate
from engine.states import Hold, OutboundState
from engine.storage import store
from engine.storage.db import Database
from engine.storage.models import Lead, OutboundMessage
from tests.conftest import BASE_ENV
from tests.integration.sendkit import NO_PACING, add_leads, start

RACE_ENV = {**NO_PACING, "DAILY_EMAIL_LIMIT": "10000", "MAX_PER_DOMAIN_PER_DAY": "0"}
LEADS = 60
REPO = Path(__file__).resolve().parents[2]

Ctx = Callable[..., EngineContext]


@pytest.fixture
def pg(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite serves a single process")
    return db_url


def claim_all(ctx: EngineContext, go: threading.Barrier | None = None) -> list[int]:
    if go is not None:
        go.wait(10)  # both workers start claiming together
    got: list[int] = []
    while True:
        c = claim_next(ctx)
        if isinstance(c, Gate):
            assert c.hold is Hold.NOTHING_DUE, c
            return got
        assert isinstance(c, Claimed) and c.lead_id is not None
        got.append(c.lead_id)


def claims_per_lead(ctx: EngineContext) -> Counter[int]:
    with ctx.db.transaction() as session:
        rows = session.execute(
            select(OutboundMessage.lead_id, func.count()).group_by(OutboundMessage.lead_id)
        ).all()
        return Counter({lead_id: n for lead_id, n in rows})


def lead_ids(ctx: EngineContext) -> set[int]:
    with ctx.db.transaction() as session:
        return set(session.scalars(select(Lead.id)))


def seed(ctx: EngineContext) -> None:
    start(ctx)
    add_leads(ctx, *(f"lead{i:03d}@d{i % 7}.example" for i in range(LEADS)))


def assert_both_claimed(per_worker: list[list[int]]) -> None:
    """Each of the two workers claimed some leads: a race one of them won outright (or never
    entered) proves nothing about claims."""
    first, second = (len(got) for got in per_worker)
    assert first > 0, f"the first worker claimed nothing (the second claimed {second})"
    assert second > 0, f"the second worker claimed nothing (the first claimed {first})"


def two_threads(pg: str, make_ctx: Ctx, env: dict[str, str]) -> list[list[int]]:
    """Two claimers started together, each with its own connection pool (like two replicas):
    the leads each claimed until nothing was due."""
    go = threading.Barrier(2)
    results: list[list[int]] = [[], []]
    workers = []
    worker_dbs = [Database(pg) for _ in range(2)]
    for i in range(2):
        worker_ctx = make_ctx(**env)
        worker_ctx.db = worker_dbs[i]
        workers.append(
            threading.Thread(target=lambda i=i, c=worker_ctx: results[i].extend(claim_all(c, go)))
        )
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    for c in worker_dbs:
        c.dispose()
    return results


def test_it_claims_every_lead_once_from_two_threads(pg: str, make_ctx: Ctx) -> None:
    ctx = make_ctx(**RACE_ENV)
    seed(ctx)
    results = two_threads(pg, make_ctx, RACE_ENV)

    claimed = results[0] + results[1]
    assert sorted(claimed) == sorted(lead_ids(ctx))
    assert_both_claimed(results)
    assert set(claims_per_lead(ctx).values()) == {1}
    assert len(claims_per_lead(ctx)) == LEADS


def test_two_claimers_never_pass_the_per_domain_cap_together(pg: str, make_ctx: Ctx) -> None:
    """60 leads over 7 domains, at most 5 first emails a day to each: two replicas claiming at
    once take exactly 35, five a domain (the count and the take hold an advisory lock on the
    domain), and the rest wait for tomorrow."""
    env = {**RACE_ENV, "MAX_PER_DOMAIN_PER_DAY": "5"}
    ctx = make_ctx(**env)
    seed(ctx)
    results = two_threads(pg, make_ctx, env)
    with ctx.db.transaction() as session:
        per_domain = Counter(
            session.scalars(
                select(Lead.domain).join(OutboundMessage, OutboundMessage.lead_id == Lead.id)
            )
        )
    assert per_domain == {f"d{i}.example": 5 for i in range(7)}
    assert len(results[0]) + len(results[1]) == 35


WORKER = """
import json, sys
from engine.config import load_settings
from engine.context import EngineContext
from engine.storage.db import Database
from tests.integration.test_claims_race import claim_all

env, url = json.loads(sys.argv[1]), sys.argv[2]
ctx = EngineContext(db=Database(url), settings=load_settings(env))
ctx.db.engine.connect().close()  # connected before the start, like the other worker
print("READY", flush=True)
sys.stdin.readline()  # the barrier: the test releases both workers together
print(json.dumps({"owner": ctx.owner, "leads": claim_all(ctx)}))
"""


def test_it_claims_every_lead_once_from_two_processes(pg: str, make_ctx: Ctx) -> None:
    ctx = make_ctx(**RACE_ENV)
    seed(ctx)
    env = json.dumps({**BASE_ENV, **RACE_ENV})
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, env, pg],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:  # the barrier: both interpreters up and connected...
        assert p.stdin is not None and p.stdout is not None
        ready = p.stdout.readline()
        assert ready.strip() == "READY", ready + p.communicate(timeout=10)[1]
    for p in procs:  # ...then both go
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))

    claimed = outputs[0]["leads"] + outputs[1]["leads"]
    assert sorted(claimed) == sorted(lead_ids(ctx))
    assert set(claims_per_lead(ctx).values()) == {1}
    assert_both_claimed([o["leads"] for o in outputs])
    with ctx.db.transaction() as session:
        owners = Counter(session.scalars(select(OutboundMessage.lease_owner)))
    for o in outputs:  # each process by name: a missing one counts 0 here, not "no key"
        assert owners[o["owner"]] == len(o["leads"]) > 0, (o["owner"], dict(owners))
    assert sum(owners.values()) == LEADS


def test_it_makes_a_second_claim_wait_for_the_first_to_commit(pg: str, make_ctx: Ctx) -> None:
    ctx = make_ctx(**RACE_ENV)
    seed(ctx)
    other = make_ctx(**RACE_ENV)
    other.db = Database(pg)
    with ctx.db.transaction() as session:
        store.mailbox(session, ctx.clock.now())  # the pacing row every claim locks
    result: list[Claimed | Gate] = []
    claimer = threading.Thread(target=lambda: result.append(claim_next(other)))

    with ctx.db.transaction() as session:
        store.mailbox(session, ctx.clock.now(), lock=True)  # a claim in progress elsewhere
        claimer.start()
        claimer.join(0.5)
        assert claimer.is_alive()  # blocked: it cannot see or take a half-made claim
        assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 0
    claimer.join(10)
    other.db.dispose()

    (claimed,) = result
    assert isinstance(claimed, Claimed)
    with ctx.db.transaction() as session:
        row = session.get(OutboundMessage, claimed.outbound_id)
        assert row is not None and (row.state, row.lease_owner) == (
            OutboundState.SENDING,
            other.owner,
        )


def test_it_refuses_a_second_message_for_the_same_lead_and_step(pg: str, make_ctx: Ctx) -> None:
    """Within one mailbox's thread (migration 0006: a lead restarted from another mailbox after
    its own was removed gets a new thread beside the old one)."""
    ctx = make_ctx(**RACE_ENV)
    seed(ctx)
    claimed = claim_next(ctx)
    assert isinstance(claimed, Claimed)

    with pytest.raises(IntegrityError), ctx.db.transaction() as session:
        row = session.get(OutboundMessage, claimed.outbound_id)
        assert row is not None
        session.add(
            OutboundMessage(
                lead_id=row.lead_id,
                kind=row.kind,
                step=row.step,
                message_id="<dup@example.com>",
                to_email=row.to_email,
                subject=row.subject,
                body=row.body,
                state=OutboundState.SENDING,
                attempts=1,
                mailbox_id=row.mailbox_id,
                created_at=row.created_at,
            )
        )
