"""/export: a campaign's leads as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.campaigns.timing import configs as campaign_configs
from engine.context import EngineContext
from engine.leads.lead_file.rows import FORMULA_START
from engine.leads.service import custom_fields
from engine.states import InboundKind, MessageKind, OutboundState
from engine.storage import store
from engine.storage.models import (
    PRIMARY_MAILBOX,
    InboundMessage,
    Lead,
    Mailbox,
    OutboundMessage,
)

EXPORT_COLUMNS = [
    "email",
    "first_name",
    "last_name",
    "company",
    "status",
    "followups_sent",
    "last_sent_at",
    "replied_at",
    "last_reply_at",
    "last_reply_kind",
    "interest",
    "auto_replies",
    "mailbox",
    "campaign",
    "variant",
    "timezone",
    "label",
    "answers_sent",
    "away_until",
    "referred_by",
]


def _cell(value: object) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ (or tab/CR) is quoted."""
    text = (
        "" if value is None else (value.isoformat() if isinstance(value, datetime) else str(value))
    )
    if text and text[0] in FORMULA_START:
        return "'" + text
    return text


def export_csv(ctx: EngineContext, campaign_id: int | None = None) -> bytes:
    """The leads of one campaign (None: of every campaign) as CSV (UTF-8 with BOM so Excel
    opens it right). ``timezone`` is the lead's own zone, else its campaign's."""
    buf = io.StringIO()
    with ctx.db.transaction() as session:
        custom = sorted(custom_fields(session, sample=1000))
        w = csv.writer(buf)
        w.writerow(EXPORT_COLUMNS + [c for c in custom if c not in EXPORT_COLUMNS])
        extra = [c for c in custom if c not in EXPORT_COLUMNS]
        boxes = {b.id: b.email for b in session.scalars(select(Mailbox))}
        boxes[PRIMARY_MAILBOX] = ctx.settings.email_address
        s = store.effective_settings(session, ctx.settings)
        configs = campaign_configs(session, s, ctx.clock.now())
        where = [] if campaign_id is None else [Lead.campaign_id == campaign_id]
        labels, answers = _reply_facts(session, campaign_id)
        stmt = select(Lead).where(*where).order_by(Lead.id).execution_options(yield_per=2000)
        for lead in session.scalars(stmt):
            row = [
                lead.email,
                lead.first_name,
                lead.last_name,
                lead.company,
                lead.status,
                lead.followups_sent,
                lead.last_sent_at,
                lead.replied_at,
                lead.last_inbound_at,
                lead.last_inbound_kind,
                lead.interest,
                lead.auto_replies,
                boxes.get(lead.mailbox_id, "") if lead.mailbox_id is not None else "",
                configs[lead.campaign_id].name if lead.campaign_id in configs else "",
                lead.variant or "",
                lead.timezone
                or (configs[lead.campaign_id].timezone if lead.campaign_id in configs else ""),
                labels.get(lead.id, ""),
                answers.get(lead.id, 0),
                lead.away_until.isoformat() if lead.away_until is not None else "",
                lead.referred_by or "",
            ] + [(lead.custom or {}).get(c, "") for c in extra]
            w.writerow([_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _reply_facts(
    session: Session, campaign_id: int | None
) -> tuple[dict[int, str], dict[int, int]]:
    """Per lead: the label of its latest labelled human reply, and how many answers written in
    the chat it was sent. Replies and answers are few beside the leads: two small scans."""
    of_i = [] if campaign_id is None else [InboundMessage.campaign_id == campaign_id]
    labels: dict[int, str] = {}
    for lead_id, label in session.execute(
        select(InboundMessage.lead_id, InboundMessage.label)
        .where(
            InboundMessage.kind == InboundKind.HUMAN,
            InboundMessage.label.is_not(None),
            InboundMessage.lead_id.is_not(None),
            *of_i,
        )
        .order_by(InboundMessage.id)
    ):
        labels[int(lead_id)] = str(label)  # the latest wins
    of_o = [] if campaign_id is None else [OutboundMessage.campaign_id == campaign_id]
    answers = {
        int(lead_id): int(n)
        for lead_id, n in session.execute(
            select(OutboundMessage.lead_id, func.count())
            .where(
                OutboundMessage.kind == MessageKind.ANSWER,
                OutboundMessage.state == OutboundState.SENT,
                OutboundMessage.lead_id.is_not(None),
                *of_o,
            )
            .group_by(OutboundMessage.lead_id)
        )
    }
    return labels, answers
