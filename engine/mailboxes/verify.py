"""Before a mailbox is saved: where its servers are, and whether its password logs in.

Servers not given come from the provider's preset (``engine.mailboxes.presets``): by the
address's domain when it is a known provider's (gmail.com, …), else by the domain's MX hosts
(a company domain on Google Workspace or Microsoft 365). With no preset either, they stay unset
and the mailbox uses the environment's SMTP_*/IMAP_* servers.

The check logs in to SMTP (connect, EHLO, STARTTLS, AUTH; no email is sent) and then to IMAP,
and reports which login failed with the server's own words. Neither the password nor anything
derived from it appears in those words (the transports mask it).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.config import Settings
from engine.errors import SendError
from engine.inbox.imap import ImapMailbox
from engine.mailboxes.accounts import MailboxAccount
from engine.mailboxes.presets import DOMAINS, Preset, preset_for
from engine.mx import mx_hosts, shared_resolver
from engine.sending.smtp import SmtpMailer

Login = Literal["smtp", "imap"]


@dataclass(frozen=True)
class LoginFailure:
    """Which login failed, and what the server (or the network) said."""

    login: Login
    words: str


def provider_of(domain: str, s: Settings) -> Preset | None:
    """The provider of an address at ``domain``: a known provider's domain without any lookup,
    else by the domain's MX hosts (looked up with DNS_NAMESERVERS); None when unknown."""
    domain = domain.strip().rstrip(".").lower()
    known = DOMAINS.get(domain)
    if known is not None:
        return known
    return preset_for(domain, mx_hosts(domain, shared_resolver(s.dns_nameservers)))


def fill_servers(values: MutableMapping[str, Any], domain: str, s: Settings) -> str | None:
    """Set the unset server values (a side whose server is given keeps its own values) from the
    provider's preset; returns the provider's name when one was used."""
    if values.get("smtp_server") and values.get("imap_server"):
        return None
    preset = provider_of(domain, s)
    if preset is None:
        return None
    for side in ("smtp", "imap"):
        if values.get(f"{side}_server"):
            continue
        values[f"{side}_server"] = getattr(preset, f"{side}_server")
        for key in (f"{side}_port", f"{side}_security"):
            if values.get(key) is None:
                values[key] = getattr(preset, key)
    return preset.name


def verify_logins(account: MailboxAccount) -> LoginFailure | None:
    """Log in to the account's SMTP server, then to its IMAP server; the first that fails, or
    None when both work. Sends nothing and changes nothing in the mailbox."""
    try:
        SmtpMailer(account.smtp).verify_login()
    except SendError as e:
        return LoginFailure("smtp", e.text)
    try:
        with ImapMailbox(account.imap):
            pass
    except SendError as e:
        return LoginFailure("imap", e.text)
    return None
