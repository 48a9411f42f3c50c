"""The inbox mark of one mailbox's folder: ``(UIDVALIDITY, last UID handled)``, keyed by
``(mailbox, folder)`` (table ``imap_marks``).

A check reads from the mark on; each message advances it in the same transaction as what the
message changed (:func:`advance`). A changed UIDVALIDITY means the folder's UIDs start over: the
folder is read again from the top, and the unique inbound Message-ID makes that a no-op for
what was seen before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.inbox.imap import ImapMailbox
from engine.storage import store
from engine.storage.models import PRIMARY_MAILBOX, ImapSync, OutboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Start:
    """Where a check of a folder starts: after ``last_uid``; ``restarted`` when UIDVALIDITY
    changed and the folder is read again from the top."""

    last_uid: int
    restarted: bool = False


def start(
    ctx: EngineContext, mailbox_id: int, folder: str, uidvalidity: int, mailbox: ImapMailbox
) -> Start:
    """The mark of ``(mailbox_id, folder)``, made on the mailbox's first check."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = session.get(ImapSync, (mailbox_id, folder), with_for_update=True)
        if row is None:
            # First check: replies can only answer emails this mailbox has sent. Before its
            # first send there is nothing to answer, so start at the top; after it, read all.
            first = 0
            if not sent_any(session, mailbox_id):
                uids = mailbox.new_uids(0)
                first = uids[-1] if uids else 0
            session.add(
                ImapSync(
                    mailbox_id=mailbox_id,
                    folder=folder,
                    uidvalidity=uidvalidity,
                    last_uid=first,
                    updated_at=now,
                )
            )
            return Start(first)
        if row.uidvalidity != uidvalidity:
            log.warning(
                "UIDVALIDITY of mailbox %d's %s changed; reading it again (deduplicated)",
                mailbox_id,
                folder,
            )
            row.uidvalidity = uidvalidity
            row.last_uid = 0
            row.updated_at = now
            return Start(0, restarted=True)
        return Start(row.last_uid)


def sent_any(session: Session, mailbox_id: int) -> bool:
    """Has this mailbox ever sent (or tried to send) an email? Rows without a mailbox are
    mailbox 1's (written before there were mailboxes)."""
    sent = select(OutboundMessage.id).where(store.sent_from(mailbox_id)).limit(1)
    return session.scalar(sent) is not None


def advance(
    session: Session, mailbox_id: int, folder: str, uidvalidity: int, uid: int, now: datetime
) -> None:
    """Move the mark past ``uid`` (never back), in the caller's transaction."""
    session.execute(
        update(ImapSync)
        .where(
            ImapSync.mailbox_id == mailbox_id,
            ImapSync.folder == folder,
            ImapSync.uidvalidity == uidvalidity,
            ImapSync.last_uid < uid,
        )
        .values(last_uid=uid, updated_at=now)
    )


def fallback_id(mailbox_id: int, folder: str, uidvalidity: int, uid: int) -> str:
    """A Message-ID for a message that has none (or could not be read): unique per mailbox,
    folder, UIDVALIDITY and UID. Two mailboxes may share a UIDVALIDITY (a server often derives
    it from the time the folder was made), so every mailbox but the first names itself;
    mailbox 1's ids keep the form they had before there were mailboxes."""
    where = (
        folder.lower()
        if mailbox_id == PRIMARY_MAILBOX
        else f"{folder.lower()}.mailbox-{mailbox_id}"
    )
    return f"<uid-{uidvalidity}-{uid}@{where}.invalid>"
