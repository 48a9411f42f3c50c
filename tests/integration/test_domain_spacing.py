"""Per-domain spacing over simulated days with the injected clock, on SQLite and PostgreSQL:
at most MAX_PER_DOMAIN_PER_DAY first emails a day to one company's domain across three
mailboxes and two campaigns; other domains go at once, free-mail domains are exempt, the
held-back leads go first on the next days, follow-ups are not counted, and /status says how
many wait."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from bot.format import status_text
from engine import campaign
from engine.campaigns import registry
from engine.context import EngineContext
from engine.leads.service import import_csv
from engine.sending.rotation import send_round
from tests.integration.sendkit import NO_PACING, smtp_env
from tests.integration.test_mailbox_rotation import OTHERS, add_mailbox, mailers
from tests.servers.smtp import SmtpServer

KEY = "a-long-enough-secret-key-for-tests"


def setup(make_ctx: Callable[..., EngineContext], smtp: SmtpServer, **env: str) -> EngineContext:
    for login, password in OTHERS.items():
        smtp.add_login(login, password)
    ctx = make_ctx(**smtp_env(smtp, **{**NO_PACING, "SECRET_KEY": KEY, **env}))
    for login, password in OTHERS.items():
        add_mailbox(ctx, login, password)
    return ctx


def day(ctx: EngineContext, smtp: SmtpServer) -> Counter[str]:
    """One simulated day's sending: rounds until nothing more goes; first emails by domain."""
    smtp.clear_messages()
    while send_round(ctx, mailers(), vault=ctx.vault).sent:
        pass
    return Counter(m.rcpt_tos[0].split("@")[1] for m in smtp.messages)


def test_at_most_five_first_emails_a_day_to_one_domain_across_mailboxes_and_campaigns(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="1d", DAILY_EMAIL_LIMIT="100")
    rows = [f"p{i}@acme.io" for i in range(8)] + ["x@beta.io", "y@beta.io"]
    rows += [f"g{i}@gmail.com" for i in range(7)]
    import_csv(ctx, ("email\n" + "\n".join(rows) + "\n").encode())
    second = registry.create(ctx, None, "second").id
    import_csv(ctx, b"email\nq0@acme.io\nq1@acme.io\nq2@acme.io\nq3@acme.io\n", campaign_id=second)
    campaign.run(ctx)
    campaign.run(ctx, second)

    first = day(ctx, smtp_server)
    assert first == {"acme.io": 5, "beta.io": 2, "gmail.com": 7}  # 12 at acme.io: 7 wait
    assert len({m.login for m in smtp_server.messages}) >= 2  # several mailboxes took them
    report = campaign.status(ctx)
    assert report.domain_waiting == 7
    assert "⏳ 7 lead(s) wait for per-domain spacing" in status_text(report, ctx.settings.tz)

    ctx.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    second_day = day(ctx, smtp_server)
    # Follow-ups (14 due today) are not first emails: they do not count against the domain.
    first_emails = Counter(
        m.rcpt_tos[0].split("@")[1]
        for m in smtp_server.messages
        if not m.message["Subject"].startswith("Re:")
    )
    assert first_emails == {"acme.io": 5}
    assert second_day["acme.io"] == 5 + 5  # five first emails and five follow-ups
    ctx.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    day(ctx, smtp_server)
    assert campaign.status(ctx).domain_waiting == 0


def test_zero_turns_spacing_off(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="", MAX_PER_DOMAIN_PER_DAY="0")
    import_csv(ctx, ("email\n" + "\n".join(f"p{i}@acme.io" for i in range(9)) + "\n").encode())
    campaign.run(ctx)
    assert day(ctx, smtp_server) == {"acme.io": 9}
    assert campaign.status(ctx).domain_waiting == 0
