"""What the mailbox tests share: a second mailbox's account on the test SMTP server and Dovecot,
the /mailbox add options pointing at them, and reads of what was stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine.context import EngineContext
from engine.mailboxes.vault import Vault
from engine.states import MailboxSource
from engine.storage.models import Base, Mailbox
from tests.integration.bot_harness import ADMIN, RunningBot

KEY = "a-long-enough-secret-key-for-tests"
BOX = "ana@acme.test"
PASSWORD = "Ana-S3cret-pw-7781"  # distinctive: searched for in every output


@dataclass(frozen=True)
class Servers:
    """The test SMTP server and Dovecot, each with a login for BOX."""

    smtp_port: int
    imap_port: int

    def options(self, *, smtp_port: int | None = None) -> str:
        return (
            f"smtp_server=127.0.0.1 smtp_port={smtp_port or self.smtp_port} smtp_security=none "
            f"imap_server=127.0.0.1 imap_port={self.imap_port} imap_security=none"
        )

    def csv_cells(self) -> str:
        return f"127.0.0.1,{self.smtp_port},none,127.0.0.1,{self.imap_port},none"


CSV_HEADER = (
    "email,password,smtp_server,smtp_port,smtp_security,imap_server,imap_port,imap_security"
)


def servers_for(smtp_server: Any, dovecot: Any, *logins: tuple[str, str]) -> Servers:
    for login, password in logins or ((BOX, PASSWORD),):
        smtp_server.add_login(login, password)
        dovecot.add_user(login, password)
    return Servers(smtp_server.port, dovecot.port)


def chat_mailboxes(ctx: EngineContext) -> list[Mailbox]:
    with ctx.db.transaction() as session:
        rows = list(
            session.scalars(
                select(Mailbox).where(Mailbox.source == MailboxSource.CHAT).order_by(Mailbox.id)
            )
        )
        session.expunge_all()
        return rows


def mailbox(ctx: EngineContext, email: str = BOX) -> Mailbox:
    (row,) = [r for r in chat_mailboxes(ctx) if r.email_key == email.lower()]
    return row


def stored_password(ctx: EngineContext, email: str = BOX, key: str = KEY) -> str:
    token = mailbox(ctx, email).password_enc
    assert token is not None
    return Vault(key).decrypt(token)


def database_text(ctx: EngineContext) -> str:
    """Every row of every table, as text: what a copy of the database would show."""
    parts = []
    with ctx.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            parts += [repr(tuple(row)) for row in conn.execute(table.select())]
    return "\n".join(parts)


def everything_the_bot_said(bot: RunningBot) -> str:
    """Every request the bot made to the Bot API (messages, edits, answers, deletions)."""
    return "\n".join(repr(c["params"]) for c in bot.fake.calls() if c["method"] != "getUpdates")


async def command(bot: RunningBot, text: str, *, timeout: float = 20.0) -> tuple[dict, dict]:
    """The admin sends ``text``; returns (their message, the bot's final answer: the first
    output that is not the "⏳ Checking…" progress)."""
    mark = bot.fake.mark()
    message = bot.fake.send_text(ADMIN, text)
    answer = await bot.fake.wait_for_async(
        lambda r: not (r.get("text") or "").startswith("⏳"), timeout, chat_id=ADMIN, after=mark
    )
    return message, answer


def deleted_ids(bot: RunningBot) -> list[int]:
    """The ids of the messages the bot deleted (successfully)."""
    return [
        int(c["params"]["message_id"])
        for c in bot.fake.calls("deleteMessage")
        if c["status"] == 200
    ]
