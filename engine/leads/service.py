"""Use-cases on leads: import a CSV (all valid rows or none), look one up, stop or delete it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from engine.campaigns.config import CampaignConfig
from engine.campaigns.timing import configs as campaign_configs
from engine.campaigns.timing import lead_zone, stored_zone
from engine.config import Settings
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.freemail import is_free_mail
from engine.leads import imports, lifecycle
from engine.leads.csv_import import (
    MAX_ROWS,
    InvalidRow,
    LeadRow,
    normalise_email_key,
    parse_leads_csv,
)
from engine.leads.lead_file.workbook import MAX_TEXT_BYTES, FileKind, file_kind, read_workbook
from engine.leads.roles import is_role_address
from engine.leads.verification import FlaggedRow, ListChecks, Verdict, no_mail_server
from engine.sending.pacing import next_allowed
from engine.states import InboundKind, LeadStatus, OutboundState
from engine.storage import store
from engine.storage.models import (
    DEFAULT_CAMPAIGN,
    PRIMARY_MAILBOX,
    QUEUE_NEW,
    Campaign,
    InboundMessage,
    Lead,
    Mailbox,
    OutboundMessage,
)
from engine.zones import LeadZone, ZoneSource, resolve_lead_zone

Progress = Callable[[int, int], None]
CHUNK = 2_000


@dataclass
class ImportReport:
    imported: int = 0
    duplicates_in_file: list[int] = field(default_factory=list)
    already_stored: list[int] = field(default_factory=list)
    suppressed: list[int] = field(default_factory=list)
    invalid: list[InvalidRow] = field(default_factory=list)
    total_rows: int = 0
    columns: list[str] = field(default_factory=list)
    encoding: str = ""
    # The code page was a guess (see engine.leads.lead_file.decoding): the first two names as
    # read are shown so the operator sees at once whether they are garbled.
    encoding_unsure: bool = False
    first_names: list[str] = field(default_factory=list)
    recased: int = 0  # name cells stored in natural case (they were all lower/upper case)
    delimiter: str = ""
    campaign: str = ""  # the campaign imported into
    # Rows skipped for another campaign, by its name: the address is pending or in sequence
    # there, or answered (replied, bounced) there.
    in_other_campaign: dict[str, list[int]] = field(default_factory=dict)
    answered_elsewhere: dict[str, list[int]] = field(default_factory=dict)
    # Imported leads by where their zone came from (column, country, campaign), and the lines
    # whose timezone cell could not be read (those leads take the campaign's zone).
    zone_sources: dict[str, int] = field(default_factory=dict)
    bad_zones: list[tuple[int, str]] = field(default_factory=list)
    # List verification (engine/leads/verification.py), of the rows that would otherwise be
    # imported: not imported because their domain has no mail server (invalid) or is a
    # disposable-address service; imported although DNS gave no answer in time (unverified),
    # or although the address is a role's (info@, sales@…).
    no_mail_server: list[InvalidRow] = field(default_factory=list)
    disposable: list[FlaggedRow] = field(default_factory=list)
    unverified: list[FlaggedRow] = field(default_factory=list)
    role: list[FlaggedRow] = field(default_factory=list)
    verified: bool = False  # VERIFY_EMAILS=mx: the domains were looked up
    domains_looked_up: int = 0
    dns_wait: float = 0.0  # seconds the import waited for DNS once the file was read
    # An Excel workbook (engine/leads/lead_file/workbook.py): the sheet read ("" for a CSV),
    # how many sheets it has, whether it had macros (never run), and how many formula cells
    # were saved without a value (they read as empty).
    sheet: str = ""
    sheets: int = 0
    macros_ignored: bool = False
    formulas_without_value: int = 0

    @property
    def duplicates(self) -> int:
        return len(self.duplicates_in_file) + len(self.already_stored)


def _new_lead(
    row: LeadRow, key: str, due: datetime, campaign_id: int, zone: LeadZone, now: datetime
) -> dict[str, Any]:
    """A lead as imported: pending, its first email due at ``due`` (now, or its window's next
    opening in its zone)."""
    return {
        "campaign_id": campaign_id,
        "timezone": zone.zone,
        "zone_source": None if zone.source == ZoneSource.CAMPAIGN else str(zone.source),
        "email": row.email,
        "email_key": key,
        "domain": store.email_domain(key),
        "first_name": row.first_name,
        "last_name": row.last_name,
        "company": row.company,
        "custom": dict(row.custom),
        "status": LeadStatus.PENDING,
        "next_step": 0,
        "followups_sent": 0,
        "queue": QUEUE_NEW,
        "next_send_at": due,
        "auto_replies": 0,
        "created_at": now,
    }


def first_due(now: datetime, config: CampaignConfig, zone: LeadZone) -> datetime:
    """When a new lead's first email may go: now, or the next opening of the campaign's window
    in the lead's zone (the campaign's, without one of its own)."""
    window = config.window
    if window is None:
        return now
    tz = (stored_zone(zone.zone) if zone.zone else None) or config.tz
    return next_allowed(now, window, tz)


def import_csv(
    ctx: EngineContext,
    data: bytes,
    *,
    progress: Progress | None = None,
    max_rows: int | None = None,
    import_id: int | None = None,
    campaign_id: int = DEFAULT_CAMPAIGN,
    verifying: Progress | None = None,
) -> ImportReport:
    """Parse and verify, then store every new valid row in ONE transaction: all or nothing.
    ``data`` is a CSV or an Excel workbook (.xlsx/.xlsm, told apart by its first bytes); a
    workbook's sheet becomes CSV text and takes exactly the CSV's path from there.
    With ``import_id`` (see ``engine.leads.imports``) that transaction also marks the import
    finished. The leads join campaign ``campaign_id``; an address pending, in sequence or
    answered in another campaign is skipped (nobody who answered one campaign gets another's
    cold email).

    The file's domains are looked up (VERIFY_EMAILS=mx) once it is read, and the transaction
    starts only when every lookup is done or the budget ran out: no transaction waits on DNS.
    ``verifying`` hears (domains done, domains in all) while the import waits for them."""
    kwargs: dict[str, Any] = {} if max_rows is None else {"max_rows": max_rows}
    book = None
    if file_kind(data) is not FileKind.CSV:
        book = read_workbook(data, max_rows=MAX_ROWS if max_rows is None else max_rows)
        data = book.csv  # the workbook's bytes are the caller's; only the CSV is kept here
        kwargs["max_bytes"] = MAX_TEXT_BYTES  # the 20 MB limit was the workbook's
    parsed = parse_leads_csv(data, **kwargs)
    del data
    keys = [normalise_email_key(r.email) for r in parsed.rows]
    # In the file's order: when the budget runs out, the domains of its first rows were checked.
    domains = list(dict.fromkeys(store.email_domain(k) for k in keys))
    with ctx.db.transaction() as session:
        settings = store.effective_settings(session, ctx.settings)
    checks = ListChecks.for_upload(settings, ctx.intervals)
    try:
        verdicts = checks.verdicts(domains, verifying)
    finally:
        checks.close()
    report = ImportReport(
        duplicates_in_file=list(parsed.duplicates_in_file),
        invalid=list(parsed.invalid),
        total_rows=parsed.total_rows,
        columns=list(parsed.columns),
        encoding=parsed.encoding,
        encoding_unsure=parsed.encoding_unsure,
        first_names=list(parsed.first_names),
        recased=parsed.recased,
        delimiter=parsed.delimiter,
        verified=settings.verify_emails == "mx",
        domains_looked_up=checks.looked_up,
        dns_wait=checks.waited,
    )
    if book is not None:
        report.sheet, report.sheets = book.sheet, book.sheets
        report.macros_ignored = book.macros_ignored
        report.formulas_without_value = book.formulas_without_value
        del book
    now = ctx.clock.now()
    total = len(parsed.rows)
    with ctx.db.transaction() as session:
        report.campaign = store.campaign(session, now, campaign_id=campaign_id).name
        config = campaign_configs(session, store.effective_settings(session, ctx.settings), now)[
            campaign_id
        ]
        opening: dict[str | None, datetime] = {}  # zone -> the first moment it may be sent
        existing, elsewhere = _existing_keys(session, keys, campaign_id)
        suppressed = store.suppressed_values(session, keys) | store.suppressed_values(
            session, domains
        )
        batch: list[dict[str, Any]] = []
        for i, (row, key) in enumerate(zip(parsed.rows, keys, strict=True)):
            if key in existing:
                report.already_stored.append(row.line)
                continue
            if key in elsewhere:
                name, answered = elsewhere[key]
                skipped = report.answered_elsewhere if answered else report.in_other_campaign
                skipped.setdefault(name, []).append(row.line)
                continue
            domain = store.email_domain(key)
            if key in suppressed or domain in suppressed:
                report.suppressed.append(row.line)
                continue
            verdict = verdicts.get(domain)
            if verdict is not None and not _passes(report, row, domain, verdict):
                continue
            if is_role_address(key):
                report.role.append(FlaggedRow(row.line, row.email))
            existing.add(key)
            zone = resolve_lead_zone(row.timezone, row.country)
            if zone.error is not None:
                report.bad_zones.append((row.line, zone.error))
            report.zone_sources[zone.source] = report.zone_sources.get(zone.source, 0) + 1
            if zone.zone not in opening:
                opening[zone.zone] = first_due(now, config, zone)
            batch.append(_new_lead(row, key, opening[zone.zone], campaign_id, zone, now))
            if len(batch) >= CHUNK:
                _insert_leads(session, batch)
                report.imported += len(batch)
                batch = []
                if progress is not None:
                    progress(i + 1, total)
        if batch:
            _insert_leads(session, batch)
            report.imported += len(batch)
        if import_id is not None:
            imports.finish_in(session, ctx, import_id, imports.DONE)
        if progress is not None:
            progress(total, total)
    return report


def _passes(report: ImportReport, row: LeadRow, domain: str, verdict: Verdict) -> bool:
    """Count a row whose domain did not simply pass verification; False: it is not imported."""
    if verdict is Verdict.DISPOSABLE:
        report.disposable.append(FlaggedRow(row.line, row.email))
        return False
    if verdict is Verdict.NO_MAIL_SERVER:
        report.no_mail_server.append(InvalidRow(row.line, row.email, no_mail_server(domain)))
        return False
    report.unverified.append(FlaggedRow(row.line, row.email))
    return True


_COPY_COLUMNS = (
    "campaign_id timezone zone_source email email_key domain first_name last_name company custom status next_step followups_sent"
    " queue next_send_at auto_replies created_at"
).split()


def _insert_leads(session: Session, batch: list[dict[str, Any]]) -> None:
    """Insert new leads in the caller's transaction. On PostgreSQL through COPY: a multi-row
    INSERT of 100,000 leads runs at ~14,000 rows/s there, COPY at several times that."""
    conn = session.connection()
    has_null = any(r[c] is None for r in batch for c in _COPY_COLUMNS if c not in _NULLABLE)
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg2" or has_null:
        session.execute(insert(Lead), batch)
        return
    buf = io.StringIO()
    out = csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC)  # "" is an empty string, not NULL
    for r in batch:
        out.writerow(
            [
                json.dumps(r[c]) if c == "custom" else r[c].isoformat() if c in _DATES else r[c]
                for c in _COPY_COLUMNS
            ]
        )
    buf.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(
            f"COPY leads ({', '.join(_COPY_COLUMNS)}) FROM STDIN WITH (FORMAT csv, "
            f"FORCE_NULL ({', '.join(_NULLABLE)}))",
            buf,
        )
    finally:
        cursor.close()


_DATES = ("next_send_at", "created_at")
# Written as "" for None and read back as NULL (FORCE_NULL): never an empty string otherwise.
_NULLABLE = ("timezone", "zone_source")


# Another campaign's lead blocks an import while it is in its sequence, or once it answered.
_BLOCKING = (*lifecycle.IN_SEQUENCE, LeadStatus.REPLIED, LeadStatus.BOUNCED)


def _existing_keys(
    session: Session, keys: list[str], campaign_id: int
) -> tuple[set[str], dict[str, tuple[str, bool]]]:
    """The addresses already in this campaign, and those another campaign holds: address ->
    (that campaign's name, answered there?)."""
    here: set[str] = set()
    elsewhere: dict[str, tuple[str, bool]] = {}
    for i in range(0, len(keys), 900):
        chunk = keys[i : i + 900]
        rows = session.execute(
            select(Lead.email_key, Lead.campaign_id, Lead.status, Lead.replied_at, Campaign.name)
            .join(Campaign, Campaign.id == Lead.campaign_id)
            .where(Lead.email_key.in_(chunk))
        )
        for key, cid, status, replied_at, name in rows:
            if cid == campaign_id:
                here.add(key)
                continue
            answered = replied_at is not None or status in (
                LeadStatus.REPLIED,
                LeadStatus.BOUNCED,
            )
            if status in _BLOCKING or answered:
                if key not in elsewhere or answered:
                    elsewhere[key] = (name, answered)
    return here, elsewhere


class AddResult(StrEnum):
    """What adding one lead did."""

    ADDED = "added"
    ALREADY_HERE = "already_here"  # the address is a lead of this campaign already
    ELSEWHERE = "elsewhere"  # in sequence, or answered, in another campaign
    SUPPRESSED = "suppressed"  # the address or its domain is on the suppression list


@dataclass(frozen=True)
class AddOutcome:
    result: AddResult
    email: str
    campaign: str  # the campaign it was added to (or would have been)
    lead_id: int | None = None  # the new lead, or the one already here
    referred_by: str | None = None  # the new lead's referrer, or the one already here's
    other_campaign: str = ""  # ELSEWHERE: that campaign's name
    answered: bool = False  # ELSEWHERE: it replied or bounced there
    suppressed: str = ""  # SUPPRESSED: the entry (the address or its domain)


def add_lead(
    session: Session,
    s: Settings,
    now: datetime,
    row: LeadRow,
    campaign_id: int,
    *,
    referred_by: str | None = None,
) -> AddOutcome:
    """One lead, in the caller's transaction, by the import's rules: an address already in the
    campaign, held by another (in sequence or answered there) or suppressed is not added.
    A new lead starts its sequence as an imported one does (pending, due now or at its
    window's next opening). ``s``: the global effective settings."""
    config = campaign_configs(session, s, now)[campaign_id]
    key = normalise_email_key(row.email)
    domain = store.email_domain(key)
    here = session.scalars(
        select(Lead).where(Lead.campaign_id == campaign_id, Lead.email_key == key).limit(1)
    ).first()
    if here is not None:
        return AddOutcome(
            AddResult.ALREADY_HERE, here.email, config.name, here.id, here.referred_by
        )
    _, elsewhere = _existing_keys(session, [key], campaign_id)
    if key in elsewhere:
        name, answered = elsewhere[key]
        return AddOutcome(
            AddResult.ELSEWHERE, row.email, config.name, other_campaign=name, answered=answered
        )
    hit = store.suppressed_values(session, [key, domain])
    if hit:
        entry = key if key in hit else domain
        return AddOutcome(AddResult.SUPPRESSED, row.email, config.name, suppressed=entry)
    zone = resolve_lead_zone(row.timezone, row.country)
    lead = Lead(**_new_lead(row, key, first_due(now, config, zone), campaign_id, zone, now))
    lead.referred_by = referred_by
    session.add(lead)
    session.flush()
    return AddOutcome(AddResult.ADDED, lead.email, config.name, lead.id, referred_by)


def custom_fields(session: Session, sample: int = 200) -> set[str]:
    """Custom column names seen on stored leads (for validating template placeholders)."""
    names: set[str] = set()
    for custom in session.scalars(select(Lead.custom).order_by(Lead.id.desc()).limit(sample)):
        names.update(str(k) for k in (custom or {}))
    return names


def counts_by_status(session: Session, campaign_id: int | None = None) -> dict[str, int]:
    """Leads per status, of one campaign (None: of all)."""
    where = [] if campaign_id is None else [Lead.campaign_id == campaign_id]
    rows = session.execute(
        select(Lead.status, func.count()).where(*where).group_by(Lead.status)
    ).all()
    counts: dict[str, int] = {str(s): 0 for s in LeadStatus if s is not LeadStatus.STOPPED}
    for status, n in rows:
        counts[status] = int(n)
    return counts


@dataclass(frozen=True)
class LeadView:
    lead: Lead
    outbound: list[OutboundMessage]
    inbound: list[InboundMessage]
    mailbox: str = ""  # the address its thread is sent from ("" before its first email)
    campaign: str = ""  # its campaign's name
    campaigns: int = 1  # how many campaigns there are (one: the words need not name it)
    zone: str = ""  # the zone its emails are timed in: its own, else its campaign's
    own_zone: bool = False  # the zone is the lead's own (from its list), not the campaign's
    local_now: datetime | None = None  # the time in that zone now


def find_lead(ctx: EngineContext, address: str, campaign_id: int | None = None) -> LeadView:
    """The lead with this address: in ``campaign_id`` when it is there, else the one most
    recently added to any campaign."""
    key = normalise_email_key(address)
    with ctx.db.transaction() as session:
        first = (Lead.campaign_id == campaign_id).desc() if campaign_id is not None else None
        order = [first] if first is not None else []
        lead = session.scalars(
            select(Lead).where(Lead.email_key == key).order_by(*order, Lead.id.desc()).limit(1)
        ).first()
        if lead is None:
            raise UserInputError(
                f"No lead with the address {address.strip()!r}. Check the spelling, or see "
                "/leads for what is stored."
            )
        return _view(session, ctx, lead)


def lead_view(ctx: EngineContext, lead_id: int) -> LeadView:
    """The lead with this id (a ``/lead_ID`` shortcut from /leads STATUS or /find)."""
    with ctx.db.transaction() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise UserInputError(
                f"There is no lead {lead_id} any more (deleted?). /leads shows what is stored."
            )
        return _view(session, ctx, lead)


def _view(session: Session, ctx: EngineContext, lead: Lead) -> LeadView:
    """The lead with its history, mailbox, campaign and zone, as /lead shows it."""
    outbound = list(
        session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.lead_id == lead.id)
            .order_by(OutboundMessage.created_at, OutboundMessage.id)
        )
    )
    inbound = list(
        session.scalars(
            select(InboundMessage)
            .where(InboundMessage.lead_id == lead.id)
            .order_by(InboundMessage.seen_at, InboundMessage.id)
        )
    )
    configs = campaign_configs(
        session, store.effective_settings(session, ctx.settings), ctx.clock.now()
    )
    config = configs.get(lead.campaign_id)
    return LeadView(
        lead,
        outbound,
        inbound,
        mailbox_address(session, ctx, lead.mailbox_id),
        campaign=config.name if config is not None else "",
        campaigns=len(configs),
        zone=lead.timezone or (config.timezone if config is not None else ""),
        own_zone=bool(lead.timezone),
        local_now=(
            ctx.clock.now().astimezone(lead_zone(lead, config)) if config is not None else None
        ),
    )


