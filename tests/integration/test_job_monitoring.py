"""A job that keeps failing is told to the admins once, shows in the job ledger (what /status and
/health read), and is cleared once when it works again."""

from __future__ import annotations

from collections.abc import Callable

from engine.context import EngineContext
from engine.scheduler import JOB_ALERT_AFTER, Scheduler
from engine.storage.models import JobRun
from tests.integration.sendkit import outbox

Ctx = Callable[..., EngineContext]


async def test_it_alerts_once_after_repeated_failures_and_clears_once(make_ctx: Ctx) -> None:
    ctx = make_ctx()
    engine = Scheduler(ctx)
    failing = [True]

    async def flaky() -> None:
        if failing[0]:
            raise RuntimeError("disk on fire")

    run = engine._job("flaky", flaky)
    for _ in range(JOB_ALERT_AFTER + 2):
        await run()

    with ctx.db.transaction() as session:
        row = session.get(JobRun, "flaky")
        assert row is not None
        assert row.consecutive_failures == JOB_ALERT_AFTER + 2
        assert row.last_success_at is None
        assert "disk on fire" in (row.last_error or "")
    alerts = outbox(ctx, "alert")
    assert len(alerts) == 1 and "flaky job failed" in alerts[0].text

    failing[0] = False
    await run()
    await run()

    with ctx.db.transaction() as session:
        row = session.get(JobRun, "flaky")
        assert row is not None and row.consecutive_failures == 0
        assert row.last_success_at is not None
    assert len(outbox(ctx, "cleared")) == 1
