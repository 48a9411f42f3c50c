"""The bounce-rate guard: enough hard bounces among recent first emails pause the campaign
before the mailbox's reputation burns; admins are told once; /run clears it."""

from __future__ import annotations

from collections.abc import Callable

from engine import campaign
from engine.context import EngineContext
from engine.inbox.sync import process_message
from engine.sending.queue import run_send_queue
from engine.sending.smtp import SmtpMailer
from tests.hostile import forged_dsn, forged_failed_recipients
from tests.integration.sendkit import NO_PACING, add_leads, outbound, outbox, smtp_env, start, words
from tests.mailshapes import gmail_dsn
from tests.servers.smtp import SmtpServer

Ctx = Callable[..., EngineContext]


def _send_all(ctx: EngineContext, n: int) -> None:
    add_leads(ctx, *(f"lead{i}@domain{i}.io" for i in range(n)))
    mailer = SmtpMailer(ctx.smtp_settings())
    try:
        assert run_send_queue(ctx, mailer).sent == n
    finally:
        mailer.close()


def _bounce(ctx: EngineContext, count: int, skip: int = 0) -> None:
    """DSNs (hard, 5.1.1) for the first emails number skip+1 … skip+count."""
    rows = [m for m in outbound(ctx) if m.kind == "initial"]
    for i, row in enumerate(rows[skip : skip + count], start=skip + 1):
        raw = gmail_dsn(row.to_email, row.message_id)
        assert process_message(ctx, "INBOX", 1, i, raw) == "bounce"


def _state(ctx: EngineContext) -> str:
    return campaign.status(ctx).state


def test_it_pauses_when_the_bounce_rate_reaches_the_limit(
    make_ctx: Ctx, smtp_server: SmtpServer
) -> None:
    ctx = make_ctx(**smtp_env(smtp_server, **NO_PACING))
    start(ctx)
    _send_all(ctx, 20)

    _bounce(ctx, 4)
    assert _state(ctx) == "running"  # 4 bounces: too few to call it a trend
    _bounce(ctx, 1, skip=4)  # the fifth: 25 %

    assert _state(ctx) == "paused"
    alerts = [a for a in outbox(ctx, "alert") if "bounced" in words(a)]
    assert len(alerts) == 1 and "5 of the last 20" in words(alerts[0])


def test_it_keeps_sending_below_the_limit(make_ctx: Ctx, smtp_server: SmtpServer) -> None:
    ctx = make_ctx(**smtp_env(smtp_server, **NO_PACING, MAX_BOUNCE_RATE="10"))
    start(ctx)
    _send_all(ctx, 60)

    _bounce(ctx, 5)  # 8.3 %

    assert _state(ctx) == "running"


def test_it_can_be_turned_off(make_ctx: Ctx, smtp_server: SmtpServer) -> None:
    ctx = make_ctx(**smtp_env(smtp_server, **NO_PACING, MAX_BOUNCE_RATE="0"))
    start(ctx)
    _send_all(ctx, 10)

    _bounce(ctx, 8)

    assert _state(ctx) == "running"


def test_run_clears_the_alert_once(make_ctx: Ctx, smtp_server: SmtpServer) -> None:
    ctx = make_ctx(**smtp_env(smtp_server, **NO_PACING))
    start(ctx)
    _send_all(ctx, 10)
    _bounce(ctx, 5)
    assert _state(ctx) == "paused"

    campaign.run(ctx)

    assert _state(ctx) == "running"
    assert len(outbox(ctx, "cleared")) == 1


def test_forged_bounces_do_not_count(make_ctx: Ctx, smtp_server: SmtpServer) -> None:
    ctx = make_ctx(**smtp_env(smtp_server, **NO_PACING))
    start(ctx)
    _send_all(ctx, 20)
    _bounce(ctx, 4)
    rows = [m for m in outbound(ctx) if m.kind == "initial"]
    for i, row in enumerate(rows[4:9], start=100):
        forge = forged_dsn if i % 2 else forged_failed_recipients
        assert process_message(ctx, "INBOX", 1, i, forge(i, row.to_email)) == "other"

    assert _state(ctx) == "running"  # still 4 bounces of 20
    _bounce(ctx, 1, skip=4)  # a genuine fifth, citing our email: 25 %
    assert _state(ctx) == "paused"
