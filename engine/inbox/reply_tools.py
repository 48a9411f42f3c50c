"""What an admin can do from a reply's notice besides stopping or marking the lead: read the
reply's whole new text, add an address it names as a lead of the same campaign, and — with
``CALENDAR_MODE=ask`` — send the calendar answer in the reply's thread.

Each works from what is stored (the inbound row, the notice's payload), so a press long after
the reply, or after a restart, does what it did at once; a second press changes nothing and
says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from engine.campaigns.timing import configs as campaign_configs
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.inbox import actions, mailbox_checks
from engine.inbox.referrals import guess_name, referral_addresses
from engine.leads import service as leads
from engine.leads.csv_import import LeadRow
from engine.states import LeadStatus, NoticeKind
from engine.storage import store
from engine.storage.models import InboundMessage, Lead, PendingNotification

T = TypeVar("T")


@dataclass(frozen=True)
class ReplyText:
    """A stored reply's whole new text (its quoted part left out) and who wrote it."""

    lead: dict[str, Any]  # actions.lead_fields of its lead; just the address if it is gone
    writer: str | None  # someone other than the lead who wrote in the thread
    subject: str
    text: str


def reply_text(ctx: EngineContext, inbound_id: int) -> ReplyText:
    """ "📄 Full text": the reply's new text as stored (a reply stored before that text was
    kept has its first lines)."""
    with ctx.db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            raise UserInputError(
                "That reply is no longer stored, so its text cannot be shown. /lead ADDRESS "
                "shows what is kept of a lead's history."
            )
        lead = session.get(Lead, row.lead_id) if row.lead_id is not None else None
        fields = actions.lead_fields(lead) if lead is not None else {"email": row.from_email}
        return ReplyText(
            lead=fields,
            writer=_writer(row, lead),
            subject=row.subject,
            text=row.body_text or row.snippet,
        )


def _writer(row: InboundMessage, lead: Lead | None) -> str | None:
    if lead is None or not row.from_email or row.from_email.lower() == lead.email_key:
        return None
    return row.from_email


@dataclass(frozen=True)
class ReferralOutcome:
    """What "➕ Add" did: the lead-adding outcome, and who referred the address."""

    added: leads.AddOutcome
    referrer: str


def add_referral(ctx: EngineContext, notice_id: int, slot: int) -> ReferralOutcome:
    """ "➕ Add ADDRESS as a lead" on reply notice ``notice_id``: the ``slot``-th address the
    notice offered joins the replier's campaign, referred by the replier, with the replier's
    company (and a first name when the address reads like ``maria.lopez@``). The address is
    re-derived from the stored reply first: one that is no longer a referral (it became one of
    our mailboxes) is refused. Import rules apply: nothing is added for an address already in
    the campaign, held by another campaign, or suppressed."""
    return _once_more_on_conflict(lambda: _add_referral(ctx, notice_id, slot))


def _add_referral(ctx: EngineContext, notice_id: int, slot: int) -> ReferralOutcome:
    now = ctx.clock.now()
    with ctx.db.serialised(), ctx.db.transaction() as session:
        notice = session.get(PendingNotification, notice_id)
        payload = dict(notice.payload or {}) if notice is not None else {}
        offered = [str(a) for a in payload.get("referrals") or []]
        if notice is None or notice.kind != NoticeKind.REPLY or not 0 <= slot < len(offered):
            raise UserInputError(
                "That reply notice offers no such address any more; nothing was added. Import "
                "the address with a CSV if you want it as a lead."
            )
        address = offered[slot]
        row = session.get(InboundMessage, int(payload.get("inbound_id") or 0))
        lead = (
            session.get(Lead, row.lead_id, with_for_update=True)
            if row is not None and row.lead_id is not None
            else None
        )
        if row is None or lead is None:
            raise UserInputError(
                f"The reply that named {address} (or its lead) is no longer stored, so there is "
                "no campaign to add it to; nothing was added. Import it with a CSV instead."
            )
        s = store.effective_settings(session, ctx.settings)
        writer = _writer(row, lead)
        own = mailbox_checks.own_addresses(session, s) | {writer or ""}
        now_named = {a.lower(): a for a in referral_addresses(row.body_text or "", lead.email, own)}
        if address.lower() not in now_named:
            raise UserInputError(
                f"{address} is not among the new contacts that reply names now (it may have "
                "become one of your mailboxes); nothing was added."
            )
        address = now_named[address.lower()]
        first, last = guess_name(address)
        referrer = writer or lead.email
        row_in = LeadRow(
            line=0,
            email=address,
            first_name=first,
            last_name=last,
            company=lead.company or "",
            custom={},
        )
        added = leads.add_lead(session, s, now, row_in, lead.campaign_id, referred_by=referrer)
        return ReferralOutcome(added, referrer)


