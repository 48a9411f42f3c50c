"""List verification: what an upload's addresses are checked against before they become leads.

- Each distinct domain is looked up in DNS once (``VERIFY_EMAILS=mx``): no mail server at all
  (``engine.mx.MailRoute``: NXDOMAIN, a null MX, neither MX nor address) makes its rows invalid;
  a timeout or a server failure only makes them "unverified", and they are imported.
- A disposable-address domain (``engine.leads.disposable``) is skipped without a lookup.
- A role address (``engine.leads.roles``) is imported with a warning.

The lookups run once the file is read and before the import's transaction starts, on at most
``LOOKUPS_IN_FLIGHT`` threads, and all of them end within a time budget: a resolver that never
answers costs the budget, never a stalled import, and no transaction waits for DNS.

They are not started while the file is read: parsing is CPU-bound Python, and so is a lookup's
message work (~0.35 ms of dnspython a query), under the same GIL. Measured, lookups during the
parse slowed it by their own CPU time and saved no total time (bench/RESULTS.md, part 9).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from engine import mx
from engine.config import Settings
from engine.intervals import Intervals
from engine.leads.disposable import is_disposable

__all__ = [
    "LOOKUPS_IN_FLIGHT",
    "DomainLookups",
    "DomainProgress",
    "FlaggedRow",
    "ListChecks",
    "Lookup",
    "Verdict",
    "dns_lookup",
    "look_up_all",
    "no_mail_server",
    "verdict_of",
]

log = logging.getLogger(__name__)

#: Lookups in flight at once. Enough to check 10,000 domains within 30 s at 20 ms an answer
#: (bench/verify.py), few enough not to flood a home router's resolver.
LOOKUPS_IN_FLIGHT = 32

#: How often a waiting caller hears how many domains are done (seconds).
PROGRESS_EVERY = 1.0

#: ``(domain, seconds it may take) -> where its mail goes``: ``engine.mx.mail_route`` on the
#: shared resolver in production (``dns_lookup``); it must end within the seconds given.
Lookup = Callable[[str, float], mx.MailRoute]

#: ``(domains done, domains in all)``, called from the worker thread of the caller.
DomainProgress = Callable[[int, int], None]


class Verdict(StrEnum):
    """What one domain means for its rows."""

    OK = "ok"  # a mail server answers for it (or VERIFY_EMAILS=off): imported
    NO_MAIL_SERVER = "no_mail_server"  # invalid, not imported
    UNVERIFIED = "unverified"  # DNS gave no answer in time: imported, counted
    DISPOSABLE = "disposable"  # a disposable-address service: skipped


_BY_ROUTE = {
    mx.MailRoute.MX: Verdict.OK,
    mx.MailRoute.ADDRESS: Verdict.OK,
    mx.MailRoute.NONE: Verdict.NO_MAIL_SERVER,
    mx.MailRoute.NULL_MX: Verdict.NO_MAIL_SERVER,
    mx.MailRoute.UNKNOWN: Verdict.UNVERIFIED,
}


def verdict_of(route: mx.MailRoute) -> Verdict:
    return _BY_ROUTE[route]


def no_mail_server(domain: str) -> str:
    """The reason stored with a row or a lead whose domain has no mail server."""
    return f"no mail server for {domain}"


@dataclass(frozen=True, slots=True)
class FlaggedRow:
    """A row an import counted under one of the checks: its line in the file and address."""

    line: int
    email: str


def dns_lookup(settings: Settings) -> Lookup:
    """The production lookup: ``mail_route`` on the shared resolver of DNS_NAMESERVERS."""
    resolver = mx.shared_resolver(settings.dns_nameservers)

    def lookup(domain: str, timeout: float) -> mx.MailRoute:
        return mx.mail_route(domain, resolver, timeout)

    return lookup


class DomainLookups:
    """Looks domains up on at most ``concurrency`` threads, started as domains come in. Every
    lookup ends within ``budget`` seconds of this object's creation and within ``timeout``
    seconds of its own start; one not done by the budget's end counts as UNKNOWN."""

    def __init__(
        self,
        lookup: Lookup,
        *,
        budget: float,
        timeout: float,
        concurrency: int = LOOKUPS_IN_FLIGHT,
    ) -> None:
        self._lookup = lookup
        self._deadline = time.monotonic() + budget
        self._timeout = timeout
        self._concurrency = max(1, concurrency)
        self._todo: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._wanted: list[str] = []
        self._seen: set[str] = set()
        self._routes: dict[str, mx.MailRoute] = {}
        self._done = threading.Condition()
        self._total: int | None = None  # set when the caller starts waiting
        self._cancelled = False
        self._workers: list[threading.Thread] = []
        self.waited = 0.0  # seconds ``wait`` blocked for

    def add(self, domain: str) -> None:
        """Look ``domain`` up (once, however often it is added)."""
        if domain in self._seen:
            return
        self._seen.add(domain)
        self._wanted.append(domain)
        self._todo.put(domain)
        if len(self._workers) < self._concurrency:
            worker = threading.Thread(
                target=self._work, name=f"verify-{len(self._workers)}", daemon=True
            )
            self._workers.append(worker)
            worker.start()

    def _work(self) -> None:
        while (domain := self._todo.get()) is not None:
            remaining = self._deadline - time.monotonic()
            route = mx.MailRoute.UNKNOWN
            if remaining > 0 and not self._cancelled:
                try:
                    route = self._lookup(domain, min(self._timeout, remaining))
                except Exception:  # a lookup must not take its thread down: nothing learnt
                    log.exception("lookup of %r failed", domain[:255])
            with self._done:
                self._routes[domain] = route
                if self._total is not None and len(self._routes) >= self._total:
                    self._done.notify_all()

    def __len__(self) -> int:
        """Domains added so far."""
        return len(self._wanted)

    def wait(self, progress: DomainProgress | None = None) -> dict[str, mx.MailRoute]:
        """Every domain added, with where its mail goes: UNKNOWN for those the budget did not
        reach. Returns by the budget's end at the latest; ``progress`` hears how many are done
        now and then (from this thread)."""
        started = time.monotonic()
        total = len(self._wanted)
        with self._done:
            self._total = total
        while True:
            with self._done:
                done = len(self._routes)
                left = self._deadline - time.monotonic()
                finished = done >= total or left <= 0
            if progress is not None and total:
                progress(done, total)
            if finished:
                break
            with self._done:
                if len(self._routes) < total:
                    self._done.wait(min(left, PROGRESS_EVERY))
        with self._done:
            routes = dict(self._routes)
        self.close()
        self.waited = time.monotonic() - started
        return {d: routes.get(d, mx.MailRoute.UNKNOWN) for d in self._wanted}

    def close(self) -> None:
        """Stop: domains not looked up yet are not, and the threads end (one in the middle of
        a lookup ends with it, within its timeout). Closing twice is harmless."""
        if self._cancelled:
            return
        self._cancelled = True
        for _ in self._workers:
            self._todo.put(None)


