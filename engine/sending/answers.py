"""Answers written in the chat: an admin presses ✍️ Reply under a lead's reply (or answers the
notice with Telegram's reply), writes the text, sees it exactly as it will go, and presses Send.

A draft is a row with a state (``answer_drafts``, :class:`~engine.states.DraftState`):
awaiting its text → ready (previewed) → sending → sent, or cancelled / expired. Send is a claim
like any other email's: one transaction locks the draft, checks it is still ready, and commits
the draft as ``sending`` together with its outbound row (``kind='answer'``, a lease, the
Message-ID) BEFORE the SMTP transaction. A second press, or another admin's, finds the draft
already claimed and sends nothing; a crash after the claim leaves the outbound row ``sending``,
settled from the Sent folder like every other email (``engine.sending.recovery``), and the
draft's state follows its row.

The answer goes from the lead's own mailbox, in the lead's thread: In-Reply-To is the lead's
last reply, References the chain that reply cited plus that reply, the subject ``Re:`` once.
It goes at once, ahead of paced sending (no pacing gap is waited for or drawn), and counts
against the mailbox's cap like any email it sends. The campaign's sender name, signature and
quoting rule apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.campaigns.timing import configs as campaign_configs
from engine.config import Settings
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.mailboxes import accounts
from engine.mailboxes.accounts import MailboxAccount
from engine.message_ids import parse_ids, reply_headers
from engine.sending.claims import Claimed, lease
from engine.sending.compose import lead_name, outgoing
from engine.sending.messages import make_message_id, reply_subject
from engine.sending.queue import send_claimed
from engine.states import (
    DraftState,
    InboundKind,
    LeadStatus,
    MailboxStatus,
    MessageKind,
    OutboundState,
)
from engine.storage import store
from engine.storage.models import (
    ANSWER_STEP,
    PRIMARY_MAILBOX,
    AnswerDraft,
    InboundMessage,
    Lead,
    Mailbox,
    OutboundMessage,
)

DRAFT_TTL = timedelta(hours=24)
MAX_ANSWER = 8_000  # characters an admin may write in one answer
MAX_QUOTE = 3_000  # characters of the reply quoted under the answer
OPEN = (DraftState.AWAITING, DraftState.READY)
# A lead that may not be written to any more, whatever an admin writes.
NOT_TO_BE_WRITTEN = {
    LeadStatus.UNSUBSCRIBED: "asked to be removed",
    LeadStatus.BOUNCED: "its address bounced",
    LeadStatus.FAILED: "its address cannot be sent to",
    LeadStatus.INVALID: "its domain has no mail server",
}


class DraftGone(UserInputError):
    """The draft, its lead or the reply it answers no longer exists."""


class Outcome(StrEnum):
    """What pressing Send (or Cancel) came to."""

    SENT = "sent"  # the server accepted it now
    ALREADY_SENT = "already_sent"  # an earlier press (or another admin) sent it
    IN_FLIGHT = "in_flight"  # claimed, its outcome not known yet (being sent, or uncertain)
    RETRYING = "retrying"  # the server asked to try later: it waits in the send queue
    FAILED = "failed"  # refused for good (detail: why)
    HELD = "held"  # the lead's mailbox cannot send now; the draft is kept (detail: why)
    REFUSED = "refused"  # the lead may not be written to (detail: why); the draft is kept
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NO_TEXT = "no_text"  # Send on a draft still waiting for its text


@dataclass(frozen=True)
class Prompt:
    """Reply pressed: whom the admin's next text answers."""

    draft_id: int
    lead_id: int
    to_email: str
    to_name: str
    from_email: str
    subject: str
    expires_at: datetime


@dataclass(frozen=True)
class Preview:
    """A draft exactly as it will go (or went)."""

    draft_id: int
    state: DraftState
    lead_id: int
    to_email: str
    to_name: str
    from_email: str
    from_name: str
    subject: str
    body: str
    in_reply_to: str | None
    expires_at: datetime
    sent_at: datetime | None
    chat_id: int
    preview_message_id: int | None


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    preview: Preview
    detail: str = ""  # the hold, refusal or failure in the engine's words (a reason code)
    mailbox: str = ""  # the lead's mailbox address, for the hold's words


@dataclass(frozen=True)
class _Thread:
    """What an answer to a lead is made of, besides the admin's text."""

    lead: Lead
    reply: InboundMessage  # the lead's last reply: the message answered
    settings: Settings  # as the lead's mailbox sends, with the campaign's values over them
    mailbox_id: int
    subject: str
    in_reply_to: str | None
    references: str | None


