"""Use-cases the operator calls: run/pause/stop, the status dashboard, export, settings,
templates and the test email."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine.campaigns import config as campaign_config
from engine.campaigns.timing import configs as campaign_configs
from engine.config import TUNABLES, Settings, check_overrides, display_value, parse_tunable
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.leads.lead_file.rows import FORMULA_START
from engine.leads.service import custom_fields
from engine.mailboxes import faults
from engine.notify import active_alerts, alert_payload, clear_alert
from engine.reasons import Reason
from engine.sending.claims import count_uncertain, in_flight
from engine.sending.gate import COUNTED_STATES, send_counts, send_gate
from engine.sending.messages import Outgoing, build_message, make_message_id
from engine.sending.pacing import Gate, day_start
from engine.states import (
    AlertCondition,
    CampaignState,
    Hold,
    LeadStatus,
    MailboxStatus,
    MessageKind,
    OutboundState,
    StateReason,
)
from engine.storage import store
from engine.storage.models import (
    DEFAULT_CAMPAIGN,
    PRIMARY_MAILBOX,
    QUEUE_FOLLOWUP,
    QUEUE_NEW,
    Alert,
    Campaign,
    InboundMessage,
    JobRun,
    Lead,
    Lease,
    Mailbox,
    OutboundMessage,
    Replica,
)
from engine.templates import (
    Template,
    is_template_name,
    normalise_template_name,
    parse_template_message,
    render_template,
    sample_values,
    template_names,
    validate_template,
)

# The pauses the engine made that an admin's /run says are fixed.
CLEARED_BY_RUN = (
    AlertCondition.ACCOUNT,
    AlertCondition.CONTENT,
    AlertCondition.BOUNCE_RATE,
    AlertCondition.RECORD_FAILED,
)


def run(ctx: EngineContext, campaign_id: int = DEFAULT_CAMPAIGN) -> CampaignState:
    """Start or resume. Clears a pause the engine made (the operator says the cause is fixed):
    the campaign's, and every mailbox a fault paused."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        camp = store.campaign(session, now, lock=True, campaign_id=campaign_id)
        previous = CampaignState(camp.state)
        store.set_campaign_state(session, now, CampaignState.RUNNING, campaign_id=campaign_id)
        released = faults.release_faults(session, now)
        for mailbox_id in sorted({PRIMARY_MAILBOX, *released}):
            scope = faults.scope_of(mailbox_id)
            payload = faults.named(session, mailbox_id, {"by": "admin"})
            for condition in CLEARED_BY_RUN:
                clear_alert(session, now, condition, payload, scope=scope)
            mb = store.mailbox(session, now, lock=True, mailbox_id=mailbox_id)
            mb.recipient_errors = {}
        return previous


@dataclass(frozen=True)
class BrakeResult:
    """What /pause or /stop did: the state before, and how many emails were already inside
    their SMTP transaction when the brake was committed (at most; they may still arrive)."""

    previous: CampaignState
    in_flight: int


def pause(ctx: EngineContext, campaign_id: int = DEFAULT_CAMPAIGN) -> BrakeResult:
    return _brake(ctx, CampaignState.PAUSED, Reason.of(StateReason.ADMIN_PAUSE), campaign_id)


def stop(ctx: EngineContext, campaign_id: int = DEFAULT_CAMPAIGN) -> BrakeResult:
    return _brake(ctx, CampaignState.STOPPED, Reason.of(StateReason.ADMIN_STOP), campaign_id)