class CalendarResult(StrEnum):
    QUEUED = "queued"
    ALREADY = "already"  # queued or sent before (a second press, or auto mode did it)


@dataclass(frozen=True)
class CalendarOutcome:
    result: CalendarResult
    email: str


def send_calendar(ctx: EngineContext, inbound_id: int) -> CalendarOutcome:
    """ "📅 Send calendar link" under a reply (``CALENDAR_MODE=ask``): the calendar answer is
    queued once, in the thread of that reply (In-Reply-To its Message-ID, References the ids it
    cited), from the lead's mailbox. Refused without a calendar link on the lead's campaign,
    and for a lead that opted out, bounced or is suppressed since."""
    try:
        return _send_calendar(ctx, inbound_id)
    except IntegrityError:  # another press queued it first (the unique calendar step)
        with ctx.db.transaction() as session:
            row = session.get(InboundMessage, inbound_id)
            lead = session.get(Lead, row.lead_id) if row and row.lead_id else None
            return CalendarOutcome(CalendarResult.ALREADY, lead.email if lead else "")


def _send_calendar(ctx: EngineContext, inbound_id: int) -> CalendarOutcome:
    now = ctx.clock.now()
    with ctx.db.serialised(), ctx.db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        lead = (
            session.get(Lead, row.lead_id, with_for_update=True)
            if row is not None and row.lead_id is not None
            else None
        )
        if row is None or lead is None:
            raise UserInputError(
                "That reply or its lead is no longer stored; no calendar link was sent."
            )
        s = store.effective_settings(session, ctx.settings)
        config = campaign_configs(session, s, now)[lead.campaign_id]
        if actions.calendar_answered(session, lead.id):
            return CalendarOutcome(CalendarResult.ALREADY, lead.email)
        if not config.calendar_link:
            raise UserInputError(
                f"No calendar link is set for campaign {config.name}, so nothing was sent. "
                f"Select it (/campaign {config.name}), set one with /settings calendar_link "
                "https://…, then press the button again."
            )
        if lead.status != LeadStatus.REPLIED:
            raise UserInputError(
                f"{lead.email} is {lead.status} now, so no calendar link was sent to it."
            )
        hit = store.suppressed(session, lead.email)
        if hit is not None:
            raise UserInputError(
                f"{lead.email} is on the suppression list ({hit.value}: "
                f"{hit.reason or 'no reason noted'}), so no calendar link was sent to it."
            )
        references = (row.thread_refs or "").split()
        actions.queue_calendar(session, s, now, lead, references, row.message_id, row.subject)
        session.flush()  # a second press racing this one fails here, on the unique step
        return CalendarOutcome(CalendarResult.QUEUED, lead.email)


def _once_more_on_conflict(fn: Callable[[], T]) -> T:
    """Run ``fn``; if a concurrent press inserted the same row first (a unique constraint),
    run it once more: it then finds that row and says so."""
    try:
        return fn()
    except IntegrityError:
        return fn()