def start(ctx: EngineContext, admin_id: int, chat_id: int, inbound_id: int) -> Prompt:
    """✍️ Reply under a reply: the admin's next text becomes the draft. An admin has one draft
    awaiting its text at a time: an earlier one still waiting is cancelled."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        reply = session.get(InboundMessage, inbound_id)
        if reply is None or reply.lead_id is None:
            raise DraftGone("That reply is no longer known; open the lead with /lead EMAIL.")
        if reply.kind != InboundKind.HUMAN:
            raise UserInputError("Only a lead's reply can be answered from here.")
        lead = session.get(Lead, reply.lead_id)
        if lead is None:
            raise DraftGone("That lead no longer exists; nothing to answer.")
        _expire(session, now, admin_id)
        session.execute(
            update(AnswerDraft)
            .where(AnswerDraft.admin_id == admin_id, AnswerDraft.state == DraftState.AWAITING)
            .values(state=DraftState.CANCELLED, updated_at=now)
        )
        t = _thread(session, ctx, now, lead)
        draft = AnswerDraft(
            lead_id=lead.id,
            inbound_id=reply.id,
            admin_id=admin_id,
            chat_id=chat_id,
            state=DraftState.AWAITING,
            body="",
            created_at=now,
            updated_at=now,
            expires_at=now + DRAFT_TTL,
        )
        session.add(draft)
        session.flush()
        return Prompt(
            draft.id,
            lead.id,
            lead.email,
            lead_name(lead),
            t.settings.email_address,
            t.subject,
            draft.expires_at,
        )


def awaiting(ctx: EngineContext, admin_id: int) -> int | None:
    """The admin's draft waiting for its text (not expired), if any."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        _expire(session, now, admin_id)
        return session.scalar(
            select(AnswerDraft.id)
            .where(AnswerDraft.admin_id == admin_id, AnswerDraft.state == DraftState.AWAITING)
            .order_by(AnswerDraft.id.desc())
            .limit(1)
        )


def take_text(ctx: EngineContext, admin_id: int, text: str) -> Preview | None:
    """The admin's text is the awaited draft's body: the draft is ready, shown back exactly as
    it will go. None when no draft awaits text. Empty or too long: refused, still awaiting."""
    now = ctx.clock.now()
    body = text.strip()
    with ctx.db.transaction() as session:
        _expire(session, now, admin_id)
        draft = session.scalars(
            select(AnswerDraft)
            .where(AnswerDraft.admin_id == admin_id, AnswerDraft.state == DraftState.AWAITING)
            .order_by(AnswerDraft.id.desc())
            .limit(1)
            .with_for_update()
        ).first()
        if draft is None:
            return None
        if not body:
            raise UserInputError(
                "The answer is empty. Write it as a text message, or press ✖️ Cancel."
            )
        if len(body) > MAX_ANSWER:
            raise UserInputError(
                f"The answer is too long ({len(body):,} characters): at most {MAX_ANSWER:,}. "
                "Shorten it and send it again."
            )
        draft.body = body
        draft.state = DraftState.READY
        draft.updated_at = now
        return _preview(session, ctx, now, draft)


def attach_preview(ctx: EngineContext, draft_id: int, message_id: int) -> None:
    """The chat message showing the preview, to edit once the answer is sent."""
    with ctx.db.transaction() as session:
        draft = session.get(AnswerDraft, draft_id)
        if draft is not None:
            draft.preview_message_id = message_id