def _brake(
    ctx: EngineContext, state: CampaignState, reason: Reason, campaign_id: int
) -> BrakeResult:
    """Commit the new state first, then count what is in flight: a sender reads the committed
    state before each SMTP transaction, so once the state is committed only an email already
    past that read can still go out, and its claim is still ``sending`` when we count."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        previous = CampaignState(
            store.campaign(session, now, lock=True, campaign_id=campaign_id).state
        )
        store.set_campaign_state(session, now, state, reason, campaign_id=campaign_id)
    with ctx.db.transaction() as session:
        return BrakeResult(previous, in_flight(session, ctx.clock.now(), campaign_id))


@dataclass(frozen=True)
class ActiveAlert:
    """A standing condition for the dashboard: its payload (the bot words it), or for a row
    stored as text by an older release only that ``detail``."""

    condition: str
    payload: dict[str, Any] | None
    detail: str

    @classmethod
    def of(cls, alert: Alert) -> ActiveAlert:
        return cls(alert.condition, alert_payload(alert), alert.detail or "")


@dataclass
class JobInfo:
    job: str
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int


MAILBOX_LINES = 5  # more mailboxes than this: /status points at /mailboxes


@dataclass(frozen=True)
class MailboxLine:
    email: str
    sent_today: int
    cap: int
    state: str
    hold: str | None


def _mailbox_lines(
    session: Session, s: Settings, now: datetime
) -> tuple[list[MailboxLine], int, int]:
    """Each mailbox's sent today against its cap (when there are several and few enough to
    list), the sum of the active mailboxes' caps, and how many mailboxes there are."""
    from engine.mailboxes import accounts

    boxes = session.scalars(
        select(Mailbox).where(Mailbox.state != MailboxStatus.REMOVED).order_by(Mailbox.id)
    ).all()
    caps = {b.id: accounts.resolve(b, s, "").cap(now, s.tz) for b in boxes}
    total = sum(caps[b.id] for b in boxes if b.state == MailboxStatus.ACTIVE)
    if len(boxes) <= 1:  # one mailbox: its cap for today, whatever its state
        return [], caps[boxes[0].id] if boxes else s.daily_limit, len(boxes)
    if len(boxes) > MAILBOX_LINES:
        return [], total, len(boxes)
    lines = [
        MailboxLine(
            b.email if b.id != PRIMARY_MAILBOX else s.email_address,
            send_counts(session, now, s, b.id).sent_today,
            caps[b.id],
            b.state,
            b.hold,
        )
        for b in boxes
    ]
    return lines, total, len(boxes)


@dataclass
class StatusReport:
    now: datetime
    campaign: str  # its name
    campaign_count: int  # campaigns there are (one: the words need not name it)
    campaign_sent_today: int  # of this campaign (sent_today: every mailbox's, all campaigns)
    campaign_limit: int | None  # the campaign's own daily limit, if it has one
    state: str
    reason: str
    sent_today: int
    sent_last_24h: int
    daily_limit: int
    counts: dict[str, int]
    total_leads: int
    replies_today: int
    replies_total: int
    bounces: int
    opt_outs: int
    auto_replies: int
    sent_leads: int
    next_send_at: datetime | None
    hold: Hold | None  # why nothing goes before next_send_at (None: an email is due by then)
    hold_detail: Mapping[str, Any]  # what the hold's words need (see engine.states.Hold)
    uncertain: int
    sent_copy_check: str
    alerts: list[ActiveAlert] = field(default_factory=list)
    jobs: list[JobInfo] = field(default_factory=list)
    replicas: list[tuple[str, datetime]] = field(default_factory=list)
    leases: list[tuple[str, str, datetime]] = field(default_factory=list)
    # With several mailboxes: one line each (at most MAILBOX_LINES, else only their number).
    mailboxes: list[MailboxLine] = field(default_factory=list)
    mailbox_count: int = 1

    @property
    def reply_rate(self) -> float:
        return self.replies_total / self.sent_leads if self.sent_leads else 0.0


def _next_send(
    session: Session, g: Gate, now: datetime, campaign_id: int, only: bool
) -> tuple[datetime | None, Gate]:
    """When the campaign's next email goes, and the gate that holds it back (the closed gate
    itself, or ``NOTHING_DUE``); an open gate when an email is due now or at that time.
    ``only``: it is the only campaign (the queries need no campaign condition)."""
    if not g.allowed:
        return g.wait_until, g
    of_lead = [] if only else [Lead.campaign_id == campaign_id]
    of_row = [] if only else [OutboundMessage.campaign_id == campaign_id]
    due = [
        session.scalar(select(func.min(Lead.next_send_at)).where(Lead.queue == q, *of_lead))
        for q in (QUEUE_FOLLOWUP, QUEUE_NEW)
    ]
    queued = session.scalar(
        select(func.min(func.coalesce(OutboundMessage.not_before, now))).where(
            OutboundMessage.state == OutboundState.QUEUED, *of_row
        )
    )
    candidates = [d for d in [*due, queued] if d is not None]
    if not candidates:
        return None, Gate(Hold.NOTHING_DUE)
    return max(min(candidates), now), g


