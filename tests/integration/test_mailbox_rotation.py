"""Many mailboxes sending through one aiosmtpd with a login each: first emails spread across the
mailboxes, every later email of a lead from the lead's own mailbox in its thread, caps and
ramp-up per mailbox over simulated days, the send job told when the next pacing gap ends, and a
mailbox whose password cannot be decrypted left out while the others send."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from bot.messages.holds import reason_text
from engine.context import EngineContext
from engine.mailboxes.accounts import MailboxAccount
from engine.sending.rotation import send_round
from engine.sending.smtp import Mailer, SmtpMailer
from engine.states import MailboxStatus
from engine.storage.models import Lead, Mailbox, OutboundMessage
from tests.integration.sendkit import NO_PACING, add_leads, smtp_env, start
from tests.mailboxrows import chat_mailbox
from tests.servers.smtp import SmtpServer

KEY = "a-long-enough-secret-key-for-tests"
PRIMARY = "sender@example.com"
OTHERS = {"bea@example.com": "pw-bea-1", "cai@example.com": "pw-cai-2"}


def add_mailbox(
    ctx: EngineContext, email: str, password: str, *, key: str = KEY, **values: object
) -> int:
    """A mailbox as /mailbox add stores it: password encrypted, servers of its own."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = chat_mailbox(
            email,
            password,
            key=key,
            now=now,
            **{
                "smtp_server": "127.0.0.1",
                "smtp_port": ctx.settings.smtp_port,
                "smtp_security": "none",
                **values,
            },
        )
        session.add(row)
        session.flush()
        return row.id


def mailers() -> Callable[[MailboxAccount], Mailer]:
    return lambda account: SmtpMailer(account.smtp)


def setup(make_ctx: Callable[..., EngineContext], smtp: SmtpServer, **env: str) -> EngineContext:
    for login, password in OTHERS.items():
        smtp.add_login(login, password)
    ctx = make_ctx(**smtp_env(smtp, **{**NO_PACING, "SECRET_KEY": KEY, **env}))
    for login, password in OTHERS.items():
        add_mailbox(ctx, login, password)
    return ctx


def leads_by_mailbox(ctx: EngineContext) -> dict[str, int | None]:
    with ctx.db.transaction() as session:
        return {lead.email: lead.mailbox_id for lead in session.scalars(select(Lead))}


def test_first_emails_spread_and_every_later_email_keeps_the_leads_mailbox_and_thread(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="1d", DAILY_EMAIL_LIMIT="3")
    emails = [f"lead{i}@corp{i}.io" for i in range(9)]
    add_leads(ctx, *emails)
    start(ctx)

    report = send_round(ctx, mailers(), vault=ctx.vault)
    assert report.sent == 9
    firsts = smtp_server.wait_for(9)
    per_login = Counter(m.login for m in firsts)
    assert per_login == {PRIMARY: 3, "bea@example.com": 3, "cai@example.com": 3}
    for m in firsts:  # each email's From is the mailbox it went through
        assert m.message["From"].addresses[0].addr_spec == m.login
        assert m.mail_from == m.login
    first_of = {m.rcpt_tos[0]: m for m in firsts}

    ctx.clock.advance(timedelta(days=1, minutes=1))  # type: ignore[attr-defined]
    smtp_server.clear_messages()
    assert send_round(ctx, mailers(), vault=ctx.vault).sent == 9
    for m in smtp_server.wait_for(9):
        first = first_of[m.rcpt_tos[0]]
        assert m.login == first.login, f"{m.rcpt_tos[0]} changed mailbox mid-thread"
        assert m.message["In-Reply-To"] == first.message["Message-ID"]
        assert m.message["Subject"] == "Re: " + first.message["Subject"]
    owners = leads_by_mailbox(ctx)
    assert all(owner is not None for owner in owners.values())
    assert len(set(owners.values())) == 3


