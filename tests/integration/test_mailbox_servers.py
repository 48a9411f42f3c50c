"""Where an added mailbox's servers come from (engine.mailboxes.verify.fill_servers), against a real
DNS server: a known provider's domain without any lookup, a company domain by its MX hosts, an
unknown one left to SMTP_*/IMAP_*, and a server given by the operator kept with its own values."""

from __future__ import annotations

from typing import Any

from engine.config import Settings
from engine.mailboxes.verify import fill_servers
from tests.conftest import make_settings
from tests.servers.dns import DnsServer


def settings_for(server: DnsServer) -> Settings:
    host, port = server.address
    return make_settings(DNS_NAMESERVERS=f"{host}:{port}")


def unset() -> dict[str, Any]:
    keys = ("server", "port", "security")
    return {f"{side}_{k}": None for side in ("smtp", "imap") for k in keys}


def test_a_known_providers_domain_needs_no_lookup(dns_server: DnsServer) -> None:
    values = unset()

    provider = fill_servers(values, "gmail.com", settings_for(dns_server))

    assert provider == "Gmail / Google Workspace"
    assert (values["smtp_server"], values["smtp_port"], values["smtp_security"]) == (
        "smtp.gmail.com",
        587,
        "starttls",
    )
    assert (values["imap_server"], values["imap_port"], values["imap_security"]) == (
        "imap.gmail.com",
        993,
        "ssl",
    )
    assert dns_server.queries_for("gmail.com") == []


def test_a_company_domain_is_recognised_by_its_mx(dns_server: DnsServer) -> None:
    dns_server.add("contoso.de", "MX", "0 contoso-de.mail.protection.outlook.com.")
    values = unset()

    provider = fill_servers(values, "contoso.de", settings_for(dns_server))

    assert provider == "Microsoft 365"
    assert values["smtp_server"] == "smtp.office365.com"
    assert dns_server.queries_for("contoso.de") == ["MX"]


def test_an_unknown_domain_keeps_the_environments_servers(dns_server: DnsServer) -> None:
    dns_server.add("acme.test", "MX", "10 mx.acme.test.")
    values = unset()

    assert fill_servers(values, "acme.test", settings_for(dns_server)) is None
    assert values == unset()  # resolved later from SMTP_*/IMAP_*


def test_a_server_the_operator_gave_keeps_its_own_port_and_the_other_side_is_filled(
    dns_server: DnsServer,
) -> None:
    values = {**unset(), "smtp_server": "relay.acme.io", "imap_port": 1993}

    fill_servers(values, "gmail.com", settings_for(dns_server))

    assert (values["smtp_server"], values["smtp_port"]) == ("relay.acme.io", None)
    assert (values["imap_server"], values["imap_port"], values["imap_security"]) == (
        "imap.gmail.com",
        1993,
        "ssl",
    )


def test_no_lookup_when_both_servers_are_given(dns_server: DnsServer) -> None:
    values = {**unset(), "smtp_server": "a.acme.io", "imap_server": "b.acme.io"}

    assert fill_servers(values, "acme.io", settings_for(dns_server)) is None
    assert dns_server.queries_for("acme.io") == []
