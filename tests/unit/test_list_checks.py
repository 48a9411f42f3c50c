"""The offline parts of list verification: role addresses, disposable domains, what a DNS
answer means for a row, and the VERIFY_EMAILS setting."""

from __future__ import annotations

import pytest

from engine.config import parse_tunable
from engine.leads.disposable import is_disposable
from engine.leads.roles import is_role_address
from engine.leads.verification import Verdict, verdict_of
from engine.mx import MailRoute


@pytest.mark.parametrize(
    "email",
    [
        "info@acme.io",
        "INFO@acme.io",
        "sales@acme.io",
        "support@acme.io",
        "admin@acme.io",
        "noreply@acme.io",
        "no-reply@acme.io",
        "no_reply@acme.io",
        "do-not-reply@acme.io",
        "office@acme.io",
        "contact@acme.io",
        "hello@acme.io",
        "team@acme.io",
        "billing@acme.io",
        "marketing@acme.io",
        "hr@acme.io",
        "jobs@acme.io",
        "postmaster@acme.io",
        "webmaster@acme.io",
        "info+newsletter@acme.io",
        "kontakt@firma.de",
        "ventas@empresa.es",
    ],
)
def test_it_recognises_a_role_address(email: str) -> None:
    assert is_role_address(email)


@pytest.mark.parametrize(
    "email", ["ana@acme.io", "ana.info@acme.io", "infoana@acme.io", "saleswoman@acme.io"]
)
def test_it_takes_a_personal_address_for_a_person(email: str) -> None:
    assert not is_role_address(email)


@pytest.mark.parametrize(
    "domain", ["mailinator.com", "10minutemail.com", "guerrillamail.com", "x.y.mailinator.com"]
)
def test_it_recognises_a_disposable_domain_and_its_subdomains(domain: str) -> None:
    assert is_disposable(domain)


@pytest.mark.parametrize("domain", ["gmail.com", "acme.io", "com", "", "mailinator.com.evil.io"])
def test_it_takes_other_domains_for_real(domain: str) -> None:
    assert not is_disposable(domain)


def test_it_turns_each_dns_answer_into_a_verdict() -> None:
    assert {route: verdict_of(route) for route in MailRoute} == {
        MailRoute.MX: Verdict.OK,
        MailRoute.ADDRESS: Verdict.OK,
        MailRoute.NONE: Verdict.NO_MAIL_SERVER,
        MailRoute.NULL_MX: Verdict.NO_MAIL_SERVER,
        MailRoute.UNKNOWN: Verdict.UNVERIFIED,
    }


def test_it_takes_mx_or_off_for_verify_emails() -> None:
    assert parse_tunable("verify_emails", " MX ") == "mx"
    assert parse_tunable("verify_emails", "off") == "off"
    with pytest.raises(ValueError, match=r"^verify_emails='smtp': use mx .* or off"):
        parse_tunable("verify_emails", "smtp")
