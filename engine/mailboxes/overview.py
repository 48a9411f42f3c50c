"""What /mailboxes shows of each mailbox: its state, sent today against its cap for today
(ramp-up included), its ramp-up day, its bounce rate and when its replies were last checked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.context import EngineContext
from engine.mailboxes import accounts
from engine.sending.bounce_guard import recent_bounces
from engine.sending.gate import send_counts
from engine.states import MailboxSource, MailboxStatus
from engine.storage import store
from engine.storage.models import Mailbox


@dataclass(frozen=True)
class MailboxView:
    """One mailbox as the operator sees it. ``ramp_day`` is None without ramp-up, else the
    sending day it is on (0: it has sent nothing yet)."""

    id: int
    email: str
    source: MailboxSource
    state: MailboxStatus
    hold: str | None
    hold_detail: str
    smtp: str  # host:port
    imap: str
    sent_today: int
    cap: int  # today's cap: the daily limit, lower while it ramps up
    daily_limit: int
    ramp_day: int | None
    bounced: int  # hard bounces among its first emails of the last 7 days
    first_emails: int
    last_check_at: datetime | None

    @property
    def bounce_rate(self) -> float | None:
        """Hard bounces per first email over the last 7 days; None before any first email."""
        return self.bounced / self.first_emails if self.first_emails else None


def overview(ctx: EngineContext) -> list[MailboxView]:
    """Every mailbox that is not removed, in id order."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        s = store.effective_settings(session, ctx.settings)
        rows = session.scalars(
            select(Mailbox).where(Mailbox.state != MailboxStatus.REMOVED).order_by(Mailbox.id)
        )
        views = []
        for row in rows:
            account = accounts.resolve(row, s, "")  # the password is not needed here
            counts = send_counts(session, now, s, row.id)
            bounced, first = recent_bounces(session, now, row.id)
            views.append(
                MailboxView(
                    id=row.id,
                    email=account.email,
                    source=MailboxSource(row.source),
                    state=MailboxStatus(row.state),
                    hold=row.hold,
                    hold_detail=row.hold_detail or "",
                    smtp=f"{account.smtp.host}:{account.smtp.port}",
                    imap=f"{account.imap.host}:{account.imap.port}",
                    sent_today=counts.sent_today,
                    cap=account.cap(now, s.tz),
                    daily_limit=account.daily_limit,
                    ramp_day=_ramp_day(account, now, s.tz),
                    bounced=bounced,
                    first_emails=first,
                    last_check_at=row.last_check_at,
                )
            )
        return views


def _ramp_day(account: accounts.MailboxAccount, now: datetime, tz: ZoneInfo) -> int | None:
    if account.ramp is None:
        return None
    if account.ramp_started_at is None:
        return 0
    return account.ramp_day(now, tz)
