"""Use-cases the operator calls: run/pause/stop, settings, templates and the test email; the
dashboard (engine/campaigns/dashboard.py) and the export (engine/campaigns/export.py) are
reached through here too."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.campaigns import config as campaign_config
from engine.campaigns.dashboard import (  # noqa: F401 - the use-cases the bot calls
    ActiveAlert,
    JobInfo,
    MailboxLine,
    StatusReport,
    status,
)
from engine.campaigns.export import EXPORT_COLUMNS, export_csv  # noqa: F401
from engine.config import TUNABLES, check_overrides, display_value, parse_tunable
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.leads.service import custom_fields
from engine.mailboxes import faults
from engine.notify import clear_alert
from engine.reasons import Reason
from engine.sending.claims import in_flight
from engine.sending.messages import Outgoing, build_message, make_message_id
from engine.states import (
    AlertCondition,
    CampaignState,
    MailboxStatus,
    MessageKind,
    OutboundState,
    StateReason,
)
from engine.storage import store
from engine.storage.models import (
    DEFAULT_CAMPAIGN,
    PRIMARY_MAILBOX,
    Mailbox,
    OutboundMessage,
)
from engine.templates import (
    SAMPLE_EMAIL,
    Template,
    is_template_name,
    normalise_template_name,
    parse_template_message,
    render_template,
    sample_values,
    template_names,
    validate_template,
)
from engine.unsubscribe.links import unsubscribe_url

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
        links = bool(ctx.settings.public_url and ctx.settings.secret_key)
        validate_template(t, custom_fields(session), unsubscribe_links=links)
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
    (blocking). Its ``{unsubscribe_link}`` is a real link to the page, for lead 0, which never
    exists: pressing the button there unsubscribes nobody. The email carries no one-click
    header (it is no campaign email)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        to = validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError as e:
        raise UserInputError(f"{address.strip()!r} is not a valid email address: {e}") from None
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        s = store.effective_settings(session, ctx.settings)
        s = campaign_config.load(session, s, campaign_id, now).settings_for(s)
        link = unsubscribe_url(s.public_url, s.secret_key, 0, campaign_id, SAMPLE_EMAIL)
        values = sample_values(s.sender_name, s.email_address, s.calendar_link, link or "")
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
