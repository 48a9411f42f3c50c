"""Which mailboxes the reply check reads, which addresses are ours, and what each mailbox's
check came to.

Every mailbox that is not removed is read, paused ones too: a reply to a paused mailbox's lead
must still stop that lead's sequence. A message from any of our addresses is our own, whichever
mailbox it turns up in.

With one mailbox (the environment's) the check is what it always was: a failure fails the job,
and the job's bookkeeping alerts after :data:`IMAP_ALERT_AFTER` failing runs
(``engine.scheduler``). With several, one mailbox whose IMAP fails must not stop the others:
its failures are counted on its own alert (``AlertCondition.IMAP``, scope ``mailbox:N``, its
address in the payload), raised after :data:`IMAP_ALERT_AFTER` in a row and cleared by its next
good check.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import notify
from engine.config import Settings
from engine.context import EngineContext
from engine.mailboxes import accounts
from engine.mailboxes.accounts import MailboxAccount
from engine.states import AlertCondition, MailboxSource
from engine.storage import store
from engine.storage.models import Mailbox

IMAP_ALERT_AFTER = 3  # failing checks in a row before the admins hear of it
_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def one_at_a_time(mailbox_id: int) -> threading.Lock:
    """The lock held while a mailbox is read: the poll and its IDLE watcher never read the same
    mailbox at once in this process."""
    with _locks_guard:
        return _locks.setdefault(mailbox_id, threading.Lock())


@dataclass(frozen=True)
class Plan:
    """The mailboxes to read, in id order, and every address of ours (lower-cased)."""

    accounts: list[MailboxAccount]
    own_addresses: frozenset[str]

    @property
    def single(self) -> bool:
        """Only the environment's mailbox: failures are the job's, as before mailboxes."""
        return len(self.accounts) == 1 and self.accounts[0].is_primary


def plan(ctx: EngineContext) -> Plan:
    with ctx.db.transaction() as session:
        s = store.effective_settings(session, ctx.settings)
        found = accounts.load(session, s, ctx.vault)
        return Plan(found.usable, own_addresses(session, s))


def own_addresses(session: Session, s: Settings) -> frozenset[str]:
    """The environment's address and every mailbox's, removed ones too: a message from an
    address we sent from is ours."""
    added = session.scalars(select(Mailbox.email_key).where(Mailbox.source != MailboxSource.ENV))
    return frozenset(a for a in (s.email_address.lower(), *added) if a)


def scope(account: MailboxAccount) -> str:
    return f"mailbox:{account.id}"


def checked(ctx: EngineContext, account: MailboxAccount) -> None:
    """The mailbox was read: when, and its failures (and alert, if raised) are over."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = session.get(Mailbox, account.id, with_for_update=True)
        if row is not None:
            row.last_check_at = now
        notify.works_again(
            session,
            now,
            AlertCondition.IMAP,
            {"mailbox": account.email, "mailbox_id": account.id},
            scope=scope(account),
        )


def failed(
    ctx: EngineContext, account: MailboxAccount, error: str, *, after: int = IMAP_ALERT_AFTER
) -> bool:
    """One more failing check of this mailbox; True if that raised its alert."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        return notify.failed_in_a_row(
            session,
            now,
            AlertCondition.IMAP,
            {
                "mailbox": account.email,
                "mailbox_id": account.id,
                "failures": after,
                "error": error,
            },
            scope=scope(account),
            after=after,
        )