def preview(ctx: EngineContext, draft_id: int) -> Preview:
    """A draft as it stands, its state following its email's once it was claimed."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        draft = session.get(AnswerDraft, draft_id)
        if draft is None:
            raise DraftGone("That draft is no longer known.")
        _settle(session, draft)
        return _preview(session, ctx, now, draft)


def send(ctx: EngineContext, draft_id: int) -> Result:
    """📨 Send: claim the draft and its email in one transaction, then send it at once from the
    lead's mailbox and record the outcome. Pressed again (or by another admin), it finds the
    claim and sends nothing."""
    now = ctx.clock.now()
    # The claim is serialised like every claim (SQLite's take turns in this process; on
    # PostgreSQL the draft's row lock makes a second press wait, then find it claimed).
    with ctx.db.serialised(), ctx.db.transaction() as session:
        draft = session.get(AnswerDraft, draft_id, with_for_update=True)
        if draft is None:
            raise DraftGone("That draft is no longer known; press ✍️ Reply to write it again.")
        early = _not_ready(session, now, draft)
        if early is not None:
            return Result(early, _preview(session, ctx, now, draft))
        lead = session.get(Lead, draft.lead_id, with_for_update=True)
        if lead is None:
            raise DraftGone("That lead no longer exists; nothing was sent.")
        t = _thread(session, ctx, now, lead)
        if lead.status in NOT_TO_BE_WRITTEN or store.suppressed(session, lead.email):
            why = NOT_TO_BE_WRITTEN.get(LeadStatus(lead.status), "is on the suppression list")
            return Result(Outcome.REFUSED, _preview(session, ctx, now, draft, t), why)
        account, hold = _mailbox(session, ctx, t.mailbox_id)
        if account is None:
            return Result(
                Outcome.HELD, _preview(session, ctx, now, draft, t), hold, t.settings.email_address
            )
        row = OutboundMessage(
            lead_id=lead.id,
            kind=MessageKind.ANSWER,
            step=ANSWER_STEP + draft.id,
            message_id=make_message_id(t.settings.email_address),
            to_email=lead.email,
            subject=t.subject,
            body=_body(draft.body, t),
            in_reply_to=t.in_reply_to,
            references=t.references,
            state=OutboundState.QUEUED,
            attempts=0,
            created_at=now,
            mailbox_id=t.mailbox_id,
            campaign_id=lead.campaign_id,
        )
        lease(row, ctx, now)
        session.add(row)
        session.flush()
        draft.state = DraftState.SENDING
        draft.outbound_id = row.id
        draft.updated_at = now
        claimed = Claimed(
            row.id,
            lead.id,
            MessageKind.ANSWER,
            row.step,
            outgoing(row, lead_name(lead)),
            t.settings,
            t.mailbox_id,
            campaign_id=lead.campaign_id,
        )
    mailer = ctx.new_mailer(account.smtp)
    try:
        send_claimed(ctx, mailer, claimed)
    finally:
        mailer.close()
    with ctx.db.transaction() as session:
        draft = session.get(AnswerDraft, draft_id, with_for_update=True)
        if draft is None:
            raise DraftGone("That draft is no longer known.")
        _settle(session, draft)
        out = session.get(OutboundMessage, claimed.outbound_id)
        done = _preview(session, ctx, ctx.clock.now(), draft)
        if draft.state == DraftState.SENT:
            return Result(Outcome.SENT, done)
        state = out.state if out is not None else OutboundState.FAILED
        error = (out.error or "") if out is not None else ""
        if state == OutboundState.QUEUED:
            return Result(Outcome.RETRYING, done, error[:300])
        if state in (OutboundState.FAILED, OutboundState.CANCELLED):
            return Result(Outcome.FAILED, done, error[:300])
        return Result(Outcome.IN_FLIGHT, done)


def cancel(ctx: EngineContext, draft_id: int) -> Result:
    """✖️ Cancel: a draft not yet claimed is dropped; a claimed one cannot be called back."""
    now = ctx.clock.now()
    with ctx.db.serialised(), ctx.db.transaction() as session:
        draft = session.get(AnswerDraft, draft_id, with_for_update=True)
        if draft is None:
            raise DraftGone("That draft is no longer known; nothing was sent.")
        _settle(session, draft)
        if draft.state in OPEN and now >= draft.expires_at:
            draft.state = DraftState.EXPIRED
        if draft.state in OPEN:
            draft.state = DraftState.CANCELLED
            draft.updated_at = now
            return Result(Outcome.CANCELLED, _preview(session, ctx, now, draft))
        return Result(_outcome_of(draft.state), _preview(session, ctx, now, draft))


def expire(ctx: EngineContext) -> int:
    """Every open draft older than a day is expired (they are also expired on use)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        return _expire(session, now, None)


# --- inside -------------------------------------------------------------------------------


