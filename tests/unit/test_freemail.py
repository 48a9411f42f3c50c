"""The shipped free-mail list: the big providers and their country domains are free mail;
company domains, even ones that contain a provider's name, are not."""

from __future__ import annotations

import pytest

from engine.freemail import is_free_mail

FREE = [
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.fr",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "gmx.at",
    "web.de",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "protonmail.com",
    "proton.me",
    "pm.me",
    "zoho.com",
    "fastmail.com",
    "fastmail.fm",
    "qq.com",
    "163.com",
    "naver.com",
    "GMAIL.COM",
    " Gmail.com.",
    "ann@gmail.com",
]
COMPANY = [
    "acme.io",
    "gmail-marketing.com",
    "yahoo.company.com",
    "hotmailer.com",
    "mail.acme.com",
    "live-events.de",
    "outlook.acme.com",
    "protonic.de",
    "examplegmail.com",
    "",
]


@pytest.mark.parametrize("domain", FREE)
def test_a_free_mail_domain_is_free_mail(domain: str) -> None:
    assert is_free_mail(domain)


@pytest.mark.parametrize("domain", COMPANY)
def test_a_company_domain_is_not_free_mail(domain: str) -> None:
    assert not is_free_mail(domain)
