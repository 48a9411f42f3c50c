"""Disposable-address services (mailinator.com, 10minutemail.com, …): an address there is gone
within hours, so an import skips it.

The list is the maintained ``disposable-email-domains`` package (pinned in requirements.txt).
Its ~10,000 names are loaded on the first check, when an import runs, not when the process
starts: a bot that imports nothing never pays for them (bench/RESULTS.md has the measured cost).
"""

from __future__ import annotations

import threading
from collections.abc import Set

__all__ = ["is_disposable"]

_lock = threading.Lock()
_blocklist: Set[str] | None = None


def _names() -> Set[str]:
    global _blocklist
    if _blocklist is None:
        with _lock:
            if _blocklist is None:
                from disposable_email_domains import blocklist  # the package's own set

                _blocklist = blocklist
    return _blocklist


def is_disposable(domain: str) -> bool:
    """True when ``domain`` (lower case, no trailing dot), or a domain it is under, is a
    disposable-address service (``x.mailinator.com`` is mailinator's too)."""
    names = _names()
    domain = domain.rstrip(".")
    while "." in domain:
        if domain in names:
            return True
        domain = domain.partition(".")[2]
    return False