class ListChecks:
    """The checks of one upload: ``verdicts`` looks its domains up and says what each means."""

    def __init__(self, lookups: DomainLookups | None) -> None:
        self._lookups = lookups  # None: VERIFY_EMAILS=off, no DNS lookup at all

    @classmethod
    def for_upload(cls, settings: Settings, intervals: Intervals) -> ListChecks:
        """The checks VERIFY_EMAILS asks for, with the budget and timeouts of ``intervals``
        (the budget counts from here)."""
        if settings.verify_emails != "mx":
            return cls(None)
        return cls(
            DomainLookups(
                dns_lookup(settings),
                budget=intervals.verify_budget,
                timeout=intervals.verify_lookup,
            )
        )

    @property
    def looked_up(self) -> int:
        """Domains sent to DNS."""
        return 0 if self._lookups is None else len(self._lookups)

    @property
    def waited(self) -> float:
        """Seconds ``verdicts`` waited for DNS."""
        return 0.0 if self._lookups is None else self._lookups.waited

    def verdicts(
        self, domains: Iterable[str], progress: DomainProgress | None = None
    ) -> dict[str, Verdict]:
        """The domains of ``domains`` that are not simply OK, with their verdict. Disposable
        ones are not looked up: they are skipped whatever DNS says."""
        found: dict[str, Verdict] = {}
        for domain in domains:
            if is_disposable(domain):
                found[domain] = Verdict.DISPOSABLE
            elif self._lookups is not None:
                self._lookups.add(domain)
        if self._lookups is not None:
            for domain, route in self._lookups.wait(progress).items():
                verdict = verdict_of(route)
                if verdict is not Verdict.OK:
                    found[domain] = verdict
        return found

    def close(self) -> None:
        if self._lookups is not None:
            self._lookups.close()


def look_up_all(
    domains: Iterable[str],
    lookup: Lookup,
    intervals: Intervals,
    progress: DomainProgress | None = None,
) -> dict[str, Verdict]:
    """Every domain of ``domains`` with its verdict (for /verify: no disposable check)."""
    lookups = DomainLookups(lookup, budget=intervals.verify_budget, timeout=intervals.verify_lookup)
    try:
        for domain in domains:
            lookups.add(domain)
        return {d: verdict_of(r) for d, r in lookups.wait(progress).items()}
    finally:
        lookups.close()
