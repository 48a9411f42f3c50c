"""The sending accounts as the engine uses them: each mailbox row resolved into what sending and
the reply check need (servers, login, cap, sender name, ramp-up), with every "unset" filled in.

Mailbox 1 is the environment's: its address, password and servers are EMAIL_*/SMTP_*/IMAP_*, so
a single-mailbox setup reads exactly what it always read. The others were added from the chat;
their password is decrypted with SECRET_KEY here, and a mailbox whose password cannot be
decrypted (no SECRET_KEY, or a different one) is reported as broken, never used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.config_values import Security
from engine.config_values import ramp_up as parse_ramp_up
from engine.inbox.imap import ImapSettings
from engine.mailboxes.ramp import RampUp, ramp_cap
from engine.mailboxes.vault import Vault, WrongSecretKey
from engine.sending.smtp import SmtpSettings
from engine.states import MailboxSource, MailboxStatus
from engine.storage.models import PRIMARY_MAILBOX, Mailbox


@dataclass(frozen=True)
class MailboxAccount:
    """One mailbox, ready to send from and to read."""

    id: int
    email: str
    smtp: SmtpSettings
    imap: ImapSettings
    daily_limit: int
    sender_name: str
    ramp: RampUp | None
    ramp_started_at: datetime | None
    status: MailboxStatus

    @property
    def is_primary(self) -> bool:
        return self.id == PRIMARY_MAILBOX

    @property
    def may_send(self) -> bool:
        return self.status == MailboxStatus.ACTIVE

    def ramp_day(self, now: datetime, tz: ZoneInfo) -> int:
        """1 on the mailbox's first sending day (local), 2 on the next, …"""
        if self.ramp_started_at is None:
            return 1
        first = self.ramp_started_at.astimezone(tz).date()
        return max(1, (now.astimezone(tz).date() - first).days + 1)

    def cap(self, now: datetime, tz: ZoneInfo) -> int:
        """Today's cap: the daily limit, held lower while the mailbox ramps up."""
        return ramp_cap(self.daily_limit, self.ramp, self.ramp_day(now, tz))

    def settings_for(self, s: Settings, now: datetime) -> Settings:
        """``s`` as this mailbox sends with it: its address and name, its cap for today.
        Everything downstream (templates' {sender_email}, Message-IDs, the From header, the
        cap and pacing) reads the mailbox's values from there."""
        return replace(
            s,
            email_address=self.email,
            sender_name=self.sender_name,
            daily_limit=self.cap(now, s.tz),
        )


def primary(s: Settings) -> MailboxAccount:
    """Mailbox 1 straight from the settings (what every release before mailboxes sent from)."""
    row = Mailbox(id=PRIMARY_MAILBOX, source=MailboxSource.ENV, state=MailboxStatus.ACTIVE)
    return resolve(row, s, s.email_password)


def _security(value: str | None, own_port: int | None, env: Security) -> Security:
    """The row's mode; else one that follows the row's own port (as the environment's follows
    its port); else the environment's."""
    if value:
        return value  # type: ignore[return-value]
    if own_port is None:
        return env
    return "ssl" if own_port in (465, 993) else "starttls"


def resolve(row: Mailbox, s: Settings, password: str) -> MailboxAccount:
    """``row`` with every unset value taken from the settings (the environment's servers)."""
    env = row.source == MailboxSource.ENV
    email = s.email_address if env else row.email
    smtp_port = row.smtp_port or s.smtp_port
    imap_port = row.imap_port or s.imap_port
    smtp_security = _security(row.smtp_security, row.smtp_port, s.smtp_security)
    imap_security = _security(row.imap_security, row.imap_port, s.imap_security)
    ramp = parse_ramp_up(row.ramp_up) if row.ramp_up else s.ramp_up
    return MailboxAccount(
        id=row.id,
        email=email,
        smtp=SmtpSettings(
            host=row.smtp_server or s.smtp_server,
            port=smtp_port,
            security=smtp_security,
            username=email,
            password=password,
        ),
        imap=ImapSettings(
            host=row.imap_server or s.imap_server,
            port=imap_port,
            security=imap_security,
            username=email,
            password=password,
        ),
        daily_limit=row.daily_limit or s.daily_limit,
        sender_name=row.sender_name if row.sender_name is not None else s.sender_name,
        ramp=ramp,
        ramp_started_at=row.ramp_started_at,
        status=MailboxStatus(row.state),
    )


@dataclass(frozen=True)
class Accounts:
    """Every mailbox that is not removed: the usable ones, and those whose password could not
    be decrypted (named in one alert by the caller)."""

    usable: list[MailboxAccount]
    undecryptable: list[Mailbox]

    def by_id(self, mailbox_id: int | None) -> MailboxAccount | None:
        for a in self.usable:
            if a.id == mailbox_id:
                return a
        return None


def load(session: Session, s: Settings, vault: Vault | None) -> Accounts:
    """Every mailbox, resolved (passwords decrypted) in id order."""
    usable: list[MailboxAccount] = []
    broken: list[Mailbox] = []
    rows = session.scalars(
        select(Mailbox).where(Mailbox.state != MailboxStatus.REMOVED).order_by(Mailbox.id)
    )
    for row in rows:
        if row.source == MailboxSource.ENV:
            usable.append(resolve(row, s, s.email_password))
            continue
        try:
            if vault is None or row.password_enc is None:
                raise WrongSecretKey
            password = vault.decrypt(row.password_enc)
        except WrongSecretKey:
            broken.append(row)
            continue
        usable.append(resolve(row, s, password))
    return Accounts(usable, broken)


def one(session: Session, s: Settings, mailbox_id: int) -> MailboxAccount:
    """One mailbox's sending values (address, name, cap, ramp-up); the password is not read."""
    row = session.get(Mailbox, mailbox_id)
    if row is None:
        if mailbox_id != PRIMARY_MAILBOX:
            raise LookupError(f"no mailbox {mailbox_id}")
        return primary(s)
    return resolve(row, s, s.email_password if row.source == MailboxSource.ENV else "")


def started_sending(session: Session, mailbox_id: int, now: datetime) -> None:
    """The mailbox's first email: its ramp-up counts its days from today."""
    session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id, Mailbox.ramp_started_at.is_(None))
        .values(ramp_started_at=now)
    )