def mailbox_address(session: Session, ctx: EngineContext, mailbox_id: int | None) -> str:
    """The address of a lead's mailbox ("" when it has none yet)."""
    if mailbox_id is None:
        return ""
    if mailbox_id == PRIMARY_MAILBOX:
        return ctx.settings.email_address
    box = session.get(Mailbox, mailbox_id)
    return box.email if box is not None else ""


def _cancel_pending(session: Session, lead_id: int, why: str) -> None:
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.lead_id == lead_id, OutboundMessage.state == OutboundState.QUEUED)
        .values(state=OutboundState.CANCELLED, error=why)
    )


def stop_lead(ctx: EngineContext, lead_id: int) -> Lead:
    """Nothing more goes to this lead (its status is kept if it already replied/bounced)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        lead = session.get(Lead, lead_id, with_for_update=True)
        if lead is None:
            raise UserInputError("That lead no longer exists.")
        lifecycle.stopped(lead)
        _cancel_pending(session, lead.id, "stopped by the operator")
        store.suppress(session, now, lead.email_key, "email", "stopped by the operator")
        return lead


def delete_lead(ctx: EngineContext, lead_id: int) -> str:
    with ctx.db.transaction() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise UserInputError("That lead no longer exists.")
        email = lead.email
        session.execute(delete(OutboundMessage).where(OutboundMessage.lead_id == lead_id))
        session.delete(lead)
        return email


@dataclass(frozen=True)
class Relabelled:
    email: str
    label: str
    latest: bool  # the lead's latest reply: its interest follows


def set_reply_label(ctx: EngineContext, inbound_id: int, label: str, admin_id: int) -> Relabelled:
    """An admin corrects a reply's intent label: stored on the reply (with who corrected it),
    and on its lead when it is the lead's latest reply (what /stats and /export read)."""
    from engine.inbox.intent import Intent

    if label not in {str(i) for i in Intent}:
        raise UserInputError(f"Unknown label {label!r}.")
    with ctx.db.transaction() as session:
        row = session.get(InboundMessage, inbound_id, with_for_update=True)
        if row is None or row.lead_id is None or row.kind != InboundKind.HUMAN:
            raise UserInputError("That reply is no longer known; nothing was changed.")
        lead = session.get(Lead, row.lead_id, with_for_update=True)
        if lead is None:
            raise UserInputError("That lead no longer exists; nothing was changed.")
        row.label, row.label_by = label, admin_id
        newest = session.scalar(
            select(func.max(InboundMessage.id)).where(
                InboundMessage.lead_id == lead.id, InboundMessage.kind == InboundKind.HUMAN
            )
        )
        latest = newest == row.id
        if latest:
            lead.interest = label
        return Relabelled(lead.email, label, latest)


