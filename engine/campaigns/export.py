"""/export: a campaign's leads as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import select

from engine.campaigns.timing import configs as campaign_configs
from engine.context import EngineContext
from engine.leads.lead_file.rows import FORMULA_START
from engine.leads.service import custom_fields
from engine.storage import store
from engine.storage.models import (
    PRIMARY_MAILBOX,
    Lead,
    Mailbox,
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
            ] + [(lead.custom or {}).get(c, "") for c in extra]
            w.writerow([_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