def test_a_paused_mailboxs_leads_wait_while_new_leads_go_to_the_others(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="1d")
    add_leads(ctx, *[f"a{i}@one{i}.io" for i in range(6)])
    start(ctx)
    assert send_round(ctx, mailers(), vault=ctx.vault).sent == 6
    bea_leads = {e for e, mid in leads_by_mailbox(ctx).items() if mid == 2}
    assert bea_leads
    with ctx.db.transaction() as session:
        box = session.get(Mailbox, 2)
        assert box is not None
        box.state, box.hold = MailboxStatus.PAUSED, "admin"
    add_leads(ctx, *[f"b{i}@two{i}.io" for i in range(4)])
    ctx.clock.advance(timedelta(days=1, minutes=1))  # type: ignore[attr-defined]
    smtp_server.clear_messages()

    report = send_round(ctx, mailers(), vault=ctx.vault)
    got = smtp_server.wait_for(report.sent)
    assert report.sent == 4 + 6 - len(bea_leads)  # new leads + the others' follow-ups
    assert not smtp_server.by_login("bea@example.com")
    assert not {m.rcpt_tos[0] for m in got} & bea_leads  # never switched mailbox
    assert all(mid != 2 for e, mid in leads_by_mailbox(ctx).items() if e.startswith("b"))


def test_caps_and_ramp_up_hold_per_mailbox_over_simulated_days(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="", DAILY_EMAIL_LIMIT="4")
    with ctx.db.transaction() as session:
        bea = session.get(Mailbox, 2)
        cai = session.get(Mailbox, 3)
        assert bea is not None and cai is not None
        bea.ramp_up = "1,1"  # day 1: 1, day 2: 2, … up to its cap of 4
        cai.daily_limit = 2
    add_leads(ctx, *[f"x{i}@d{i}.io" for i in range(60)])
    start(ctx)
    per_day = []
    for _day in range(5):
        smtp_server.clear_messages()
        report = send_round(ctx, mailers(), vault=ctx.vault)
        got = smtp_server.wait_for(report.sent) if report.sent else []
        per_day.append(Counter(m.login for m in got))
        ctx.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    assert [d["bea@example.com"] for d in per_day] == [1, 2, 3, 4, 4]
    assert [d["cai@example.com"] for d in per_day] == [2, 2, 2, 2, 2]
    assert [d[PRIMARY] for d in per_day] == [4, 4, 4, 4, 4]


