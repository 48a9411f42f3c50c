"""engine.mx against a real DNS server on 127.0.0.1 (tests/servers/dns.py): MX hosts, and a
provider recognised through them; failures give [] within the timeout. Where mail for a domain
goes (``mail_route``, for list verification): a failure is UNKNOWN, never "no mail server"."""

from __future__ import annotations

import time
from pathlib import Path

import dns.resolver
import pytest

from engine.mailboxes.presets import GMAIL, MICROSOFT_365, preset_for
from engine.mx import MailRoute, mail_route, make_resolver, mx_hosts, shared_resolver
from tests.servers.dns import DnsServer

TIMEOUT = 0.5


def resolver_for(server: DnsServer, timeout: float = TIMEOUT) -> dns.resolver.Resolver:
    return make_resolver([server.address], timeout=timeout)


def test_it_lists_the_mx_hosts_most_preferred_first(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "MX", "20 Alt1.ASPMX.l.google.com.", "10 aspmx.l.google.com.")

    assert mx_hosts("acme.io", resolver_for(dns_server)) == [
        "aspmx.l.google.com",
        "alt1.aspmx.l.google.com",
    ]
    assert dns_server.queries_for("acme.io") == ["MX"]


def test_it_recognises_a_domain_on_google_workspace_by_its_mx(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "MX", "1 aspmx.l.google.com.", "5 alt1.aspmx.l.google.com.")

    assert preset_for("acme.io", mx_hosts("acme.io", resolver_for(dns_server))) == GMAIL


def test_it_recognises_a_domain_on_microsoft_365_by_its_mx(dns_server: DnsServer) -> None:
    dns_server.add("contoso.de", "MX", "0 contoso-de.mail.protection.outlook.com.")

    hosts = mx_hosts("sam@contoso.de".partition("@")[2], resolver_for(dns_server))

    assert preset_for("contoso.de", hosts) == MICROSOFT_365


def test_it_finds_nothing_for_a_domain_that_does_not_exist(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "MX", "10 aspmx.l.google.com.")

    hosts = mx_hosts("no-such-domain.io", resolver_for(dns_server))

    assert hosts == [] and preset_for("no-such-domain.io", hosts) is None
    assert dns_server.queries_for("no-such-domain.io") == ["MX"]  # it was really asked


def test_it_finds_nothing_for_a_domain_without_mx(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "A", "192.0.2.1")

    assert mx_hosts("acme.io", resolver_for(dns_server)) == []


def test_it_finds_nothing_for_a_null_mx(dns_server: DnsServer) -> None:
    dns_server.add("nomail.acme.io", "MX", "0 .")

    assert mx_hosts("nomail.acme.io", resolver_for(dns_server)) == []


def test_it_finds_nothing_on_a_server_failure(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "MX", "10 aspmx.l.google.com.")
    dns_server.fail("acme.io", "SERVFAIL")

    assert mx_hosts("acme.io", resolver_for(dns_server)) == []


def test_it_gives_up_within_the_timeout_on_a_server_that_never_answers(
    dns_server: DnsServer,
) -> None:
    dns_server.add("acme.io", "MX", "10 aspmx.l.google.com.")
    dns_server.silence("acme.io")

    started = time.monotonic()
    hosts = mx_hosts("acme.io", resolver_for(dns_server))
    elapsed = time.monotonic() - started

    assert hosts == []
    assert elapsed < TIMEOUT + 0.5, f"took {elapsed:.2f}s with a {TIMEOUT}s timeout"
    assert dns_server.queries_for("acme.io")  # it asked, and waited for an answer


def test_it_waits_for_a_slow_answer_within_the_timeout(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "MX", "10 aspmx.l.google.com.")
    dns_server.delay = 0.2

    assert mx_hosts("acme.io", resolver_for(dns_server, timeout=2.0)) == ["aspmx.l.google.com"]


def test_it_gives_up_on_an_answer_slower_than_the_timeout(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "MX", "10 aspmx.l.google.com.")
    dns_server.delay = 3.0

    started = time.monotonic()
    assert mx_hosts("acme.io", resolver_for(dns_server)) == []
    assert time.monotonic() - started < TIMEOUT + 0.5


def test_it_follows_a_cname_to_the_mx(dns_server: DnsServer) -> None:
    dns_server.add("mail.acme.io", "CNAME", "acme.example.")
    dns_server.add("acme.example", "MX", "10 aspmx.l.google.com.")

    assert mx_hosts("mail.acme.io", resolver_for(dns_server)) == ["aspmx.l.google.com"]