def _lead_counts(
    session: Session, today: datetime, campaign_id: int, only: bool
) -> tuple[dict[str, int], int, int, int]:
    """The campaign's leads per status, replies today, replies in all, leads emailed at least
    once."""
    # One pass over the leads for every count: four separate scans took ~0.5 s at 1M leads.
    counts: dict[str, int] = {str(st): 0 for st in LeadStatus if st is not LeadStatus.STOPPED}
    replies_today = replies_total = sent_leads = 0
    for st, n, replied, sent, replied_today in session.execute(
        select(
            Lead.status,
            func.count(),
            func.count(Lead.replied_at),
            func.count(Lead.last_sent_at),
            func.coalesce(func.sum(case((Lead.replied_at >= today, 1), else_=0)), 0),
        )
        .where(*([] if only else [Lead.campaign_id == campaign_id]))
        .group_by(Lead.status)
    ):
        counts[st] = int(n)
        replies_total += int(replied)
        sent_leads += int(sent)
        replies_today += int(replied_today)
    return counts, replies_today, replies_total, sent_leads


def status(ctx: EngineContext, campaign_id: int = DEFAULT_CAMPAIGN) -> StatusReport:
    """The dashboard of one campaign (its leads, replies, next email and what holds it), with
    the mailboxes' sending today, the alerts and the service's jobs."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        s = store.effective_settings(session, ctx.settings)
        camp = store.campaign(session, now, campaign_id=campaign_id)
        only = session.scalar(select(func.count()).select_from(Campaign)) == 1
        mb = store.mailbox(session, now)
        sc = send_counts(session, now, s)
        g = send_gate(session, ctx, now, lock=False, campaign_id=campaign_id)
        next_at, waiting = _next_send(session, g, now, campaign_id, only)
        kinds: dict[str, int] = {
            str(k): int(n)
            for k, n in session.execute(
                select(InboundMessage.kind, func.count())
                .where(*([] if only else [InboundMessage.campaign_id == campaign_id]))
                .group_by(InboundMessage.kind)
            ).all()
        }
        today = day_start(now, s.tz)
        counts, replies_today, replies_total, sent_leads = _lead_counts(
            session, today, campaign_id, only
        )
        boxes, cap_total, box_count = _mailbox_lines(session, s, now)
        config = campaign_config.load(session, s, campaign_id, now)
        mine = int(
            session.scalar(
                select(func.count())
                .select_from(OutboundMessage)
                .where(
                    OutboundMessage.campaign_id == campaign_id,
                    OutboundMessage.attempted_at >= today,
                    OutboundMessage.state.in_(COUNTED_STATES),
                )
            )
            or 0
        )
        if only and config.daily_limit is not None:  # one campaign: its own cap is the cap
            cap_total = min(cap_total, config.daily_limit)
        jobs = [
            JobInfo(j.job, j.last_success_at, j.last_error, j.consecutive_failures)
            for j in session.scalars(select(JobRun).order_by(JobRun.job))
        ]
        replicas = [
            (r.id, r.heartbeat_at)
            for r in session.scalars(select(Replica).order_by(Replica.started_at))
            if (now - r.heartbeat_at).total_seconds() < ctx.intervals.replica_live
        ]
        leases = [
            (le.name, le.owner, le.expires_at)
            for le in session.scalars(select(Lease).order_by(Lease.name))
            if le.expires_at > now
        ]
        return StatusReport(
            now=now,
            campaign=camp.name,
            campaign_count=int(session.scalar(select(func.count()).select_from(Campaign)) or 1),
            campaign_sent_today=mine,
            campaign_limit=config.daily_limit,
            state=camp.state,
            reason=camp.reason,
            sent_today=sc.sent_today,
            sent_last_24h=sc.sent_last_24h,
            daily_limit=cap_total,
            counts=counts,
            total_leads=sum(counts.values()),
            replies_today=int(replies_today or 0),
            replies_total=int(replies_total or 0),
            bounces=counts.get(LeadStatus.BOUNCED, 0),
            opt_outs=counts.get(LeadStatus.UNSUBSCRIBED, 0),
            auto_replies=int(kinds.get("auto_reply", 0)),
            sent_leads=int(sent_leads or 0),
            next_send_at=next_at,
            hold=waiting.hold,
            hold_detail=waiting.detail,
            uncertain=count_uncertain(session),
            sent_copy_check=mb.sent_copy_check,
            alerts=[ActiveAlert.of(a) for a in active_alerts(session)],
            jobs=jobs,
            replicas=replicas,
            leases=leases,
            mailboxes=boxes,
            mailbox_count=box_count,
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


@dataclass(frozen=True)
class SettingLine:
    """One row of /settings: its value, whether it was set from the chat (on this campaign,
    for a campaign key), and whose it is."""

    key: str
    value: str
    changed: bool
    campaign: bool  # the campaign's own key (else global)


def settings_view(ctx: EngineContext, campaign_id: int = DEFAULT_CAMPAIGN) -> list[SettingLine]:
    """The campaign's keys (its values), then the global tunables."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        o = store.overrides(session)
        s = store.effective_settings(session, ctx.settings)
        config = campaign_config.load(session, s, campaign_id, now)
    own = [
        SettingLine(k, campaign_config.display(config, s, k), k in config.own, True)
        for k in campaign_config.CAMPAIGN_KEYS
    ]
    shared = [
        SettingLine(k, display_value(s, k), k in o, False)
        for k in TUNABLES
        if k not in campaign_config.CAMPAIGN_KEYS
    ]
    return own + shared