def test_the_round_says_when_the_earliest_pacing_gap_ends(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    ctx = setup(
        make_ctx,
        smtp_server,
        MIN_DELAY_SECONDS="60",
        MAX_DELAY_SECONDS="120",
        PAUSE_EVERY_N_EMAILS="0",
        FOLLOWUP_DELAYS="",
    )
    add_leads(ctx, *[f"p{i}@q{i}.io" for i in range(9)])
    start(ctx)
    now = ctx.clock.now()
    report = send_round(ctx, mailers(), vault=ctx.vault)
    assert report.sent == 3  # one email per mailbox, then each waits its own gap
    with ctx.db.transaction() as session:
        from engine.storage.models import MailboxState

        gaps = [
            (session.get(MailboxState, i).next_send_at - now).total_seconds()  # type: ignore[union-attr]
            for i in (1, 2, 3)
        ]
    assert all(60 <= g <= 120 for g in gaps)
    assert report.next_wake == now + timedelta(seconds=min(gaps))
    # At the wake time exactly one more mailbox (the one whose gap ended) may send.
    ctx.clock.advance(timedelta(seconds=min(gaps)))  # type: ignore[attr-defined]
    assert send_round(ctx, mailers(), vault=ctx.vault).sent == 1


def test_a_mailbox_at_its_cap_is_not_run_and_the_round_wakes_when_the_cap_opens(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    """A capped mailbox takes no share of the new leads and runs no queue: the round's plan
    judges each mailbox with the gate its claim would use, and the wake is the cap's end."""
    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="", DAILY_EMAIL_LIMIT="2")
    with ctx.db.transaction() as session:
        cai = session.get(Mailbox, 3)
        assert cai is not None
        cai.daily_limit = 1
    add_leads(ctx, *[f"c{i}@k{i}.io" for i in range(12)])
    start(ctx)
    started = ctx.clock.now()
    first = send_round(ctx, mailers(), vault=ctx.vault)
    assert first.sent == 5  # 2 + 2 + 1
    second = send_round(ctx, mailers(), vault=ctx.vault)
    assert second.sent == 0
    assert second.reports == {}  # no mailbox ran its queue only to be told it is full
    # The caps hold per local day and per rolling 24 hours: the wakes are the next midnight,
    # then the moment the first emails leave the 24-hour window; only then do all three send.
    wakes, sent = [], 0
    wake = second.next_wake
    while sent == 0 and wake is not None and len(wakes) < 5:
        ctx.clock.advance(wake - ctx.clock.now())  # type: ignore[attr-defined]
        wakes.append(wake)
        report = send_round(ctx, mailers(), vault=ctx.vault)
        sent, wake = report.sent, report.next_wake
    midnight = started.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    assert wakes == [midnight, started + timedelta(days=1)]
    assert sent == 5


def test_a_mailbox_whose_password_cannot_be_decrypted_is_left_out_and_the_primary_sends(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    smtp_server.add_login("bea@example.com", "pw-bea-1")
    ctx = make_ctx(**smtp_env(smtp_server, **{**NO_PACING, "SECRET_KEY": "another-key-entirely"}))
    add_mailbox(ctx, "bea@example.com", "pw-bea-1", key=KEY)  # stored under the old key
    add_leads(ctx, "only@one.io", "only@two.io")
    start(ctx)
    assert send_round(ctx, mailers(), vault=ctx.vault).sent == 2
    assert {m.login for m in smtp_server.wait_for(2)} == {PRIMARY}
    with ctx.db.transaction() as session:
        sent_from = set(session.scalars(select(OutboundMessage.mailbox_id)))
    assert sent_from == {1}


# --- faults stay in one mailbox ------------------------------------------------------------------


def alerts(ctx: EngineContext) -> list[tuple[str, str, bool]]:
    from engine.storage.models import Alert

    with ctx.db.transaction() as session:
        return sorted((a.condition, a.scope, a.active) for a in session.scalars(select(Alert)))


def mailbox_state(ctx: EngineContext, mailbox_id: int) -> tuple[str, str | None]:
    with ctx.db.transaction() as session:
        box = session.get(Mailbox, mailbox_id)
        assert box is not None
        return box.state, box.hold


def test_a_mailbox_refusing_its_login_pauses_only_itself_and_the_others_reach_every_lead(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    from engine.storage.models import Campaign, PendingNotification

    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="")
    smtp_server.refuse_auth(login="bea@example.com")
    emails = [f"r{i}@co{i}.io" for i in range(12)]
    add_leads(ctx, *emails)
    start(ctx)
    for _ in range(3):  # the refused share goes back to the queue and the others take it
        send_round(ctx, mailers(), vault=ctx.vault)
    got = smtp_server.messages
    assert sorted(m.rcpt_tos[0] for m in got) == sorted(emails)  # every lead once
    assert not smtp_server.by_login("bea@example.com")
    assert mailbox_state(ctx, 2) == (MailboxStatus.PAUSED, "auth")
    assert mailbox_state(ctx, 1) == (MailboxStatus.ACTIVE, None)
    assert alerts(ctx) == [("account", "mailbox:2", True)]
    with ctx.db.transaction() as session:
        assert session.get(Campaign, 1).state == "running"  # type: ignore[union-attr]
        statuses = Counter(lead.status for lead in session.scalars(select(Lead)))
        told = [
            n.payload
            for n in session.scalars(select(PendingNotification))
            if n.payload.get("condition") == "account"
        ]
    assert statuses == {"completed": 12}  # none failed, none twice
    assert len(told) == 1 and told[0]["mailbox"] == "bea@example.com"
    assert told[0]["campaign_paused"] is False


def test_run_gives_a_mailbox_paused_by_a_fault_another_chance(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="")
    smtp_server.refuse_auth(login="bea@example.com")
    add_leads(ctx, *[f"s{i}@co{i}.io" for i in range(3)])
    start(ctx)
    send_round(ctx, mailers(), vault=ctx.vault)
    assert mailbox_state(ctx, 2) == (MailboxStatus.PAUSED, "auth")
    smtp_server.refuse_auth(False, login="bea@example.com")
    start(ctx)  # /run: the admin says the cause is fixed
    assert mailbox_state(ctx, 2) == (MailboxStatus.ACTIVE, None)
    assert alerts(ctx) == [("account", "mailbox:2", False)]


def test_when_every_mailbox_refuses_its_login_the_campaign_pauses_as_it_always_did(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    from engine.storage.models import Campaign

    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="")
    smtp_server.refuse_auth()
    add_leads(ctx, *[f"t{i}@co{i}.io" for i in range(6)])
    start(ctx)
    send_round(ctx, mailers(), vault=ctx.vault)
    with ctx.db.transaction() as session:
        camp = session.get(Campaign, 1)
        assert camp is not None
        assert camp.state == "paused"
        assert reason_text(camp.reason) == "the mailbox login failed"  # as /status words it
        assert all(lead.status == "pending" for lead in session.scalars(select(Lead)))
    assert [m for m in smtp_server.messages] == []


def test_a_quota_on_one_mailbox_holds_only_that_mailbox_for_a_day(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    from engine.storage.models import MailboxState

    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="")
    smtp_server.quota_exceeded(login="cai@example.com")
    add_leads(ctx, *[f"u{i}@co{i}.io" for i in range(9)])
    start(ctx)
    send_round(ctx, mailers(), vault=ctx.vault)
    send_round(ctx, mailers(), vault=ctx.vault)
    assert len(smtp_server.messages) == 9
    assert not smtp_server.by_login("cai@example.com")
    with ctx.db.transaction() as session:
        held = session.get(MailboxState, 3)
        free = session.get(MailboxState, 2)
        assert held is not None and held.blocked_until is not None
        assert held.blocked_until - ctx.clock.now() >= timedelta(hours=23)
        assert free is None or free.blocked_until is None
    assert ("quota", "mailbox:3", True) in alerts(ctx)


def test_export_and_lead_name_each_leads_mailbox(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    import csv
    import io

    from engine import campaign
    from engine.leads.service import find_lead

    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="1d")
    add_leads(ctx, *[f"e{i}@co{i}.io" for i in range(3)])
    add_leads(ctx, "later@co9.io")  # after the round: no mailbox yet
    start(ctx)
    with ctx.db.transaction() as session:  # the last lead waits (not due yet)
        late = session.scalars(select(Lead).where(Lead.email == "later@co9.io")).one()
        late.next_send_at = ctx.clock.now() + timedelta(days=30)
    send_round(ctx, mailers(), vault=ctx.vault)
    sent_by = {m.rcpt_tos[0]: m.login for m in smtp_server.wait_for(3)}
    rows = list(csv.DictReader(io.StringIO(campaign.export_csv(ctx).decode("utf-8-sig"))))
    assert {r["email"]: r["mailbox"] for r in rows} == {**sent_by, "later@co9.io": ""}
    for email, login in sent_by.items():
        assert find_lead(ctx, email).mailbox == login
    assert find_lead(ctx, "later@co9.io").mailbox == ""


def test_status_counts_every_mailbox_against_the_sum_of_the_active_caps(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    from zoneinfo import ZoneInfo

    from bot.format import status_text
    from engine import campaign

    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="", DAILY_EMAIL_LIMIT="4")
    with ctx.db.transaction() as session:
        cai = session.get(Mailbox, 3)
        assert cai is not None
        cai.daily_limit = 2
    add_leads(ctx, *[f"v{i}@co{i}.io" for i in range(7)])
    start(ctx)
    assert send_round(ctx, mailers(), vault=ctx.vault).sent == 7
    report = campaign.status(ctx)
    assert (report.sent_today, report.daily_limit) == (7, 4 + 4 + 2)
    text = status_text(report, ZoneInfo("UTC"))
    assert "Sent today: 7/10" in text
    per_box = {m.email: (m.sent_today, m.cap) for m in report.mailboxes}
    assert per_box == {PRIMARY: (3, 4), "bea@example.com": (2, 4), "cai@example.com": (2, 2)}
    assert "📮 cai@example.com: 2/2" in text
    for i in range(4, 8):  # more than five mailboxes: a pointer instead of lines
        add_mailbox(ctx, f"m{i}@example.com", "pw")
    many = status_text(campaign.status(ctx), ZoneInfo("UTC"))
    assert "📮 7 mailboxes: see /mailboxes" in many
    assert "📮 cai@example.com" not in many


def test_a_test_email_counts_against_the_environments_mailbox_cap(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    from engine import campaign

    ctx = setup(make_ctx, smtp_server, FOLLOWUP_DELAYS="", DAILY_EMAIL_LIMIT="2")
    campaign.send_test(ctx, "me@example.org")  # /test: from the environment's mailbox
    add_leads(ctx, *[f"w{i}@co{i}.io" for i in range(6)])
    start(ctx)
    send_round(ctx, mailers(), vault=ctx.vault)
    per_login = Counter(m.login for m in smtp_server.messages)
    assert per_login[PRIMARY] == 2  # the test email and one lead: its cap of 2
    assert per_login["bea@example.com"] == 2 and per_login["cai@example.com"] == 2


def test_a_run_committed_in_the_middle_of_a_round_still_splits_the_first_emails_evenly(
    make_ctx: Callable[..., EngineContext], smtp_server: SmtpServer
) -> None:
    """The 2/4 once seen end to end (tests/e2e/test_mailboxes_e2e.py): the send job ticks every
    SEND_INTERVAL whatever the campaign's state, and /run can commit while a round runs. Here
    it lands at the worst moment: the first mailbox's claim has already been refused (not
    running), the second's sees it running and takes its share; the next round then split the
    three left 2/1, so 2/4 in all instead of 3/3."""
    smtp_server.add_login("bea@example.com", "pw-bea-1")
    ctx = make_ctx(**smtp_env(smtp_server, **{**NO_PACING, "SECRET_KEY": KEY}))
    add_mailbox(ctx, "bea@example.com", "pw-bea-1")
    add_leads(ctx, *[f"l{i}@co{i}.io" for i in range(6)])
    landed: list[bool] = []

    def mailer_for(account: MailboxAccount) -> Mailer:
        if account.id == 2 and not landed:  # /run commits as bea's turn comes
            start(ctx)
            landed.append(True)
        return SmtpMailer(account.smtp)

    # One worker: the mailboxes take their turns in the plan's order, mailbox 1 first.
    send_round(ctx, mailer_for, vault=ctx.vault, max_parallel=1)
    if not landed:  # no round while the campaign is not running: /run commits after it
        start(ctx)
    send_round(ctx, mailers(), vault=ctx.vault)
    send_round(ctx, mailers(), vault=ctx.vault)
    got = smtp_server.wait_for(6)
    assert sorted(m.rcpt_tos[0] for m in got) == sorted(f"l{i}@co{i}.io" for i in range(6))
    assert Counter(m.login for m in got) == {PRIMARY: 3, "bea@example.com": 3}
