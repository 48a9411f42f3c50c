"""What a classified inbound message does to its lead, in the caller's transaction: a bounce
(hard: the lead is bounced and the bounce-rate guard runs; soft: noted), an auto-reply (counted),
an opt-out (suppressed) or a human reply (the sequence stops; by ``CALENDAR_MODE`` the first one
queues the calendar answer in the lead's thread, or its notice offers it). Status changes go
through :mod:`engine.leads.lifecycle`; the admins are told through :func:`engine.notify.emit`
with a structured payload (the words are ``bot/messages/inbox.py``'s).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import notify
from engine.campaigns.config import CampaignConfig
from engine.campaigns.timing import allowed_from, lead_zone
from engine.campaigns.timing import configs as campaign_configs
from engine.config import Settings
from engine.inbox import mailbox_checks
from engine.inbox.bounces import Bounce
from engine.inbox.classify import Classification, Inbound
from engine.inbox.intent import classify_intent
from engine.inbox.referrals import referral_addresses
from engine.inbox.return_date import away_until, next_working_day
from engine.leads import lifecycle, removal
from engine.mailboxes import accounts
from engine.message_ids import reply_headers
from engine.sending.bounce_guard import guard_bounce_rate
from engine.sending.compose import lead_values
from engine.sending.messages import make_message_id, reply_subject
from engine.states import (
    CalendarMode,
    InboundKind,
    LeadStatus,
    MessageKind,
    NoticeKind,
    OutboundState,
)
from engine.storage import store
from engine.storage.models import (
    CALENDAR_STEP,
    PRIMARY_MAILBOX,
    InboundMessage,
    Lead,
    OutboundMessage,
)
from engine.templates import render_template

# A reply's whole new text is kept for "Full text" up to this many characters (a few
# Telegram messages; mail is hostile input: every field is capped).
MAX_BODY_TEXT = 20_000
MAX_THREAD_IDS = 20  # the newest ids of the References a reply cites, kept to answer it


ALL_DAYS = frozenset(range(7))


def keep_reply_text(row: InboundMessage, inb: Inbound) -> None:
    """A human reply keeps its whole new text and the thread it cites, both capped."""
    row.body_text = (inb.new_text or inb.text)[:MAX_BODY_TEXT]
    refs = [r for r in inb.references if len(r) <= 250][-MAX_THREAD_IDS:]
    row.thread_refs = " ".join(refs) or None


def snippet(text: str, limit: int) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    out = "\n".join(lines[:8])
    return out[:limit]


def lead_fields(lead: Lead) -> dict[str, Any]:
    """Who the lead is, for the admins' words: id, address, name, company."""
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    return {"lead_id": lead.id, "email": lead.email, "name": name, "company": lead.company or ""}


def _third_party(lead: Lead, inb: Inbound) -> str | None:
    """The writer's address when someone other than the lead answered in the lead's thread
    (the lead is still the one acted on), else None."""
    if inb.from_email and inb.from_email != (lead.email_key or lead.email.lower()):
        return inb.from_email
    return None


def act(
    session: Session,
    s: Settings,
    now: datetime,
    lead: Lead,
    inb: Inbound,
    message_id: str,
    cls: Classification,
    row: InboundMessage | None = None,
) -> None:
    """Act on a classified message from ``lead``; ``row`` is its stored inbound row (a reply's
    notice names it, for the buttons that answer it or show its whole text)."""
    lead.last_inbound_at = inb.date or now
    lead.last_inbound_kind = str(cls.kind)
    config = campaign_configs(session, s, now).get(lead.campaign_id)
    if config is not None:
        s = config.settings_for(s)  # its calendar link and sequence
    if cls.kind == InboundKind.BOUNCE:
        _act_on_bounce(session, s, now, lead, cls.bounce)
    elif cls.kind == InboundKind.AUTO_REPLY:
        lead.auto_replies = (lead.auto_replies or 0) + 1
        if config is not None:
            _act_on_away(session, now, lead, inb, config)
    elif cls.kind == InboundKind.OPT_OUT:
        removal.opt_out(
            session,
            now,
            lead,
            reason="asked to be removed",
            elsewhere="opted out in another campaign",
        )
        notify.emit(
            session,
            now,
            NoticeKind.OPT_OUT,
            {**lead_fields(lead), "writer": _third_party(lead, inb)},
        )
    else:
        _act_on_reply(session, s, now, lead, inb, message_id, row)


def _act_on_away(
    session: Session, now: datetime, lead: Lead, inb: Inbound, config: CampaignConfig
) -> None:
    """An out-of-office reply naming its return date: the lead is away until then, and its next
    email waits for the first working day after it (the campaign's send days, in the lead's
    zone), when that is later than the email was due. A date that cannot be read, is past,
    or is more than six months ahead is ignored (``engine.inbox.return_date``)."""
    zone = lead_zone(lead, config)
    received = (inb.date or now).astimezone(zone)
    last_day = away_until(inb.new_text or inb.text, received)
    if last_day is None:
        return
    lead.away_until = last_day
    moved_to: date | None = None
    if lead.queue is not None and lead.next_send_at is not None:
        back = next_working_day(last_day, config.send_days or ALL_DAYS)
        start = allowed_from(lead, config, datetime.combine(back, time(0), tzinfo=zone))
        if start > lead.next_send_at:
            lead.next_send_at = start
            moved_to = start.astimezone(zone).date()
    notify.emit(
        session,
        now,
        NoticeKind.AWAY,
        {
            **lead_fields(lead),
            "until": last_day.isoformat(),
            "moved_to": moved_to.isoformat() if moved_to is not None else None,
            "followup": lead.next_step > 0,
        },
    )