def _expire(session: Session, now: datetime, admin_id: int | None) -> int:
    stmt = update(AnswerDraft).where(
        AnswerDraft.state.in_(OPEN),
        AnswerDraft.expires_at <= now,
        *([AnswerDraft.admin_id == admin_id] if admin_id is not None else []),
    )
    result = session.execute(stmt.values(state=DraftState.EXPIRED, updated_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _outcome_of(state: str) -> Outcome:
    return {
        DraftState.SENT: Outcome.ALREADY_SENT,
        DraftState.SENDING: Outcome.IN_FLIGHT,
        DraftState.CANCELLED: Outcome.CANCELLED,
        DraftState.EXPIRED: Outcome.EXPIRED,
        DraftState.AWAITING: Outcome.NO_TEXT,
    }.get(DraftState(state), Outcome.IN_FLIGHT)


def _not_ready(session: Session, now: datetime, draft: AnswerDraft) -> Outcome | None:
    """Why Send does nothing now (None: the draft is ready to claim)."""
    _settle(session, draft)
    if draft.state == DraftState.SENDING:
        out = session.get(OutboundMessage, draft.outbound_id) if draft.outbound_id else None
        if out is not None and out.state in (OutboundState.FAILED, OutboundState.CANCELLED):
            return Outcome.FAILED
        if out is not None and out.state == OutboundState.QUEUED:
            return Outcome.RETRYING
        return Outcome.IN_FLIGHT
    if draft.state in OPEN and now >= draft.expires_at:
        draft.state = DraftState.EXPIRED
        draft.updated_at = now
    if draft.state == DraftState.READY:
        return None
    return _outcome_of(draft.state)


def _settle(session: Session, draft: AnswerDraft) -> None:
    """A claimed draft whose email is known sent (by its 250, or later from the Sent folder)
    is sent."""
    if draft.state != DraftState.SENDING or draft.outbound_id is None:
        return
    out = session.get(OutboundMessage, draft.outbound_id)
    if out is not None and out.state == OutboundState.SENT:
        draft.state = DraftState.SENT
        draft.sent_at = out.sent_at


def _thread(session: Session, ctx: EngineContext, now: datetime, lead: Lead) -> _Thread:
    """The lead's mailbox and thread: its last reply answered, in the same thread."""
    reply = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.lead_id == lead.id, InboundMessage.kind == InboundKind.HUMAN)
        .order_by(InboundMessage.id.desc())
        .limit(1)
    ).first()
    if reply is None:
        raise DraftGone("That lead has no reply to answer; open it with /lead EMAIL.")
    base = store.effective_settings(session, ctx.settings)
    mailbox_id = lead.mailbox_id or PRIMARY_MAILBOX
    s = accounts.one(session, base, mailbox_id).settings_for(base, now)
    config = campaign_configs(session, base, now).get(lead.campaign_id)
    if config is not None:
        s = config.settings_for(s)
    headers = reply_headers([*parse_ids(reply.thread_refs), reply.message_id])
    return _Thread(
        lead=lead,
        reply=reply,
        settings=s,
        mailbox_id=mailbox_id,
        subject=reply_subject(reply.subject or lead.first_subject or ""),
        in_reply_to=headers.in_reply_to,
        references=headers.references_value,
    )


def _mailbox(
    session: Session, ctx: EngineContext, mailbox_id: int
) -> tuple[MailboxAccount | None, str]:
    """The lead's mailbox ready to send, or None and why not (its state or hold)."""
    base = store.effective_settings(session, ctx.settings)
    found = accounts.load(session, base, ctx.vault)
    account = found.by_id(mailbox_id)
    if account is None:
        gone = any(row.id == mailbox_id for row in found.undecryptable)
        return None, MailboxStatus.BROKEN if gone else MailboxStatus.REMOVED
    if not account.may_send:
        row = session.get(Mailbox, mailbox_id)
        hold = row.hold if row is not None and row.hold else ""
        return None, hold or str(account.status)
    return account, ""


def _body(text: str, t: _Thread) -> str:
    """The admin's text, the signature, and (with answer_quote on) the reply it answers."""
    parts = [text]
    if t.settings.signature:
        parts.append(t.settings.signature)
    if t.settings.answer_quote and t.reply.body_text.strip():
        when = t.reply.received_at or t.reply.seen_at
        who = t.reply.from_email or t.lead.email
        quoted = t.reply.body_text.strip()[:MAX_QUOTE]
        lines = "\n".join(f"> {line}".rstrip() for line in quoted.splitlines())
        parts.append(f"On {when:%a, %d %b %Y at %H:%M}, {who} wrote:\n{lines}")
    return "\n\n".join(parts)


def _preview(
    session: Session,
    ctx: EngineContext,
    now: datetime,
    draft: AnswerDraft,
    t: _Thread | None = None,
) -> Preview:
    """The draft as it goes: a claimed one as its email row has it; else as it would be
    composed now."""
    lead = session.get(Lead, draft.lead_id)
    if lead is None:
        raise DraftGone("That lead no longer exists.")
    out = session.get(OutboundMessage, draft.outbound_id) if draft.outbound_id else None
    if out is not None:
        s = t.settings if t is not None else _thread(session, ctx, now, lead).settings
        subject, body, in_reply_to = out.subject, out.body, out.in_reply_to
    else:
        t = t or _thread(session, ctx, now, lead)
        s = t.settings
        subject, body, in_reply_to = t.subject, _body(draft.body, t), t.in_reply_to
    return Preview(
        draft_id=draft.id,
        state=DraftState(draft.state),
        lead_id=lead.id,
        to_email=lead.email,
        to_name=lead_name(lead),
        from_email=s.email_address,
        from_name=s.sender_name,
        subject=subject,
        body=body,
        in_reply_to=in_reply_to,
        expires_at=draft.expires_at,
        sent_at=draft.sent_at,
        chat_id=draft.chat_id,
        preview_message_id=draft.preview_message_id,
    )
