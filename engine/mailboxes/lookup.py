"""Finding the mailbox an operator means: by its id (a button) or by its address (a command)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.errors import UserInputError
from engine.states import MailboxSource, MailboxStatus
from engine.storage.models import PRIMARY_MAILBOX, Mailbox

MailboxRef = int | str  # a mailbox's id, or its address


def address_of(row: Mailbox, s: Settings) -> str:
    """The address a mailbox sends from (mailbox 1's is EMAIL_ADDRESS)."""
    return s.email_address if row.source == MailboxSource.ENV else row.email


def find(session: Session, s: Settings, ref: MailboxRef, *, lock: bool = False) -> Mailbox:
    """The mailbox ``ref`` names; UserInputError saying so when there is none."""
    if isinstance(ref, int):
        row = session.get(Mailbox, ref, with_for_update=lock)
        if row is None:
            raise UserInputError("That mailbox no longer exists; /mailboxes lists them.")
        return row
    key = ref.strip().lower()
    if key and key == s.email_address.lower():
        row = session.get(Mailbox, PRIMARY_MAILBOX, with_for_update=lock)
    else:
        stmt = select(Mailbox).where(Mailbox.email_key == key, Mailbox.source != MailboxSource.ENV)
        row = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise UserInputError(
            f"No mailbox {ref.strip()[:100]!r}; /mailboxes lists them, and /mailbox add EMAIL "
            "PASSWORD adds one."
        )
    return row


def refuse_removed(row: Mailbox, s: Settings) -> None:
    """A removed mailbox is kept for its history only; nothing acts on it."""
    if row.state == MailboxStatus.REMOVED:
        raise UserInputError(
            f"{address_of(row, s)} was removed. To use it again, add it again: "
            "/mailbox add EMAIL PASSWORD."
        )