def change_setting(
    ctx: EngineContext, key: str, raw: str, campaign_id: int = DEFAULT_CAMPAIGN
) -> str:
    """``/settings KEY VALUE``: a campaign key on the campaign, any other tunable globally.
    Returns the value as /settings shows it."""
    key = key.strip().lower()
    keys = settable_keys()
    if key not in keys:
        raise UserInputError(
            f"There is no setting called {key!r}. You can change: {', '.join(keys)}."
        )
    if key in campaign_config.CAMPAIGN_KEYS:
        return _change_campaign_setting(ctx, key, raw, campaign_id)
    try:
        parse_tunable(key, raw)
    except ValueError as e:
        raise UserInputError(f"{e}. Nothing was changed.") from None
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        current = store.overrides(session)
        current[key] = raw.strip()
        problems = check_overrides(ctx.settings, current)
        if problems:
            raise UserInputError("; ".join(problems) + ". Nothing was changed.")
        store.save_override(session, now, key, raw.strip())
        s = store.effective_settings(session, ctx.settings)
        return display_value(s, key)


# Keys that, from the chat, are only the campaign's (the global DAILY_LIMIT stays the default
# cap of every mailbox; a mailbox's own cap is /mailbox set EMAIL daily_limit N).
CAMPAIGN_ONLY = ("daily_limit",)


def settable_keys() -> list[str]:
    """Every key ``/settings KEY VALUE`` takes: the campaign's, then the global ones."""
    own = campaign_config.CAMPAIGN_KEYS
    return [*own, *(k for k in TUNABLES if k not in own)]


def _change_campaign_setting(ctx: EngineContext, key: str, raw: str, campaign_id: int) -> str:
    value = raw.strip()
    wanted: frozenset[str] | None = None
    try:
        if key == "daily_limit":
            campaign_config.parse_daily_limit(value)
        elif key == "mailboxes":
            wanted = campaign_config.parse_mailboxes(value)
        else:
            parse_tunable(key, value)
    except ValueError as e:
        raise UserInputError(f"{e}. Nothing was changed.") from None
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        if key == "mailboxes" and wanted is not None:
            known = {
                (ctx.settings.email_address if b.id == PRIMARY_MAILBOX else b.email).lower()
                for b in session.scalars(
                    select(Mailbox).where(Mailbox.state != MailboxStatus.REMOVED)
                )
            }
            unknown = sorted(wanted - known)
            if unknown:
                raise UserInputError(
                    f"No mailbox {', '.join(unknown)}. Your mailboxes: "
                    f"{', '.join(sorted(known))} (see /mailboxes). Nothing was changed."
                )
        store.campaign(session, now, lock=True, campaign_id=campaign_id)
        store.save_campaign_setting(session, now, campaign_id, key, value)
        session.info.pop("campaign_configs", None)
        s = store.effective_settings(session, ctx.settings)
        config = campaign_config.load(session, s, campaign_id, now)
        return campaign_config.display(config, s, key)


