"""MX lookups: one resolver built from DNS_NAMESERVERS, the mail hosts of a domain, and
whether a domain can receive mail at all.

``shared_resolver`` builds one resolver per DNS_NAMESERVERS value and shares it (dnspython's
``Resolver`` may be used from several threads). ``mx_hosts`` never raises and never waits longer
than the resolver's timeout: a domain that does not exist, has no MX, a null MX (RFC 7505), a
server failure or a timeout all give ``[]``; the callers treat "no MX known" as "nothing
recognised". ``mail_route`` tells those cases apart, for list verification: "this domain has no
mail server" (NXDOMAIN, a null MX, no MX and no address) is a fact, while a timeout or a server
failure says nothing about the domain.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from enum import StrEnum
from functools import lru_cache

import dns.exception
import dns.name
import dns.nameserver
import dns.rdtypes.ANY.MX
import dns.resolver

log = logging.getLogger(__name__)

# Seconds one lookup may take in all (every server and retry included). Short: a lookup only
# recognises a provider, and the operator is waiting for the answer in the chat.
MX_TIMEOUT = 3.0


def make_resolver(
    nameservers: Sequence[tuple[str, int]] = (), *, timeout: float = MX_TIMEOUT
) -> dns.resolver.Resolver:
    """A resolver asking ``nameservers`` ((address, port), … from DNS_NAMESERVERS), or the
    system's (``/etc/resolv.conf``) when there are none; every lookup ends within ``timeout``
    seconds."""
    if nameservers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(a, p) for a, p in nameservers]
    else:
        try:
            resolver = dns.resolver.Resolver(configure=True)
        except dns.exception.DNSException as e:  # no /etc/resolv.conf, or no server in it
            log.warning("no system DNS resolver (%s): set DNS_NAMESERVERS", type(e).__name__)
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = []
    resolver.lifetime = timeout
    # Half the budget per attempt, so a second server (or a retry) still gets its turn.
    resolver.timeout = timeout / 2
    return resolver


@lru_cache(maxsize=8)
def shared_resolver(nameservers: tuple[tuple[str, int], ...] = ()) -> dns.resolver.Resolver:
    """The one resolver of a DNS_NAMESERVERS value (``Settings.dns_nameservers``): built once,
    so the system's configuration is read once and every lookup shares it."""
    return make_resolver(nameservers)


def mx_hosts(domain: str, resolver: dns.resolver.Resolver) -> list[str]:
    """The mail hosts of ``domain``, most preferred first (lower case, no trailing dot); ``[]``
    when it has none, has a null MX, or the lookup fails or times out."""
    domain = domain.strip().rstrip(".")
    if not domain:
        return []
    try:
        name = dns.name.from_text(domain + ".")
        answer = resolver.resolve(name, "MX", search=False, lifetime=resolver.lifetime)
    except (dns.exception.DNSException, OSError, ValueError) as e:
        # NXDOMAIN, NoAnswer, NoNameservers (SERVFAIL), LifetimeTimeout, a malformed name; a
        # socket error; ValueError covers the encoding of an odd name (UnicodeError).
        log.debug("MX lookup for %r gave nothing: %s", domain[:255], type(e).__name__)
        return []
    records = sorted(
        (r.preference, r.exchange.to_text(omit_final_dot=True).lower())
        for r in answer
        if isinstance(r, dns.rdtypes.ANY.MX.MX)
    )
    return [host for _, host in records if host and host != "."]


class MailRoute(StrEnum):
    """Where mail for a domain goes, as far as DNS says."""

    MX = "mx"  # MX records naming a host
    ADDRESS = "address"  # no MX, but an A or AAAA: the domain itself (RFC 5321 section 5.1)
    NONE = "none"  # the domain does not exist, or has neither MX nor an address
    NULL_MX = "null_mx"  # a single "0 ." MX: the domain says it takes no mail (RFC 7505)
    UNKNOWN = "unknown"  # a timeout or a server failure: nothing learnt

    @property
    def receives_mail(self) -> bool | None:
        """True or False when DNS answered; None when it did not (UNKNOWN)."""
        if self is MailRoute.UNKNOWN:
            return None
        return self in (MailRoute.MX, MailRoute.ADDRESS)


# What a lookup that got no usable answer raised: a timeout, SERVFAIL or REFUSED from every
# server (NoNameservers), a socket error. NXDOMAIN and NoAnswer are answers, caught before.
_NO_ANSWER_KNOWN = (dns.exception.DNSException, OSError)


def mail_route(domain: str, resolver: dns.resolver.Resolver, timeout: float) -> MailRoute:
    """Where mail for ``domain`` goes: its MX, else its A or AAAA (the implicit MX). Never
    raises, and all its queries together end within ``timeout`` seconds (UNKNOWN then)."""
    deadline = time.monotonic() + timeout
    domain = domain.strip().rstrip(".")
    try:
        name = dns.name.from_text(domain + ".")
    except (dns.exception.DNSException, ValueError):
        return MailRoute.NONE  # not a name DNS can hold (an empty or over-long label)
    try:
        answer = _ask(resolver, name, "MX", deadline)
    except dns.resolver.NXDOMAIN:
        return MailRoute.NONE
    except dns.resolver.NoAnswer:
        pass  # no MX: the domain's own address, if it has one, takes mail
    except _NO_ANSWER_KNOWN as e:
        log.debug("MX lookup for %r gave nothing: %s", domain[:255], type(e).__name__)
        return MailRoute.UNKNOWN
    else:
        hosts = [r.exchange for r in answer if isinstance(r, dns.rdtypes.ANY.MX.MX)]
        if any(h != dns.name.root for h in hosts):
            return MailRoute.MX
        if hosts:
            return MailRoute.NULL_MX
    for rdtype in ("A", "AAAA"):
        try:
            _ask(resolver, name, rdtype, deadline)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue
        except _NO_ANSWER_KNOWN as e:
            log.debug("%s lookup for %r gave nothing: %s", rdtype, domain[:255], type(e).__name__)
            return MailRoute.UNKNOWN
        return MailRoute.ADDRESS
    return MailRoute.NONE


def _ask(
    resolver: dns.resolver.Resolver, name: dns.name.Name, rdtype: str, deadline: float
) -> dns.resolver.Answer:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise dns.exception.Timeout(timeout=0.0)
    return resolver.resolve(name, rdtype, search=False, lifetime=remaining)
