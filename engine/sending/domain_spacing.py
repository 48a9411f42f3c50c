"""Per-domain spacing: at most MAX_PER_DOMAIN_PER_DAY first emails a day to one recipient
domain, across every mailbox and campaign. Cold email to many people at one company on one day
trips that company's filters and reads like a blast; the held-back leads go first on later days
while leads at other domains go now. Free-mail domains (gmail.com, …) are people, not
companies: they are exempt.

A claim counts the domain's first emails since the day began (the day of TIMEZONE, as the caps'),
adds its own as it takes them, and moves a lead whose domain is full to the next day's start.
On PostgreSQL the count and the take run under a transaction-scoped advisory lock on the domain,
so two mailboxes claiming at once cannot both take the fifth place."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine.freemail import is_free_mail
from engine.sending.gate import COUNTED_STATES
from engine.sending.pacing import day_start
from engine.states import MessageKind
from engine.storage.models import QUEUE_NEW, Lead, OutboundMessage

_LOCK_SPACE = 0x5DAC_0000_0000  # keeps these advisory locks apart from the service's others


def _first_emails(session: Session, domain: str, since: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .join(Lead, Lead.id == OutboundMessage.lead_id)
            .where(
                Lead.domain == domain,
                OutboundMessage.kind == MessageKind.INITIAL,
                OutboundMessage.attempted_at >= since,
                OutboundMessage.state.in_(COUNTED_STATES),
            )
        )
        or 0
    )


def next_day(now: datetime, tz: ZoneInfo) -> datetime:
    """The start of the next local day (right across clock changes)."""
    return day_start(day_start(now, tz) + timedelta(hours=25), tz)


class DomainSpacing:
    """One claim's view of the domains' first emails today."""

    def __init__(self, session: Session, now: datetime, tz: ZoneInfo, cap: int) -> None:
        self.session = session
        self.cap = cap
        self.since = day_start(now, tz)
        self.tomorrow = next_day(now, tz)
        self.counts: dict[str, int] = {}
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def applies(self, domain: str) -> bool:
        return self.cap > 0 and bool(domain) and not is_free_mail(domain)

    def take(self, domain: str) -> bool:
        """Count one first email to ``domain`` if today's cap leaves room; False when full."""
        if domain not in self.counts:
            if self.postgres:
                key = _LOCK_SPACE + zlib.crc32(domain.encode())
                self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            self.counts[domain] = _first_emails(self.session, domain, self.since)
        if self.counts[domain] >= self.cap:
            return False
        self.counts[domain] += 1
        return True


def waiting(session: Session, now: datetime, tz: ZoneInfo, cap: int) -> int:
    """Leads not yet written to whose domain had its cap of first emails today: what /status
    reports as waiting for per-domain spacing."""
    if cap <= 0:
        return 0
    since = day_start(now, tz)
    full = [
        d
        for d, n in session.execute(
            select(Lead.domain, func.count())
            .select_from(OutboundMessage)
            .join(Lead, Lead.id == OutboundMessage.lead_id)
            .where(
                OutboundMessage.kind == MessageKind.INITIAL,
                OutboundMessage.attempted_at >= since,
                OutboundMessage.state.in_(COUNTED_STATES),
            )
            .group_by(Lead.domain)
            .having(func.count() >= cap)
        )
        if not is_free_mail(d)
    ]
    if not full:
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(Lead)
            .where(Lead.queue == QUEUE_NEW, Lead.mailbox_id.is_(None), Lead.domain.in_(full))
        )
        or 0
    )
