"""MX lookups: one resolver built from DNS_NAMESERVERS, and the mail hosts of a domain.

``make_resolver`` is built once and shared (dnspython's ``Resolver`` may be used from several
threads). ``mx_hosts`` never raises and never waits longer than the resolver's timeout: a
domain that does not exist, has no MX, a null MX (RFC 7505), a server failure or a timeout all
give ``[]``; the callers treat "no MX known" as "nothing recognised".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

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
