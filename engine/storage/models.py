"""The database schema: SQLAlchemy 2 typed models. Migrations live in ``engine/migrations``.

Everything the engine needs to resume — pacing, the campaign's state, the send queue, the inbox
mark, undelivered notifications — lives here, so a restart (or another replica) changes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.states import LeadStatus, OutboundState


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (which drops zones) as well."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


# Lead queues: which line a due lead waits in. Follow-ups go before new leads.
QUEUE_FOLLOWUP, QUEUE_NEW = 1, 2

# The environment's mailbox (EMAIL_ADDRESS): the one every release before mailboxes had.
PRIMARY_MAILBOX = 1

# The campaign every release before campaigns had (``default``); leads stored without naming a
# campaign belong to it.
DEFAULT_CAMPAIGN = 1

# Outbound step numbers: 0 initial, 1..N follow-ups, CALENDAR_STEP the answer (MessageKind);
# an answer written in the chat is ANSWER_STEP + its draft's id (one row per draft and thread).
CALENDAR_STEP = 100
ANSWER_STEP = 1000

# The rows /stats reads through partial indexes (migration 0008). Queries use these very texts:
# SQLite takes a partial index only for a WHERE with the same terms, literal values included.
FAILED_EMAIL = f"state = '{OutboundState.FAILED}'"
HARD_BOUNCE_REPORT = "kind = 'bounce' AND reason LIKE 'hard bounce%'"  # engine.inbox.classify
MARKED_LEAD = "interest IS NOT NULL"


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_queue_due", "queue", "next_send_at", "id"),
        Index("ix_leads_mailbox_queue_due", "queue", "mailbox_id", "next_send_at", "id"),
        Index("ix_leads_status", "status"),
        Index("ix_leads_status_counts", "status", "replied_at", "last_sent_at"),  # /status
        Index("ix_leads_domain", "domain"),
        Index("ix_leads_email_key", "email_key"),  # the address across campaigns
        Index("ix_leads_campaign_status", "campaign_id", "status"),
        # /stats: the marked leads, where its positive replies start from.
        Index(
            "ix_leads_campaign_interest",
            "campaign_id",
            "interest",
            sqlite_where=text(MARKED_LEAD),
            postgresql_where=text(MARKED_LEAD),
        ),
        # A lead belongs to one campaign; an address is at most once in each.
        UniqueConstraint("campaign_id", "email_key", name="uq_leads_campaign_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))  # lower-cased
    domain: Mapped[str] = mapped_column(String(255))
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), default=DEFAULT_CAMPAIGN
    )
    first_name: Mapped[str] = mapped_column(String(1000), default="")
    last_name: Mapped[str] = mapped_column(String(1000), default="")
    company: Mapped[str] = mapped_column(String(1000), default="")
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default=LeadStatus.PENDING)
    next_step: Mapped[int] = mapped_column(Integer, default=0)
    followups_sent: Mapped[int] = mapped_column(Integer, default=0)
    queue: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_send_at: Mapped[datetime | None] = mapped_column(nullable=True)
    first_subject: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_inbound_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    auto_replies: Mapped[int] = mapped_column(Integer, default=0)
    interest: Mapped[str | None] = mapped_column(String(20), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The mailbox the lead's thread lives in: set by its first email, never changed after.
    mailbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The A/B letter the lead was given at its first email (None before it), kept for later
    # steps that have the same letter.
    variant: Mapped[str | None] = mapped_column(String(1), nullable=True)
    # The lead's own zone (IANA name or UTC+hh:mm), None: the campaign's; and where it came
    # from ("column", "country"; None: the campaign's).
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    zone_source: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # An out-of-office reply's last day away (its next email waits until a working day after).
    away_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The lead who named this one in a reply (their address), for a lead added from a referral.
    referred_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime]


class OutboundMessage(Base):
    __tablename__ = "outbound_messages"
    __table_args__ = (
        # One row per step of a thread; a lead restarted from another mailbox has a new thread.
        UniqueConstraint("lead_id", "mailbox_id", "step", name="uq_outbound_lead_mailbox_step"),
        Index("ix_outbound_state_due", "state", "not_before"),
        Index("ix_outbound_attempted", "attempted_at"),
        Index("ix_outbound_lead", "lead_id"),
        Index("ix_outbound_mailbox_attempted", "mailbox_id", "attempted_at"),
        Index("ix_outbound_state_mailbox", "state", "mailbox_id", "not_before"),
        # /stats and the campaign's own daily cap, answered from the index alone (0008).
        Index("ix_outbound_campaign_day", "campaign_id", "attempted_at", "state", "kind"),
        Index("ix_outbound_campaign_counts", "campaign_id", "step", "variant", "state", "kind"),
        Index(
            "ix_outbound_campaign_failed",
            "campaign_id",
            "step",
            "variant",
            sqlite_where=text(FAILED_EMAIL),
            postgresql_where=text(FAILED_EMAIL),
        ),
        # The calendar answer goes at most once per lead, whichever mailbox sends it.
        Index(
            "uq_outbound_lead_calendar",
            "lead_id",
            unique=True,
            sqlite_where=text(f"step = {CALENDAR_STEP}"),
            postgresql_where=text(f"step = {CALENDAR_STEP}"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    step: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    to_email: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(1000))
    body: Mapped[str] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(255), nullable=True)
    references: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(20))
    not_before: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    attempted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    mailbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # sent from
    campaign_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    variant: Mapped[str | None] = mapped_column(String(1), nullable=True)
    created_at: Mapped[datetime]


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (
        Index("ix_inbound_lead", "lead_id"),
        Index("ix_inbound_seen", "seen_at"),
        # /stats (0008): answers per step, variant and kind from the index alone; the hard
        # bounce reports (a few) in one of their own.
        Index("ix_inbound_campaign_answers", "campaign_id", "step", "variant", "kind", "lead_id"),
        Index(
            "ix_inbound_hard_bounces",
            "campaign_id",
            "step",
            "variant",
            "lead_id",
            sqlite_where=text(HARD_BOUNCE_REPORT),
            postgresql_where=text(HARD_BOUNCE_REPORT),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(512), unique=True)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # bounce | auto_reply | opt_out | human | other
    reason: Mapped[str] = mapped_column(String(500), default="")
    from_email: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(1000), default="")
    snippet: Mapped[str] = mapped_column(Text, default="")
    folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    uid: Mapped[int] = mapped_column(BigInteger, default=0)  # IMAP UIDs are unsigned 32-bit
    received_at: Mapped[datetime | None] = mapped_column(nullable=True)
    seen_at: Mapped[datetime]
    mailbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # read from
    # What it answered, for the stats: the campaign, and the step and variant of the lead's last
    # email before it.
    campaign_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    variant: Mapped[str | None] = mapped_column(String(1), nullable=True)
    # A human reply's whole new text (quotes and signature removed, capped: MAX_BODY_TEXT) for
    # "Full text", and the thread it cites (its References), for an answer from the chat.
    body_text: Mapped[str] = mapped_column(Text, default="")
    thread_refs: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Its intent (engine.inbox.intent.Intent), by the rules or corrected by an admin (label_by).
    label: Mapped[str | None] = mapped_column(String(20), nullable=True)
    label_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AnswerDraft(Base):
    """An answer to a lead written in the chat: awaiting its text, ready (previewed), sending
    (its outbound row claimed; that row's state says whether it went), sent, cancelled or
    expired. Send claims the draft and its outbound row in one transaction, so two presses (or
    two admins) send once, and a crash after the claim is settled like any other email."""

    __tablename__ = "answer_drafts"
    __table_args__ = (Index("ix_answer_drafts_admin_state", "admin_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL"), nullable=True
    )
    admin_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20))  # DraftState
    body: Mapped[str] = mapped_column(Text, default="")
    preview_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    outbound_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Campaign(Base):
    """One campaign: its own leads, sequence, templates and settings. The table keeps the name
    it had when there was one campaign (row 1, ``default`` since revision 0007)."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), default="default")
    name_key: Mapped[str] = mapped_column(String(40), unique=True)  # lower-cased
    state: Mapped[str] = mapped_column(String(20), default="stopped")  # running|paused|stopped
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_at: Mapped[datetime]
    created_at: Mapped[datetime]


class CampaignSetting(Base):
    """A campaign's own value of a campaign-level setting (``/settings KEY VALUE`` with the
    campaign selected); a key without a row takes the global value."""

    __tablename__ = "campaign_settings"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class AdminSelection(Base):
    """The campaign an admin's campaign-scoped commands act on (``/campaign NAME``)."""

    __tablename__ = "admin_selections"

    admin_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime]


