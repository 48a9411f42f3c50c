"""At start, after the migrations: mailbox 1 takes EMAIL_ADDRESS, and every mailbox added from
the chat is checked against the current SECRET_KEY.

A mailbox whose stored password cannot be decrypted (SECRET_KEY unset or changed) is marked
``broken`` and sends nothing; all of them are named in one alert (``MAILBOX_BROKEN``), and the
process starts anyway. One that decrypts again (the old SECRET_KEY is back) returns to what it
was, and when none is left broken the alert clears.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from engine import notify
from engine.context import EngineContext
from engine.errors import WrongSecretKey
from engine.mailboxes.vault import Vault
from engine.states import AlertCondition, MailboxSource, MailboxStatus
from engine.storage.models import PRIMARY_MAILBOX, Mailbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartCheck:
    """The addresses of the mailboxes broken now, and of those that work again."""

    broken: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)


def _readable(row: Mailbox, vault: Vault | None) -> bool:
    if vault is None or row.password_enc is None:
        return False
    try:
        vault.decrypt(row.password_enc)
    except WrongSecretKey:
        return False
    return True


def _primary_address(ctx: EngineContext, rows: list[Mailbox]) -> None:
    """Mailbox 1 carries EMAIL_ADDRESS (its key only while no other mailbox has that address)."""
    primary = next((r for r in rows if r.id == PRIMARY_MAILBOX), None)
    if primary is None or primary.source != MailboxSource.ENV:
        return
    email = ctx.settings.email_address
    primary.email = email
    if any(r.email_key == email.lower() for r in rows if r.id != PRIMARY_MAILBOX):
        log.warning("EMAIL_ADDRESS is also a mailbox added from the chat; remove that one")
        return
    primary.email_key = email.lower()


def at_start(ctx: EngineContext) -> StartCheck:
    """One transaction: mailbox 1's address, each chat mailbox's password tried, and the one
    alert raised (or revised, or cleared)."""
    now = ctx.clock.now()
    broken: list[str] = []
    restored: list[str] = []
    with ctx.db.transaction() as session:
        rows = list(session.scalars(select(Mailbox).order_by(Mailbox.id).with_for_update()))
        _primary_address(ctx, rows)
        for row in rows:
            if row.source == MailboxSource.ENV or row.state == MailboxStatus.REMOVED:
                continue
            readable = _readable(row, ctx.vault)
            if not readable:
                broken.append(row.email)
                if row.state != MailboxStatus.BROKEN:
                    row.state, row.updated_at = MailboxStatus.BROKEN, now
            elif row.state == MailboxStatus.BROKEN:
                # A hold it had (an admin's pause, a refused login) outlives the key trouble.
                paused = row.hold is not None
                row.state = MailboxStatus.PAUSED if paused else MailboxStatus.ACTIVE
                row.updated_at = now
                restored.append(row.email)
        if broken:
            detail = {"mailboxes": broken, "secret_key_set": ctx.vault is not None}
            notify.revise_alert(session, now, AlertCondition.MAILBOX_BROKEN, detail)
        else:
            notify.clear_alert(session, now, AlertCondition.MAILBOX_BROKEN, {"mailboxes": restored})
    if broken:
        log.warning(
            "%d mailbox(es) cannot be used: their passwords cannot be decrypted", len(broken)
        )
    return StartCheck(broken, restored)
