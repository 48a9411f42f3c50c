"""What every use-case needs: the database, the environment's settings, a clock, randomness and
this process's identity. Built once at start; tests build one with a FakeClock."""

from __future__ import annotations

import os
import random
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.clock import Clock, SystemClock
from engine.config import Settings
from engine.inbox.imap import ImapMailbox, ImapSettings
from engine.intervals import Intervals
from engine.mailboxes.vault import Vault
from engine.sending.smtp import Mailer, SmtpMailer, SmtpSettings
from engine.storage.db import Database


def new_owner_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class EngineContext:
    db: Database
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    rng: random.Random = field(default_factory=random.Random)
    owner: str = field(default_factory=new_owner_id)
    mailer_factory: Callable[[], Mailer] | None = None
    mailbox_factory: Callable[[], ImapMailbox] | None = None
    lease_seconds: int = 180
    intervals: Intervals = field(default_factory=Intervals)
    vault: Vault | None = None  # opens stored mailbox passwords; None without SECRET_KEY

    def __post_init__(self) -> None:
        if self.vault is None and self.settings.secret_key:
            self.vault = Vault(self.settings.secret_key)

    def smtp_settings(self) -> SmtpSettings:
        s = self.settings
        return SmtpSettings(
            host=s.smtp_server,
            port=s.smtp_port,
            security=s.smtp_security,
            username=s.email_address,
            password=s.email_password,
        )

    def imap_settings(self) -> ImapSettings:
        s = self.settings
        return ImapSettings(
            host=s.imap_server,
            port=s.imap_port,
            security=s.imap_security,
            username=s.email_address,
            password=s.email_password,
        )

    def new_mailer(self, smtp: SmtpSettings | None = None) -> Mailer:
        """A mailer for the environment's mailbox, or for the account ``smtp`` logs in as."""
        if self.mailer_factory is not None:
            return self.mailer_factory()
        return SmtpMailer(smtp or self.smtp_settings())

    def new_mailbox(self, imap: ImapSettings | None = None) -> ImapMailbox:
        """An IMAP connection to the environment's mailbox, or to the account ``imap`` logs in
        as."""
        if self.mailbox_factory is not None:
            return self.mailbox_factory()
        return ImapMailbox(imap or self.imap_settings())
