"""A real DNS server for tests: a UDP responder on 127.0.0.1, answering from a table of records.

Tests point a real resolver (``engine.mx.make_resolver([server.address])``) at it instead of
mocking one. ``DnsServer`` answers authoritatively from ``records`` (name → type → values in
zone-file form, e.g. ``{"acme.io": {"MX": ["10 aspmx.l.google.com."]}}``), with:

- NXDOMAIN for a name that has no records and none below it (a name with records only below it
  is an empty non-terminal: NOERROR with no answer, as real servers say);
- NOERROR with no answer (NODATA) for a known name without records of the asked type;
- a CNAME followed within the table, as a recursive resolver would;
- fault switches, thread-safe: ``fail(name, "SERVFAIL")`` answers that rcode, ``silence(name)``
  never answers, ``mute = True`` never answers anything, ``delay`` (seconds) holds every answer
  back that long.

Every query is kept in ``queries`` as ``(name, type)``. ``peak_in_flight`` is the most queries
held at once (received, answer not sent yet; a query never answered is not counted): with a
``delay``, the number of lookups a client really had in flight. UDP only: an answer too big for
the query's payload size is sent truncated (TC), and there is no TCP to retry on.

The pytest fixture ``dns_server`` yields a started, empty server and stops it afterwards.
"""

from __future__ import annotations

import heapq
import select
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

Records = Mapping[str, Mapping[str, Sequence[str]]]

TTL = 300
_MAX_CNAME_HOPS = 8


def _key(name: str | dns.name.Name) -> str:
    """The table's spelling of a name: lower case, absolute (with the trailing dot)."""
    text = name.to_text() if isinstance(name, dns.name.Name) else name
    return text.lower() if text.endswith(".") else text.lower() + "."


class DnsServer:
    """A UDP DNS responder on 127.0.0.1 and a free port; see the module docstring."""

    def __init__(self, records: Records | None = None, *, delay: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, list[str]]] = {}
        self._rcodes: dict[str, dns.rcode.Rcode] = {}
        self._silent: set[str] = set()
        self._delay = delay
        self._mute = False
        self.queries: list[tuple[str, str]] = []
        self.peak_in_flight = 0
        for name, by_type in (records or {}).items():
            for rdtype, values in by_type.items():
                self.add(name, rdtype, *values)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)

    # --- the table and the fault switches (thread-safe) ----------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        host, port = self._sock.getsockname()
        return str(host), int(port)

    def add(self, name: str, rdtype: str, *values: str) -> None:
        """Add records, e.g. ``add("acme.io", "MX", "10 mx1.acme.io.", "20 mx2.acme.io.")``."""
        dns.rdatatype.from_text(rdtype)  # a typo fails here, not in the server thread
        with self._lock:
            self._records.setdefault(_key(name), {}).setdefault(rdtype.upper(), []).extend(values)

    def remove(self, name: str) -> None:
        """Forget every record of ``name`` (it becomes NXDOMAIN unless names below it exist)."""
        with self._lock:
            self._records.pop(_key(name), None)

    def fail(self, name: str, rcode: str = "SERVFAIL") -> None:
        """Answer every query for ``name`` with ``rcode`` (SERVFAIL, REFUSED, …)."""
        with self._lock:
            self._rcodes[_key(name)] = dns.rcode.from_text(rcode)

    def silence(self, name: str) -> None:
        """Never answer a query for ``name``: the client can only time out."""
        with self._lock:
            self._silent.add(_key(name))

    @property
    def mute(self) -> bool:
        with self._lock:
            return self._mute

    @mute.setter
    def mute(self, on: bool) -> None:
        """On: no query gets an answer (a resolver that never answers)."""
        with self._lock:
            self._mute = on

    @property
    def delay(self) -> float:
        with self._lock:
            return self._delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        with self._lock:
            self._delay = seconds

    def queries_for(self, name: str) -> list[str]:
        """The types asked for ``name`` so far, in order."""
        with self._lock:
            return [t for n, t in self.queries if n == _key(name)]

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> DnsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        self._wake_w.send(b"x")
        self._thread.join(timeout=5)
        for sock in (self._sock, self._wake_r, self._wake_w):
            sock.close()

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the server thread ---------------------------------------------------------------------
    def _serve(self) -> None:
        pending: list[tuple[float, int, bytes, Any]] = []  # (due, seq, wire, addr), a heap
        seq = 0
        while not self._stopping:
            now = time.monotonic()
            while pending and pending[0][0] <= now:
                _, _, wire, addr = heapq.heappop(pending)
                self._sock.sendto(wire, addr)
            wait = max(pending[0][0] - now, 0.0) if pending else None
            readable, _, _ = select.select([self._sock, self._wake_r], [], [], wait)
            if self._sock not in readable:
                continue
            data, addr = self._sock.recvfrom(65_535)
            wire = self._answer(data)
            if wire is not None:
                seq += 1
                heapq.heappush(pending, (time.monotonic() + self.delay, seq, wire, addr))
                self.peak_in_flight = max(self.peak_in_flight, len(pending))

    def _answer(self, data: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None  # not a DNS message: a real server drops it too
        if len(query.question) != 1:
            return None
        question = query.question[0]
        name, rdtype = _key(question.name), dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            self.queries.append((name, rdtype))
            if self._mute or name in self._silent:
                return None
            response = self._response(query, question.name, question.rdtype)
        payload = query.payload if query.edns >= 0 else 512
        try:
            return response.to_wire(max_size=max(payload, 512))
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    def _response(
        self, query: dns.message.Message, qname: dns.name.Name, rdtype: int
    ) -> dns.message.Message:
        """The answer to ``qname``/``rdtype`` from the table (called with the lock held)."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA | dns.flags.RA
        name = _key(qname)
        if name in self._rcodes:
            response.set_rcode(self._rcodes[name])
            return response
        wanted = dns.rdatatype.to_text(rdtype)
        for _ in range(_MAX_CNAME_HOPS):
            by_type = self._records.get(name, {})
            if wanted in by_type or "CNAME" not in by_type:
                break
            target = by_type["CNAME"][0]
            response.answer.append(_rrset(name, "CNAME", [target]))
            name = _key(target)
        by_type = self._records.get(name, {})
        if wanted in by_type:
            response.answer.append(_rrset(name, wanted, by_type[wanted]))
        elif not self._exists(name):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response

    def _exists(self, name: str) -> bool:
        return any(key == name or key.endswith("." + name) for key in self._records)


def _rrset(name: str, rdtype: str, values: Sequence[str]) -> dns.rrset.RRset:
    return dns.rrset.from_text_list(name, TTL, dns.rdataclass.IN, rdtype, list(values))


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    """A started ``DnsServer`` with no records: every name is NXDOMAIN until a test adds it."""
    with DnsServer() as server:
        yield server
