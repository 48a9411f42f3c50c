"""engine.mailboxes.presets: a provider recognised by the address's domain, then by its MX."""

from __future__ import annotations

import pytest

from engine.mailboxes.presets import (
    DOMAINS,
    FASTMAIL,
    GMAIL,
    ICLOUD,
    MAIL_RU,
    MICROSOFT_365,
    MX_SUFFIXES,
    OUTLOOK,
    YAHOO,
    YANDEX,
    ZOHO,
    ZOHO_PRO,
    preset_for,
)


@pytest.mark.parametrize(
    ("domain", "preset"),
    [
        ("gmail.com", GMAIL),
        ("googlemail.com", GMAIL),
        ("outlook.com", OUTLOOK),
        ("hotmail.com", OUTLOOK),
        ("hotmail.co.uk", OUTLOOK),
        ("hotmail.fr", OUTLOOK),
        ("live.com", OUTLOOK),
        ("msn.com", OUTLOOK),
        ("yahoo.com", YAHOO),
        ("yahoo.co.uk", YAHOO),
        ("ymail.com", YAHOO),
        ("icloud.com", ICLOUD),
        ("me.com", ICLOUD),
        ("mac.com", ICLOUD),
        ("zoho.com", ZOHO["com"]),
        ("zohomail.eu", ZOHO["eu"]),
        ("fastmail.com", FASTMAIL),
        ("yandex.ru", YANDEX),
        ("yandex.com.tr", YANDEX),
        ("ya.ru", YANDEX),
        ("mail.ru", MAIL_RU),
        ("bk.ru", MAIL_RU),
    ],
)
def test_it_recognises_a_provider_by_the_address_domain(domain: str, preset: object) -> None:
    assert preset_for(domain) == preset


def test_it_takes_an_address_any_case_and_a_trailing_dot() -> None:
    assert preset_for("Sam.Sender@GMail.COM.") == GMAIL


@pytest.mark.parametrize(
    ("mx", "preset"),
    [
        (["aspmx.l.google.com", "alt1.aspmx.l.google.com"], GMAIL),
        (["smtp.google.com."], GMAIL),
        (["ASPMX2.GOOGLEMAIL.COM"], GMAIL),
        (["acme-io.mail.protection.outlook.com"], MICROSOFT_365),
        (["mx01.mail.icloud.com"], ICLOUD),
        (["in1-smtp.messagingengine.com"], FASTMAIL),
        (["mx.yandex.net"], YANDEX),
        (["emx.mail.ru"], MAIL_RU),
        (["mx.zoho.eu", "mx2.zoho.eu"], ZOHO_PRO["eu"]),
        (["mx.zoho.com.au"], ZOHO_PRO["com.au"]),
        (["mx.zoho.com"], ZOHO_PRO["com"]),
    ],
)
def test_it_recognises_a_custom_domain_by_its_mx(mx: list[str], preset: object) -> None:
    assert preset_for("acme.io", mx) == preset


def test_it_uses_the_first_recognised_mx_in_the_order_given() -> None:
    mx = ["mx.unknown.example", "acme.mail.protection.outlook.com", "aspmx.l.google.com"]

    assert preset_for("acme.io", mx) == MICROSOFT_365


def test_it_matches_mx_suffixes_on_label_boundaries_only() -> None:
    assert preset_for("acme.io", ["evilgoogle.com", "google.com.evil.example"]) is None


def test_it_trusts_a_provider_domain_over_its_mx() -> None:
    assert preset_for("gmail.com", ["mx.zoho.com"]) == GMAIL


def test_it_prefers_the_mx_over_a_country_domain_look_alike() -> None:
    # live.io is not Microsoft's; its MX says where its mail really is.
    assert preset_for("live.io", ["aspmx.l.google.com"]) == GMAIL


def test_it_knows_nothing_of_an_unknown_domain() -> None:
    assert preset_for("acme.io") is None
    assert preset_for("acme.io", ["mx.acme.io"]) is None
    assert preset_for("") is None


@pytest.mark.parametrize("domain", ["yahoo.co.jp", "hotmail.example.org", "gmail.co"])
def test_it_does_not_stretch_a_country_domain(domain: str) -> None:
    assert preset_for(domain) is None


def test_it_gives_each_provider_its_documented_servers() -> None:
    assert (GMAIL.smtp_server, GMAIL.smtp_port, GMAIL.smtp_security) == (
        "smtp.gmail.com",
        587,
        "starttls",
    )
    assert (GMAIL.imap_server, GMAIL.imap_port, GMAIL.imap_security) == (
        "imap.gmail.com",
        993,
        "ssl",
    )
    assert (MICROSOFT_365.smtp_server, OUTLOOK.smtp_server) == (
        "smtp.office365.com",
        "smtp-mail.outlook.com",
    )
    assert (YAHOO.smtp_port, YAHOO.smtp_security) == (465, "ssl")
    assert (ZOHO_PRO["eu"].smtp_server, ZOHO_PRO["eu"].imap_server) == (
        "smtppro.zoho.eu",
        "imappro.zoho.eu",
    )


def test_it_pairs_each_port_with_its_security() -> None:
    presets = {*DOMAINS.values(), *MX_SUFFIXES.values()}
    for p in presets:
        assert p.smtp_security == {587: "starttls", 465: "ssl"}[p.smtp_port], p.key
        assert (p.imap_port, p.imap_security) == (993, "ssl"), p.key
    assert len({p.key for p in presets}) == len(presets)