def set_interest(ctx: EngineContext, lead_id: int, interest: str) -> Lead:
    with ctx.db.transaction() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise UserInputError("That lead no longer exists.")
        lead.interest = interest
        return lead


@dataclass(frozen=True)
class DomainStop:
    """What "Stop whole domain" would do, shown to the operator before it is done."""

    lead_id: int
    lead_email: str
    domain: str
    leads: int  # leads at the domain, the lead itself included
    free_mail: bool  # a free-mail provider: cannot be domain-stopped


def preview_domain_stop(ctx: EngineContext, lead_id: int) -> DomainStop:
    with ctx.db.transaction() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise UserInputError("That lead no longer exists.")
        n = session.scalar(select(func.count()).select_from(Lead).where(Lead.domain == lead.domain))
        return DomainStop(lead.id, lead.email, lead.domain, int(n or 0), is_free_mail(lead.domain))


def stop_domain(ctx: EngineContext, lead_id: int) -> tuple[str, int]:
    """Send nothing more to anyone at this lead's domain. Returns (domain, leads stopped).
    A free-mail domain (gmail.com...) is refused: its leads are unrelated people."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise UserInputError("That lead no longer exists.")
        domain = lead.domain
        if is_free_mail(domain):
            raise UserInputError(
                f"{domain} is a free-mail provider, shared by unrelated people; it cannot be "
                f"stopped as a domain. Stop {lead.email} alone instead."
            )
        store.suppress(session, now, domain, "domain", f"domain stopped after {lead.email}")
        ids = list(session.scalars(select(Lead.id).where(Lead.domain == domain)))
        lifecycle.stop_domain(session, domain)
        session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.lead_id.in_(ids),
                or_(OutboundMessage.state == OutboundState.QUEUED),
            )
            .values(state=OutboundState.CANCELLED, error="domain stopped by the operator")
        )
        return domain, len(ids)
