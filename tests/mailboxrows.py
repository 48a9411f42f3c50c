"""A mailbox row as ``/mailbox add`` stores it, for tests and benchmarks that need mailboxes in
the database without going through the chat (the add itself is tested in test_bot_mailbox_add)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.mailboxes.vault import Vault
from engine.states import MailboxSource, MailboxStatus
from engine.storage.models import Mailbox


def chat_mailbox(email: str, password: str, *, key: str, now: datetime, **values: Any) -> Mailbox:
    """Added from the chat, active, its password encrypted with ``key``; ``values`` set or
    override any column (servers, state, hold, limits)."""
    fields: dict[str, Any] = {
        "email": email,
        "email_key": email.lower(),
        "source": MailboxSource.CHAT,
        "password_enc": Vault(key).encrypt(password),
        "state": MailboxStatus.ACTIVE,
        "hold_detail": "",
        "created_at": now,
        "updated_at": now,
    }
    return Mailbox(**{**fields, **values})
