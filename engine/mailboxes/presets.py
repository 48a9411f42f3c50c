"""Well-known mail providers: their SMTP and IMAP servers, so adding a mailbox needs only the
address and the password.

A provider is recognised by the address's domain first (gmail.com, icloud.com, …), then by
the domain's MX hosts (a company domain on Google Workspace has MX ``aspmx.l.google.com`` or
``smtp.google.com``, one on Microsoft 365 ``*.mail.protection.outlook.com``), then as a
provider's country domain (hotmail.co.uk, yahoo.fr). Pure: the caller looks the MX hosts up
(``engine.mx.mx_hosts``).

The values are the providers' documented endpoints: SMTP submission on the port each provider
recommends (587 with STARTTLS or 465 with implicit TLS), IMAP with implicit TLS on 993.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from engine.config_values import Security


@dataclass(frozen=True)
class Preset:
    """The servers of one provider."""

    key: str  # a stable name: "gmail", "microsoft365", "zoho-eu", …
    name: str  # what the operator reads: "Gmail / Google Workspace"
    smtp_server: str
    smtp_port: int
    smtp_security: Security
    imap_server: str
    imap_port: int
    imap_security: Security


def _preset(key: str, name: str, smtp: str, imap: str) -> Preset:
    """``smtp``/``imap`` as ``host:port`` (465 and 993 are implicit TLS, 587 STARTTLS)."""
    smtp_host, smtp_port = smtp.split(":")
    imap_host, imap_port = imap.split(":")
    return Preset(
        key=key,
        name=name,
        smtp_server=smtp_host,
        smtp_port=int(smtp_port),
        smtp_security="starttls" if smtp_port == "587" else "ssl",
        imap_server=imap_host,
        imap_port=int(imap_port),
        imap_security="ssl",
    )


GMAIL = _preset("gmail", "Gmail / Google Workspace", "smtp.gmail.com:587", "imap.gmail.com:993")
OUTLOOK = _preset(
    "outlook", "Outlook.com", "smtp-mail.outlook.com:587", "outlook.office365.com:993"
)
MICROSOFT_365 = _preset(
    "microsoft365", "Microsoft 365", "smtp.office365.com:587", "outlook.office365.com:993"
)
YAHOO = _preset("yahoo", "Yahoo Mail", "smtp.mail.yahoo.com:465", "imap.mail.yahoo.com:993")
ICLOUD = _preset("icloud", "iCloud Mail", "smtp.mail.me.com:587", "imap.mail.me.com:993")
FASTMAIL = _preset("fastmail", "Fastmail", "smtp.fastmail.com:465", "imap.fastmail.com:993")
YANDEX = _preset("yandex", "Yandex Mail", "smtp.yandex.ru:465", "imap.yandex.ru:993")
MAIL_RU = _preset("mailru", "Mail.ru", "smtp.mail.ru:465", "imap.mail.ru:993")

# Zoho runs one data centre per region, with its own host names. Personal addresses
# (@zoho.com, @zohomail.eu …) use smtp./imap.; addresses on the organisation's own domain use
# smtppro./imappro. of the region its MX points at.
ZOHO_REGIONS = ("com", "eu", "in", "com.au", "jp")
ZOHO = {
    region: _preset(
        "zoho" if region == "com" else f"zoho-{region.replace('.', '-')}",
        f"Zoho Mail (zoho.{region})",
        f"smtp.zoho.{region}:465",
        f"imap.zoho.{region}:993",
    )
    for region in ZOHO_REGIONS
}
ZOHO_PRO = {
    region: _preset(
        f"{preset.key}-pro",
        f"Zoho Mail for organisations (zoho.{region})",
        f"smtppro.zoho.{region}:465",
        f"imappro.zoho.{region}:993",
    )
    for region, preset in ZOHO.items()
}

# Address domains, matched exactly.
DOMAINS: dict[str, Preset] = {
    "gmail.com": GMAIL,
    "googlemail.com": GMAIL,
    "outlook.com": OUTLOOK,
    "hotmail.com": OUTLOOK,
    "live.com": OUTLOOK,
    "msn.com": OUTLOOK,
    "windowslive.com": OUTLOOK,
    "yahoo.com": YAHOO,
    "ymail.com": YAHOO,
    "rocketmail.com": YAHOO,
    "icloud.com": ICLOUD,
    "me.com": ICLOUD,
    "mac.com": ICLOUD,
    "fastmail.com": FASTMAIL,
    "fastmail.fm": FASTMAIL,
    "yandex.ru": YANDEX,
    "yandex.com": YANDEX,
    "ya.ru": YANDEX,
    "mail.ru": MAIL_RU,
    "inbox.ru": MAIL_RU,
    "list.ru": MAIL_RU,
    "bk.ru": MAIL_RU,
    "internet.ru": MAIL_RU,
    **{f"zoho.{r}": p for r, p in ZOHO.items()},
    **{f"zohomail.{r}": p for r, p in ZOHO.items()},
}

# The same providers' country domains: "hotmail" followed by a country ending (hotmail.co.uk,
# hotmail.fr, yahoo.com.br …). Tried after the MX hosts, so a company that merely owns
# live.io and hosts its mail elsewhere is recognised by its MX instead.
COUNTRY_DOMAINS: dict[str, Preset] = {
    "outlook": OUTLOOK,
    "hotmail": OUTLOOK,
    "live": OUTLOOK,
    "yahoo": YAHOO,
    "yandex": YANDEX,
}
# Domains that look like one of those but belong to another service.
NOT_COUNTRY_DOMAINS = frozenset({"yahoo.co.jp"})  # Yahoo! JAPAN: its own servers

# MX host suffixes of a domain hosted by a provider (a host matches its suffix exactly or as
# a subdomain). Yahoo is left out: yahoodns.net also serves AOL and Yahoo's business mail,
# which use other servers.
MX_SUFFIXES: dict[str, Preset] = {
    "google.com": GMAIL,  # aspmx.l.google.com, alt1.aspmx.l.google.com, smtp.google.com
    "googlemail.com": GMAIL,  # aspmx2.googlemail.com
    "mail.protection.outlook.com": MICROSOFT_365,
    "olc.protection.outlook.com": OUTLOOK,  # Outlook.com's own domains: hotmail.co.uk …
    "mail.icloud.com": ICLOUD,  # iCloud+ custom domains: mx01.mail.icloud.com
    "messagingengine.com": FASTMAIL,  # in1-smtp.messagingengine.com
    "mx.yandex.net": YANDEX,  # Yandex 360 for business
    "mx.yandex.ru": YANDEX,
    "mail.ru": MAIL_RU,  # emx.mail.ru (VK WorkMail), mxs.mail.ru
    **{f"zoho.{r}": p for r, p in ZOHO_PRO.items()},  # mx.zoho.eu, mx2.zoho.com …
}

# The ending of a country domain: one or two short labels (com, co.uk, com.br, fr).
_COUNTRY_ENDING = re.compile(r"[a-z]{2,3}(?:\.[a-z]{2,3})?")


def _normalise(host: str) -> str:
    return host.strip().rpartition("@")[2].rstrip(".").lower()


def _by_country_domain(domain: str) -> Preset | None:
    first, _, ending = domain.partition(".")
    if domain in NOT_COUNTRY_DOMAINS or not _COUNTRY_ENDING.fullmatch(ending):
        return None
    return COUNTRY_DOMAINS.get(first)


def _by_mx(host: str) -> Preset | None:
    labels = host.split(".")
    for i in range(len(labels)):
        preset = MX_SUFFIXES.get(".".join(labels[i:]))
        if preset is not None:
            return preset
    return None


def preset_for(domain: str, mx_hosts: Sequence[str] = ()) -> Preset | None:
    """The provider of an address at ``domain`` (an address is accepted too): by the domain
    itself, else by its MX hosts in the order given (most preferred first), else as a country
    domain of a provider (hotmail.co.uk); None when nothing is known."""
    domain = _normalise(domain)
    if domain in DOMAINS:
        return DOMAINS[domain]
    for host in mx_hosts:
        preset = _by_mx(_normalise(host))
        if preset is not None:
            return preset
    return _by_country_domain(domain)
