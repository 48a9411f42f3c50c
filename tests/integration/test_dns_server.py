"""tests/servers/dns.py answers like a real authoritative server, so later tests can rely on
NXDOMAIN, NODATA, SERVFAIL, silence and delays meaning what they say."""

from __future__ import annotations

import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.servers.dns import DnsServer


def ask(server: DnsServer, name: str, rdtype: str, timeout: float = 2.0) -> dns.message.Message:
    host, port = server.address
    return dns.query.udp(dns.message.make_query(name, rdtype), host, port=port, timeout=timeout)


def answers(response: dns.message.Message) -> list[str]:
    return sorted(rd.to_text() for rrset in response.answer for rd in rrset)


def test_it_answers_mx_a_and_aaaa_records(dns_server: DnsServer) -> None:
    dns_server.add("Acme.io", "MX", "10 mx.acme.io.")
    dns_server.add("mx.acme.io", "A", "192.0.2.10")
    dns_server.add("mx.acme.io", "AAAA", "2001:db8::10")

    assert answers(ask(dns_server, "acme.io", "MX")) == ["10 mx.acme.io."]
    assert answers(ask(dns_server, "MX.ACME.IO", "A")) == ["192.0.2.10"]
    assert answers(ask(dns_server, "mx.acme.io", "AAAA")) == ["2001:db8::10"]
    assert ask(dns_server, "acme.io", "MX").flags & dns.flags.AA


def test_it_takes_its_records_from_a_dict() -> None:
    with DnsServer({"acme.io": {"MX": ["0 ."], "TXT": ['"v=spf1 -all"']}}) as server:
        assert answers(ask(server, "acme.io", "MX")) == ["0 ."]
        assert answers(ask(server, "acme.io", "TXT")) == ['"v=spf1 -all"']


def test_it_says_nxdomain_for_an_unknown_name(dns_server: DnsServer) -> None:
    response = ask(dns_server, "nowhere.example", "MX")

    assert response.rcode() == dns.rcode.NXDOMAIN and not response.answer


def test_it_says_nodata_for_a_known_name_without_that_type(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "A", "192.0.2.1")

    response = ask(dns_server, "acme.io", "MX")

    assert response.rcode() == dns.rcode.NOERROR and not response.answer


def test_it_says_nodata_for_a_name_with_records_only_below_it(dns_server: DnsServer) -> None:
    dns_server.add("mail.acme.io", "MX", "10 mx.acme.io.")

    assert ask(dns_server, "acme.io", "MX").rcode() == dns.rcode.NOERROR


@pytest.mark.parametrize("rcode", ["SERVFAIL", "REFUSED"])
def test_it_answers_a_failure_it_is_told_to(dns_server: DnsServer, rcode: str) -> None:
    dns_server.add("acme.io", "MX", "10 mx.acme.io.")
    dns_server.fail("acme.io", rcode)

    response = ask(dns_server, "acme.io", "MX")

    assert response.rcode() == dns.rcode.from_text(rcode) and not response.answer


def test_it_never_answers_a_silenced_name(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "MX", "10 mx.acme.io.")
    dns_server.silence("acme.io")

    with pytest.raises(dns.exception.Timeout):
        ask(dns_server, "acme.io", "MX", timeout=0.3)
    assert answers(ask(dns_server, "other.io", "MX")) == []  # the others still get answers
    assert dns_server.queries_for("acme.io") == ["MX"]


def test_it_holds_answers_back_by_the_delay(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "MX", "10 mx.acme.io.")
    dns_server.delay = 0.3

    started = time.monotonic()
    response = ask(dns_server, "acme.io", "MX")

    assert answers(response) == ["10 mx.acme.io."]
    assert time.monotonic() - started >= 0.3


def test_it_follows_a_cname_within_its_records(dns_server: DnsServer) -> None:
    dns_server.add("www.acme.io", "CNAME", "acme.io.")
    dns_server.add("acme.io", "A", "192.0.2.1")

    response = ask(dns_server, "www.acme.io", "A")

    assert [dns.rdatatype.to_text(r.rdtype) for r in response.answer] == ["CNAME", "A"]


def test_it_forgets_a_removed_name(dns_server: DnsServer) -> None:
    dns_server.add("acme.io", "MX", "10 mx.acme.io.")
    dns_server.remove("acme.io")

    assert ask(dns_server, "acme.io", "MX").rcode() == dns.rcode.NXDOMAIN


def test_it_refuses_an_unknown_record_type_when_it_is_added(dns_server: DnsServer) -> None:
    with pytest.raises(dns.rdatatype.UnknownRdatatype):
        dns_server.add("acme.io", "MXX", "10 mx.acme.io.")