def _act_on_bounce(
    session: Session, s: Settings, now: datetime, lead: Lead, b: Bounce | None
) -> None:
    status_code = (b.status if b else None) or "?"
    fields = {"lead_id": lead.id, "email": lead.email, "status": status_code}
    if b is not None and not b.hard:
        lead.last_error = f"soft bounce {status_code}: {b.diagnostic[:200]}"
        notify.emit(session, now, NoticeKind.BOUNCE, {**fields, "hard": False})
        return
    lifecycle.bounced(lead)
    lead.last_error = f"bounced {status_code}: {(b.diagnostic if b else '')[:200]}"
    removal.cancel_queued(session, lead, "bounced")
    removal.stop_elsewhere(session, lead, "the address bounced in another campaign")
    session.flush()
    guard_bounce_rate(session, s, now, mailbox_id=lead.mailbox_id or PRIMARY_MAILBOX)
    notify.emit(session, now, NoticeKind.BOUNCE, {**fields, "hard": True})


def _act_on_reply(
    session: Session,
    s: Settings,
    now: datetime,
    lead: Lead,
    inb: Inbound,
    message_id: str,
    row: InboundMessage | None,
) -> None:
    """A human reply: the sequence stops; by the campaign's CALENDAR_MODE the first one queues
    the calendar answer (``auto``) or its notice offers a button that does (``ask``). The
    notice also names the addresses the reply refers the admins to, to add as leads."""
    first = lifecycle.replied(lead, now)
    label = classify_intent(inb.new_text or inb.text, inb.subject)
    lead.interest = str(label)  # the latest reply's intent; an admin may correct it
    if row is not None:
        row.label = str(label)
    removal.cancel_queued(session, lead, "the lead replied")
    removal.stop_elsewhere(session, lead, "replied in another campaign")
    mode = CalendarMode(s.calendar_mode)
    calendar_queued = False
    if (
        mode is CalendarMode.AUTO
        and first
        and s.calendar_link
        and lead.status == LeadStatus.REPLIED
    ):
        calendar_queued = queue_calendar(
            session, s, now, lead, inb.references, message_id, inb.subject
        )
    offer = (
        mode is CalendarMode.ASK
        and lead.status == LeadStatus.REPLIED
        and not calendar_answered(session, lead.id)
    )
    writer = _third_party(lead, inb)
    own = mailbox_checks.own_addresses(session, s)
    notify.emit(
        session,
        now,
        NoticeKind.REPLY,
        {
            **lead_fields(lead),
            "inbound_id": row.id if row is not None else None,
            "label": str(label),
            "domain": lead.domain,
            "first": first,
            "writer": writer,
            "subject": inb.subject[:300],
            "snippet": snippet(inb.new_text or inb.text, 500),
            "calendar_mode": str(mode),
            "calendar_queued": calendar_queued,
            "calendar_offer": offer,
            "calendar_link_set": bool(s.calendar_link),
            # Read from the stored text, as the "➕ Add" button reads it again when pressed.
            "referrals": (
                referral_addresses(row.body_text or "", lead.email, own | {writer or ""})
                if row is not None
                else []
            ),
        },
    )


def calendar_answered(session: Session, lead_id: int) -> bool:
    """The lead has its calendar answer (queued, sent or even cancelled: it is never made
    twice)."""
    return bool(
        session.scalar(
            select(OutboundMessage.id).where(
                OutboundMessage.lead_id == lead_id, OutboundMessage.step == CALENDAR_STEP
            )
        )
    )


def queue_calendar(
    session: Session,
    s: Settings,
    now: datetime,
    lead: Lead,
    references: list[str],
    message_id: str,
    subject: str,
) -> bool:
    """The calendar answer, in the lead's thread — an answer to ``message_id`` (the reply),
    which cites ``references`` — at most once per lead (unique lead+step). It goes from the
    lead's mailbox, with that mailbox's address and name (a lead never written to has none:
    then the environment's). False when the lead has one already."""
    if calendar_answered(session, lead.id):
        return False
    config = campaign_configs(session, s, now).get(lead.campaign_id)
    s = accounts.one(session, s, lead.mailbox_id or PRIMARY_MAILBOX).settings_for(s, now)
    if config is not None:
        s = config.settings_for(s)
    template = store.template(session, "calendar", campaign_id=lead.campaign_id)
    rendered_subject, body = render_template(template, lead_values(lead, s))
    thread = reply_headers([*references, message_id])
    session.add(
        OutboundMessage(
            lead_id=lead.id,
            kind=MessageKind.CALENDAR,
            step=CALENDAR_STEP,
            message_id=make_message_id(s.email_address),
            to_email=lead.email,
            subject=reply_subject(subject or lead.first_subject or rendered_subject),
            body=body,
            in_reply_to=thread.in_reply_to,
            references=" ".join(thread.references),
            state=OutboundState.QUEUED,
            attempts=0,
            created_at=now,
            mailbox_id=lead.mailbox_id,
            campaign_id=lead.campaign_id,
            variant=lead.variant,
        )
    )
    return True
