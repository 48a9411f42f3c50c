"""A job that keeps failing is told to the admins once, shows in the job ledger (what /status and
/health read), and is cleared once when it works again. The engine stores the condition and a
payload; the words are the bot's (bot/messages/system.py)."""

from __future__ import annotations

from collections.abc import Callable

from bot.format import alert_line
from bot.messages import render
from engine import notify
from engine.campaign import ActiveAlert
from engine.context import EngineContext
from engine.notify import Notification
from engine.scheduler import IMAP_ALERT_AFTER, JOB_ALERT_AFTER, MAINTENANCE, REPLIES, Scheduler
from engine.states import AlertCondition
from engine.storage.models import JobRun, PendingNotification
from tests.integration.sendkit import outbox

Ctx = Callable[..., EngineContext]


def words(row: PendingNotification) -> str:
    return render(Notification(row.id, row.kind, row.text, dict(row.payload or {}))).text


async def test_it_alerts_once_after_repeated_failures_and_clears_once(make_ctx: Ctx) -> None:
    ctx = make_ctx()
    engine = Scheduler(ctx)
    failing = [True]

    async def flaky() -> None:
        if failing[0]:
            raise RuntimeError("disk on fire")

    run = engine._job(MAINTENANCE, flaky)
    for _ in range(JOB_ALERT_AFTER + 2):
        await run()

    with ctx.db.transaction() as session:
        row = session.get(JobRun, MAINTENANCE)
        assert row is not None
        assert row.consecutive_failures == JOB_ALERT_AFTER + 2
        assert row.last_success_at is None
        assert "disk on fire" in (row.last_error or "")
    alerts = outbox(ctx, "alert")
    assert len(alerts) == 1 and "maintenance job failed" in words(alerts[0])
    assert alerts[0].text == ""  # the engine wrote no words
    assert alerts[0].payload == {
        "condition": AlertCondition.JOB_MAINTENANCE,
        "job": MAINTENANCE,
        "failures": JOB_ALERT_AFTER,
        "error": "RuntimeError: disk on fire",
    }

    failing[0] = False
    await run()
    await run()

    with ctx.db.transaction() as session:
        row = session.get(JobRun, MAINTENANCE)
        assert row is not None and row.consecutive_failures == 0
        assert row.last_success_at is not None
    (cleared,) = outbox(ctx, "cleared")
    assert words(cleared) == "⚙️ The maintenance job works again."


async def test_it_words_a_failing_reply_check_as_today(make_ctx: Ctx) -> None:
    ctx = make_ctx()
    engine = Scheduler(ctx)
    failing = [True]

    async def check() -> None:
        if failing[0]:
            raise RuntimeError("imap down")

    run = engine._job(REPLIES, check)
    for _ in range(IMAP_ALERT_AFTER):
        await run()

    (alert,) = outbox(ctx, "alert")
    assert words(alert) == (
        f"📭 The reply check failed {IMAP_ALERT_AFTER} times in a row (RuntimeError: imap down). "
        "Replies are not being read; it keeps retrying."
    )
    with ctx.db.transaction() as session:
        (active,) = notify.active_alerts(session)
        assert alert_line(ActiveAlert.of(active)) == words(alert)  # /status shows the same words
    failing[0] = False
    await run()
    (cleared,) = outbox(ctx, "cleared")
    assert words(cleared) == "📬 The reply check works again."
    assert cleared.payload == {"condition": AlertCondition.IMAP}