def test_it_finds_nothing_for_a_malformed_domain(dns_server: DnsServer) -> None:
    resolver = resolver_for(dns_server)

    assert mx_hosts("a" * 64 + ".com", resolver) == []
    assert mx_hosts("", resolver) == []
    assert mx_hosts("..", resolver) == []
    assert dns_server.queries == []


def test_it_asks_the_configured_servers_in_turn(dns_server: DnsServer) -> None:
    with DnsServer({"acme.io": {"MX": ["10 aspmx.l.google.com."]}}) as second:
        dns_server.silence("acme.io")
        resolver = make_resolver([dns_server.address, second.address], timeout=2.0)

        assert mx_hosts("acme.io", resolver) == ["aspmx.l.google.com"]
        assert dns_server.queries_for("acme.io") and second.queries_for("acme.io")


def test_it_builds_the_system_resolver_when_no_servers_are_set() -> None:
    if not Path("/etc/resolv.conf").is_file():
        pytest.skip("this machine has no /etc/resolv.conf")
    resolver = make_resolver(timeout=1.5)

    assert (resolver.lifetime, resolver.timeout) == (1.5, 0.75)
    assert resolver.nameservers == dns.resolver.Resolver().nameservers


# --- mail_route: does a domain take mail at all? (list verification) --------------------------
@pytest.mark.parametrize(
    ("records", "route"),
    [
        ({"MX": ["10 mx1.acme.io.", "20 mx2.acme.io."]}, MailRoute.MX),
        ({"A": ["192.0.2.1"]}, MailRoute.ADDRESS),  # the implicit MX of RFC 5321
        ({"AAAA": ["2001:db8::1"]}, MailRoute.ADDRESS),
        ({"MX": ["0 ."]}, MailRoute.NULL_MX),  # RFC 7505
        ({"TXT": ["v=spf1 -all"]}, MailRoute.NONE),  # exists, but no MX and no address
        ({"MX": ["0 .", "10 mx1.acme.io."]}, MailRoute.MX),  # a broken null MX: a host is named
    ],
)
def test_it_tells_where_mail_for_a_domain_goes(
    dns_server: DnsServer, records: dict[str, list[str]], route: MailRoute
) -> None:
    for rdtype, values in records.items():
        dns_server.add("acme.io", rdtype, *values)

    assert mail_route("acme.io", resolver_for(dns_server), TIMEOUT) == route


def test_it_says_no_route_for_a_domain_that_does_not_exist(dns_server: DnsServer) -> None:
    assert mail_route("nope.io", resolver_for(dns_server), TIMEOUT) == MailRoute.NONE
    assert dns_server.queries_for("nope.io") == ["MX"]  # NXDOMAIN: no A or AAAA asked


def test_it_says_unknown_on_a_server_failure(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "MX", "10 mx1.acme.io.")
    dns_server.fail("acme.io", "SERVFAIL")

    route = mail_route("acme.io", resolver_for(dns_server), TIMEOUT)

    assert route == MailRoute.UNKNOWN and route.receives_mail is None


def test_it_says_unknown_when_no_answer_comes_within_the_timeout(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "MX", "10 mx1.acme.io.")
    dns_server.silence("acme.io")

    started = time.monotonic()
    route = mail_route("acme.io", resolver_for(dns_server, timeout=5.0), TIMEOUT)

    assert route == MailRoute.UNKNOWN
    assert time.monotonic() - started < TIMEOUT + 0.5  # the timeout given, not the resolver's


def test_it_ends_all_its_queries_within_the_timeout_given(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "TXT", "no mail here")  # MX, A and AAAA are all asked
    dns_server.delay = 0.15

    started = time.monotonic()
    route = mail_route("acme.io", resolver_for(dns_server, timeout=5.0), 0.25)

    assert route == MailRoute.UNKNOWN  # MX answered (no MX), A did not in the time left
    assert time.monotonic() - started < 0.25 + 0.5


def test_it_says_no_route_for_a_name_dns_cannot_hold(dns_server: DnsServer) -> None:
    assert mail_route("a" * 64 + ".com", resolver_for(dns_server), TIMEOUT) == MailRoute.NONE
    assert dns_server.queries == []


def test_it_shares_one_resolver_per_set_of_nameservers(dns_server: DnsServer) -> None:
    servers = (dns_server.address,)

    assert shared_resolver(servers) is shared_resolver(servers)
    assert shared_resolver(servers) is not shared_resolver(())