class Mailbox(Base):
    """A sending account. Mailbox 1 is the environment's (``source = env``: its address,
    password and servers come from EMAIL_*/SMTP_*/IMAP_*); the others are added from the chat,
    with the password encrypted by SECRET_KEY. Unset values fall back to the environment's
    (servers) or the settings' (``daily_limit``, ``sender_name``, ``ramp_up``)."""

    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    source: Mapped[str] = mapped_column(String(10))  # MailboxSource
    password_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    smtp_server: Mapped[str | None] = mapped_column(String(255), nullable=True)
    smtp_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    smtp_security: Mapped[str | None] = mapped_column(String(10), nullable=True)
    imap_server: Mapped[str | None] = mapped_column(String(255), nullable=True)
    imap_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    imap_security: Mapped[str | None] = mapped_column(String(10), nullable=True)
    daily_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sender_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    ramp_up: Mapped[str | None] = mapped_column(String(20), nullable=True)
    ramp_started_at: Mapped[datetime | None] = mapped_column(nullable=True)  # first send
    state: Mapped[str] = mapped_column(String(20))  # MailboxStatus
    hold: Mapped[str | None] = mapped_column(String(20), nullable=True)  # MailboxHold
    hold_detail: Mapped[str] = mapped_column(Text, default="")
    last_check_at: Mapped[datetime | None] = mapped_column(nullable=True)  # reply check
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MailboxState(Base):
    """Pacing and account state of one mailbox (``id`` is the mailbox's id), global to the
    mailbox (not per replica)."""

    __tablename__ = "mailbox_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    next_send_at: Mapped[datetime | None] = mapped_column(nullable=True)
    batch_count: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    blocked_reason: Mapped[str] = mapped_column(Text, default="")
    retry_failures: Mapped[int] = mapped_column(Integer, default=0)
    recipient_errors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sent_copy_check: Mapped[str] = mapped_column(String(20), default="unknown")
    updated_at: Mapped[datetime]


