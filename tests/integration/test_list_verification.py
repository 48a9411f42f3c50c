"""List verification at import and /verify's use-case, against a real DNS server on 127.0.0.1
(tests/servers/dns.py) through the real resolver of DNS_NAMESERVERS, on SQLite and PostgreSQL.

Timing is injected: each test passes its budget and per-domain timeout (``Intervals``), and the
bounds it asserts are derived from them; nothing sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import select

from engine import campaign
from engine.campaigns import registry
from engine.context import EngineContext
from engine.intervals import Intervals
from engine.leads.recheck import recheck_waiting_leads
from engine.leads.service import import_csv
from engine.leads.verification import DomainLookups, dns_lookup
from engine.states import LeadStatus
from engine.storage.models import QUEUE_NEW, Lead
from tests.conftest import make_settings
from tests.servers.dns import DnsServer

BUDGET = 2.0  # seconds for all of an upload's lookups
LOOKUP = 0.3  # seconds for one domain
# Slack for everything that is not waiting on DNS (parsing, the database, thread start-up) on a
# busy 2-CPU machine; the assertions are "within the budget plus this".
SLACK = 3.0

MakeCtx = Callable[..., EngineContext]


def verifying_ctx(
    make_ctx: MakeCtx, server: DnsServer, *, budget: float = BUDGET, mode: str = "mx"
) -> EngineContext:
    host, port = server.address
    ctx = make_ctx(VERIFY_EMAILS=mode, DNS_NAMESERVERS=f"{host}:{port}")
    ctx.intervals = replace(Intervals(), verify_budget=budget, verify_lookup=LOOKUP)
    return ctx


def csv_of(*emails: str) -> bytes:
    return ("email\n" + "".join(f"{e}\n" for e in emails)).encode()


def stored(ctx: EngineContext) -> set[str]:
    with ctx.db.transaction() as session:
        return set(session.scalars(select(Lead.email)))


@pytest.fixture
def dns(dns_server: DnsServer) -> DnsServer:
    """The local server with one domain of each kind."""
    dns_server.add("mx.io", "MX", "10 mail.mx.io.")
    dns_server.add("aonly.io", "A", "192.0.2.10")
    dns_server.add("v6only.io", "AAAA", "2001:db8::10")
    dns_server.add("nullmx.io", "MX", "0 .")
    dns_server.add("textonly.io", "TXT", "v=spf1 -all")
    dns_server.add("broken.io", "MX", "10 mail.broken.io.")
    dns_server.fail("broken.io", "SERVFAIL")
    dns_server.add("silent.io", "MX", "10 mail.silent.io.")
    dns_server.silence("silent.io")
    return dns_server


def test_it_counts_each_kind_of_address_right(make_ctx: MakeCtx, dns: DnsServer) -> None:
    ctx = verifying_ctx(make_ctx, dns)
    data = csv_of(
        "ana@mx.io",  # 2: MX
        "bob@aonly.io",  # 3: no MX, an A: the implicit MX
        "cy@v6only.io",  # 4: no MX, an AAAA
        "dee@nullmx.io",  # 5: null MX
        "eve@nxdomain.io",  # 6: does not exist
        "fay@textonly.io",  # 7: exists, neither MX nor address
        "gus@broken.io",  # 8: SERVFAIL
        "hal@silent.io",  # 9: never answered
        "ivy@mailinator.com",  # 10: disposable
        "info@mx.io",  # 11: role
        "No-Reply@aonly.io",  # 12: role
        "sales@silent.io",  # 13: role and unverified
    )

    report = import_csv(ctx, data)

    assert report.imported == 8
    assert [(r.line, r.value, r.reason) for r in report.no_mail_server] == [
        (5, "dee@nullmx.io", "no mail server for nullmx.io"),
        (6, "eve@nxdomain.io", "no mail server for nxdomain.io"),
        (7, "fay@textonly.io", "no mail server for textonly.io"),
    ]
    assert [(r.line, r.email) for r in report.unverified] == [
        (8, "gus@broken.io"),
        (9, "hal@silent.io"),
        (13, "sales@silent.io"),
    ]
    assert [(r.line, r.email) for r in report.disposable] == [(10, "ivy@mailinator.com")]
    assert [r.email for r in report.role] == ["info@mx.io", "No-Reply@aonly.io", "sales@silent.io"]
    assert report.invalid == []  # the syntax was fine everywhere
    assert report.verified and report.domains_looked_up == 8  # mailinator.com was not asked
    assert stored(ctx) == {
        "ana@mx.io",
        "bob@aonly.io",
        "cy@v6only.io",
        "gus@broken.io",
        "hal@silent.io",
        "info@mx.io",
        "No-Reply@aonly.io",
        "sales@silent.io",
    }


def test_it_looks_each_domain_up_once(make_ctx: MakeCtx, dns: DnsServer) -> None:
    ctx = verifying_ctx(make_ctx, dns)

    import_csv(ctx, csv_of(*(f"p{i}@mx.io" for i in range(50)), "a@aonly.io", "b@AOnly.io"))

    assert dns.queries_for("mx.io") == ["MX"]
    assert dns.queries_for("aonly.io") == ["MX", "A"]  # the A answered: no AAAA asked
    assert dns.queries_for("mailinator.com") == []


def test_it_does_no_lookup_with_verify_emails_off(make_ctx: MakeCtx, dns: DnsServer) -> None:
    ctx = verifying_ctx(make_ctx, dns, mode="off")

    report = import_csv(ctx, csv_of("ana@mx.io", "eve@nxdomain.io", "hal@silent.io"))

    assert dns.queries == []
    assert report.imported == 3 and not report.no_mail_server and not report.unverified
    assert not report.verified and report.domains_looked_up == 0


def test_it_still_skips_disposable_and_counts_role_addresses_with_lookups_off(
    make_ctx: MakeCtx, dns: DnsServer
) -> None:
    ctx = verifying_ctx(make_ctx, dns, mode="off")

    report = import_csv(ctx, csv_of("ana@mx.io", "x@sub.mailinator.com", "support@mx.io"))

    assert [r.email for r in report.disposable] == ["x@sub.mailinator.com"]
    assert [r.email for r in report.role] == ["support@mx.io"]
    assert report.imported == 2 and dns.queries == []


def test_it_follows_verify_emails_set_from_the_chat(make_ctx: MakeCtx, dns: DnsServer) -> None:
    ctx = verifying_ctx(make_ctx, dns)
    campaign.change_setting(ctx, "verify_emails", "off")

    report = import_csv(ctx, csv_of("eve@nxdomain.io"))

    assert report.imported == 1 and dns.queries == []


def test_it_keeps_a_row_whose_domain_times_out_within_the_lookup_timeout(
    make_ctx: MakeCtx, dns: DnsServer
) -> None:
    ctx = verifying_ctx(make_ctx, dns, budget=30.0)

    started = time.monotonic()
    report = import_csv(ctx, csv_of("ana@mx.io", "hal@silent.io"))
    elapsed = time.monotonic() - started

    assert [r.email for r in report.unverified] == ["hal@silent.io"]
    assert report.imported == 2
    assert dns.queries_for("silent.io")  # it asked, and waited for an answer
    # The per-domain timeout ended the wait, not the 30 s budget.
    assert elapsed < LOOKUP + SLACK, f"took {elapsed:.2f}s with a {LOOKUP}s lookup timeout"


def test_it_finishes_within_the_budget_when_the_resolver_never_answers(
    make_ctx: MakeCtx, dns_server: DnsServer
) -> None:
    dns_server.mute = True
    budget = 0.5
    ctx = verifying_ctx(make_ctx, dns_server, budget=budget)
    domains = 400  # 400 domains × 0.3 s over 32 lookups at a time: ~4 s without the budget
    data = csv_of(*(f"lead{i}@company{i}.io" for i in range(domains)))

    started = time.monotonic()
    report = import_csv(ctx, data)
    elapsed = time.monotonic() - started

    assert elapsed < budget + SLACK, f"took {elapsed:.2f}s with a {budget}s budget"
    assert report.imported == domains
    assert len(report.unverified) == domains
    assert report.dns_wait <= budget + 0.5
    asked = {name for name, _ in dns_server.queries}
    assert 0 < len(asked) < domains  # lookups were made, never answered, and the budget ended them


def test_it_reports_the_domains_while_it_waits(make_ctx: MakeCtx, dns: DnsServer) -> None:
    ctx = verifying_ctx(make_ctx, dns)
    heard: list[tuple[int, int]] = []

    import_csv(
        ctx,
        csv_of("ana@mx.io", "bob@aonly.io", "hal@silent.io"),
        verifying=lambda d, t: heard.append((d, t)),
    )

    assert heard and heard[-1] == (3, 3)
    assert all(total == 3 and 0 <= done <= 3 for done, total in heard)


def test_it_keeps_at_most_n_lookups_in_flight(dns_server: DnsServer) -> None:
    dns_server.delay = 0.05  # each answer held back: lookups overlap at the server
    names = [f"d{i}.io" for i in range(40)]
    for name in names:
        dns_server.add(name, "MX", f"10 mx.{name}.")
    host, port = dns_server.address
    lookup = dns_lookup(make_settings(DNS_NAMESERVERS=f"{host}:{port}"))
    lookups = DomainLookups(lookup, budget=30.0, timeout=5.0, concurrency=4)
    for name in names:
        lookups.add(name)

    routes = lookups.wait()

    assert set(routes.values()) == {"mx"}
    assert 2 <= dns_server.peak_in_flight <= 4


# --- /verify ----------------------------------------------------------------------------------
def test_it_fails_the_waiting_leads_whose_domain_lost_its_mail_server(
    make_ctx: MakeCtx, dns: DnsServer
) -> None:
    ctx = verifying_ctx(make_ctx, dns)
    dns.add("gone.io", "MX", "10 mail.gone.io.")
    dns.add("nomore.io", "MX", "10 mail.nomore.io.")
    import_csv(ctx, csv_of("ana@mx.io", "a@gone.io", "b@gone.io", "c@nomore.io", "hal@silent.io"))
    dns.remove("gone.io")  # NXDOMAIN from now on
    dns.remove("nomore.io")
    dns.add("nomore.io", "MX", "0 .")  # a null MX now
    heard: list[tuple[int, int]] = []

    found = recheck_waiting_leads(ctx, 1, lambda d, t: heard.append((d, t)))

    assert (found.leads, found.domains, found.failed) == (5, 4, 3)
    assert found.dead_domains == ["gone.io", "nomore.io"]
    assert found.failed_examples == ["a@gone.io", "b@gone.io", "c@nomore.io"]
    assert (found.unverified_domains, found.unverified_leads) == (["silent.io"], 1)
    assert heard[-1] == (4, 4)
    with ctx.db.transaction() as session:
        leads = {lead.email: lead for lead in session.scalars(select(Lead))}
        assert {e for e, lead in leads.items() if lead.status == LeadStatus.INVALID} == {
            "a@gone.io",
            "b@gone.io",
            "c@nomore.io",
        }
        assert leads["a@gone.io"].last_error == "no mail server for gone.io"
        assert leads["a@gone.io"].queue is None and leads["a@gone.io"].next_send_at is None
        assert leads["ana@mx.io"].status == LeadStatus.PENDING
        assert leads["hal@silent.io"].status == LeadStatus.PENDING


def test_it_leaves_leads_that_are_not_waiting_for_their_first_email_alone(
    make_ctx: MakeCtx, dns: DnsServer
) -> None:
    ctx = verifying_ctx(make_ctx, dns)
    dns.add("gone.io", "MX", "10 mail.gone.io.")
    import_csv(ctx, csv_of("sent@gone.io", "claimed@gone.io", "waiting@gone.io"))
    with ctx.db.transaction() as session:
        leads = {lead.email: lead for lead in session.scalars(select(Lead))}
        leads["sent@gone.io"].status = LeadStatus.SENT
        leads["claimed@gone.io"].queue = None  # a send claimed it: its email is on its way
    dns.remove("gone.io")

    found = recheck_waiting_leads(ctx, 1)

    assert (found.leads, found.failed) == (1, 1)
    with ctx.db.transaction() as session:
        status = {lead.email: lead.status for lead in session.scalars(select(Lead))}
    assert status == {
        "sent@gone.io": LeadStatus.SENT,
        "claimed@gone.io": LeadStatus.PENDING,
        "waiting@gone.io": LeadStatus.INVALID,
    }


def test_it_checks_only_the_given_campaign(make_ctx: MakeCtx, dns: DnsServer) -> None:
    ctx = verifying_ctx(make_ctx, dns)
    dns.add("gone.io", "MX", "10 mail.gone.io.")
    other = registry.create(ctx, None, "other")
    import_csv(ctx, csv_of("a@gone.io"))
    import_csv(ctx, csv_of("b@gone.io"), campaign_id=other.id)
    dns.remove("gone.io")

    found = recheck_waiting_leads(ctx, other.id)

    assert (found.campaign, found.failed, found.failed_examples) == ("other", 1, ["b@gone.io"])
    with ctx.db.transaction() as session:
        kept = session.scalars(select(Lead).where(Lead.email == "a@gone.io")).one()
        assert (kept.status, kept.queue) == (LeadStatus.PENDING, QUEUE_NEW)


def test_it_says_so_when_no_lead_is_waiting(make_ctx: MakeCtx, dns: DnsServer) -> None:
    found = recheck_waiting_leads(verifying_ctx(make_ctx, dns), 1)

    assert (found.campaign, found.leads, found.domains) == ("default", 0, 0)
    assert dns.queries == []
