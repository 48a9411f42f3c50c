"""Small helpers shared by the sending-engine tests: leads in, one send out, rows read back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import campaign
from engine.context import EngineContext
from engine.leads import service as leads
from engine.sending.claims import Claimed, claim_next
from engine.sending.pacing import Gate
from engine.sending.queue import send_claimed
from engine.storage.models import Lead, OutboundMessage, PendingNotification
from tests.servers.smtp import SmtpServer

# Pacing off: no delay between emails, no batch pause.
NO_PACING = {"MIN_DELAY_SECONDS": "0", "MAX_DELAY_SECONDS": "0", "PAUSE_EVERY_N_EMAILS": "0"}


def mailbox_ctx(make_ctx: Any, smtp: SmtpServer, dovecot: Any, **env: str) -> EngineContext:
    """A context sending through ``smtp`` and reading ``dovecot`` as the same account, pacing off
    (plus any ``env`` overrides)."""
    smtp.set_credentials(dovecot.user, dovecot.password)
    return make_ctx(  # type: ignore[no-any-return]
        **NO_PACING,
        IMAP_PORT=str(dovecot.port),
        IMAP_SECURITY="none",
        EMAIL_ADDRESS=dovecot.user,
        EMAIL_PASSWORD=dovecot.password,
        SMTP_PORT=str(smtp.port),
        SMTP_SECURITY="none",
        **env,
    )


def smtp_env(server: SmtpServer, **extra: str) -> dict[str, str]:
    return {"SMTP_PORT": str(server.port), "SMTP_SECURITY": "none", **extra}


def add_leads(ctx: EngineContext, *emails: str) -> None:
    rows = "".join(f"{e},{e.split('@')[0].title()},Co {e.split('@')[1]}\n" for e in emails)
    report = leads.import_csv(ctx, ("email,first_name,company\n" + rows).encode())
    assert report.imported == len(emails), report


def send_next(ctx: EngineContext, mailer: Any) -> str | Gate:
    """Claim one email and send it; the outcome, or the Gate that held it back."""
    claimed = claim_next(ctx)
    if isinstance(claimed, Gate):
        return claimed
    assert isinstance(claimed, Claimed)
    return send_claimed(ctx, mailer, claimed)


def start(ctx: EngineContext) -> None:
    campaign.run(ctx)


def lead(ctx: EngineContext, email: str) -> Lead:
    with ctx.db.transaction() as session:
        row = session.scalars(select(Lead).where(Lead.email_key == email.lower())).one()
        session.expunge(row)
        return row


def outbound(ctx: EngineContext, email: str | None = None) -> list[OutboundMessage]:
    with ctx.db.transaction() as session:
        stmt = select(OutboundMessage).order_by(OutboundMessage.id)
        if email is not None:
            stmt = stmt.where(OutboundMessage.to_email == email)
        rows = list(session.scalars(stmt))
        session.expunge_all()
        return rows


def outbox(ctx: EngineContext, kind: str | None = None) -> list[PendingNotification]:
    with ctx.db.transaction() as session:
        stmt = select(PendingNotification).order_by(PendingNotification.id)
        if kind is not None:
            stmt = stmt.where(PendingNotification.kind == kind)
        rows = list(session.scalars(stmt))
        session.expunge_all()
        return rows


def words(item: PendingNotification) -> str:
    """What the admins read for an outbox row: the bot's words for its kind and payload."""
    from bot.messages import render
    from engine.notify import Notification

    return render(Notification(item.id, item.kind, item.text, dict(item.payload or {}))).text


def set_status(ctx: EngineContext, email: str, status: str) -> None:
    with ctx.db.transaction() as session:
        row = session.scalars(select(Lead).where(Lead.email_key == email.lower())).one()
        row.status = status


def stored_notice(
    session: Session, now: datetime, kind: str, text: str, payload: dict[str, Any] | None = None
) -> None:
    """A notification row as an older release wrote it: with the engine's own text."""
    session.add(PendingNotification(kind=kind, text=text, payload=payload or {}, created_at=now))