def templates_view(ctx: EngineContext, campaign_id: int = DEFAULT_CAMPAIGN) -> list[Template]:
    """Every step of the campaign's sequence (variant A; see :func:`template_variants_view`)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        s = store.effective_settings(session, ctx.settings)
        config = campaign_config.load(session, s, campaign_id, now)
        return [
            store.template(session, n, campaign_id=campaign_id)
            for n in template_names(len(config.followup_delays))
        ]


def change_template(
    ctx: EngineContext,
    name: str,
    text: str,
    campaign_id: int = DEFAULT_CAMPAIGN,
    variant: str = "A",
) -> Template:
    name = normalise_template_name(name)
    if not is_template_name(name):
        raise UserInputError(
            f"There is no template called {name!r}. Use initial, followup_1, followup_2, … or "
            "calendar."
        )
    subject, body = parse_template_message(text)
    return save_template(ctx, name, subject, body, campaign_id, variant)


def save_template(
    ctx: EngineContext,
    name: str,
    subject: str,
    body: str,
    campaign_id: int = DEFAULT_CAMPAIGN,
    variant: str = "A",
) -> Template:
    """Store variant ``variant`` of step ``name`` of the campaign, validated (placeholders,
    spintax). An empty ``subject`` keeps the current one. The calendar answer has no variants."""
    name = normalise_template_name(name)
    if name == "calendar" and variant != "A":
        raise UserInputError(
            "The calendar answer has no variants: each lead who replies gets it once. Change "
            "it with /template calendar."
        )
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        store.campaign(session, now, lock=True, campaign_id=campaign_id)
        if not subject:
            subject = store.template(
                session, name, campaign_id=campaign_id, variant=variant
            ).subject
        t = Template(name=name, subject=subject, body=body)
        validate_template(t, custom_fields(session))
        store.save_template(session, now, t, campaign_id=campaign_id, variant=variant)
        return t


def delete_template_variant(ctx: EngineContext, campaign_id: int, name: str, variant: str) -> bool:
    """``/template STEP VARIANT delete``: the variant's text is removed, and the step's other
    variants are sent from now on. False when the campaign has no such variant. Variant A (the
    step's own text) stays."""
    name = normalise_template_name(name)
    if variant == "A":
        raise UserInputError(
            f"Variant A is the step's own text and stays; change it with /template {name}, or "
            f"remove another variant, e.g. /template {name} B delete."
        )
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        store.campaign(session, now, lock=True, campaign_id=campaign_id)
        return store.delete_template(session, name, campaign_id=campaign_id, variant=variant)


def send_test(ctx: EngineContext, address: str, campaign_id: int = DEFAULT_CAMPAIGN) -> str:
    """Send the campaign's first template, rendered with sample data, to ``address``
    (blocking)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        to = validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError as e:
        raise UserInputError(f"{address.strip()!r} is not a valid email address: {e}") from None
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        s = store.effective_settings(session, ctx.settings)
        s = campaign_config.load(session, s, campaign_id, now).settings_for(s)
        values = sample_values(s.sender_name, s.email_address, s.calendar_link)
        initial = store.template(session, "initial", campaign_id=campaign_id)
        subject, body = render_template(initial, values, ctx.rng)
        row = OutboundMessage(
            lead_id=None,
            kind=MessageKind.TEST,
            step=0,
            message_id=make_message_id(s.email_address),
            to_email=to,
            subject=subject,
            body=body,
            state=OutboundState.SENDING,
            attempts=1,
            attempted_at=now,
            mailbox_id=PRIMARY_MAILBOX,  # sent from the environment's mailbox, on its cap
            created_at=now,
        )
        session.add(row)
        session.flush()
        row_id = row.id
    msg = build_message(
        Outgoing(message_id=row.message_id, to_email=to, to_name="", subject=subject, body=body),
        sender_email=s.email_address,
        sender_name=s.sender_name or None,
        date=now,
    )
    mailer = ctx.new_mailer()
    try:
        mailer.send(msg, from_addr=s.email_address, to_addr=to)
    except Exception:
        with ctx.db.transaction() as session:
            r = session.get(OutboundMessage, row_id)
            if r is not None:
                r.state = OutboundState.FAILED
        raise
    finally:
        mailer.close()
    with ctx.db.transaction() as session:
        r = session.get(OutboundMessage, row_id)
        if r is not None:
            r.state = OutboundState.SENT
            r.sent_at = ctx.clock.now()
    return subject