class SettingOverride(Base):
    __tablename__ = "setting_overrides"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class TemplateRow(Base):
    """One variant of one step's template of one campaign (a step without a row uses the
    shipped default)."""

    __tablename__ = "campaign_templates"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    variant: Mapped[str] = mapped_column(String(1), primary_key=True, default="A")
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Suppression(Base):
    """An address or a whole domain that must never be emailed again."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased email or domain
    kind: Mapped[str] = mapped_column(String(10))  # email | domain
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]


class ImapSync(Base):
    """The inbox mark of one mailbox's folder: UIDVALIDITY and the last UID handled."""

    __tablename__ = "imap_marks"

    mailbox_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder: Mapped[str] = mapped_column(String(255), primary_key=True)
    # Unsigned 32-bit on the wire (RFC 3501): more than a signed INTEGER holds.
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]


class PendingNotification(Base):
    """A notification for the admins, written in the same transaction as the event it reports,
    waiting to be delivered to the chat (it has nothing to do with outgoing email).

    The table keeps its historical name ``outbox``: renaming it would need a migration for no
    change in behaviour."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A delivery claims its rows (committed) before calling Telegram; a crashed claimant's rows
    # are taken again once the claim expires.
    claim_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claim_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Alert(Base):
    """A standing condition (account broken, quota, ...): admins hear once when it starts and
    once when it clears."""

    __tablename__ = "alerts"

    condition: Mapped[str] = mapped_column(String(50), primary_key=True)
    scope: Mapped[str] = mapped_column(String(50), primary_key=True, default="")  # mailbox:N
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str] = mapped_column(Text, default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    since: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime]


class Lease(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime]


class Replica(Base):
    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class JobRun(Base):
    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_success_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_missed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class DailyRun(Base):
    """A run ledger: one row per (job, local day), so the midnight reset happens exactly once."""

    __tablename__ = "daily_runs"
    __table_args__ = (UniqueConstraint("job", "day", name="uq_daily_runs_job_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(50))
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD in TIMEZONE
    owner: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class ImportRun(Base):
    """One CSV import from the chat, recorded when it starts. Its leads are stored in the same
    transaction that sets ``finished_at``, so an import without it stored nothing."""

    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_unfinished", "finished_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255), default="")
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # progress message
    owner: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
