"""The mailbox use-cases the bot calls: add (verified before it is saved), pause, resume, set one
value; removal (``engine.mailboxes.removal``), the /mailboxes overview
(``engine.mailboxes.overview``) and the check at start (``engine.mailboxes.startup``) are
re-exported here.

Each returns data or raises ``UserInputError`` for an operator's mistake, with words saying
what was wrong and what to do; a login that does not work is a result (``AddResult`` with a
``LoginFailure``), not an error. No result, error or log line holds a password.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import notify
from engine.campaign import CLEARED_BY_RUN
from engine.context import EngineContext
from engine.errors import SecretKeyMissing, UserInputError
from engine.mailboxes import accounts, faults
from engine.mailboxes.lookup import MailboxRef, address_of, find, refuse_removed
from engine.mailboxes.overview import MailboxView, overview
from engine.mailboxes.removal import LeadsChoice, Removal, RemovalPreview, remove, remove_preview
from engine.mailboxes.spec import KEYS, CsvRow, MailboxSpec, parse_option
from engine.mailboxes.startup import StartCheck, at_start
from engine.mailboxes.vault import Vault
from engine.mailboxes.verify import LoginFailure, fill_servers, verify_logins
from engine.states import CampaignState, MailboxHold, MailboxSource, MailboxStatus
from engine.storage import store
from engine.storage.models import Mailbox

__all__ = [
    "AddResult",
    "BulkRow",
    "Change",
    "LeadsChoice",
    "LoginFailure",
    "MailboxView",
    "Removal",
    "RemovalPreview",
    "StartCheck",
    "add",
    "add_many",
    "at_start",
    "overview",
    "pause",
    "remove",
    "remove_preview",
    "resume",
    "set_option",
]

log = logging.getLogger(__name__)

Outcome = Literal["added", "updated", "failed"]
BULK_PARALLEL = 4  # logins checked at once for a CSV of mailboxes
# What the environment decides for mailbox 1: its servers are SMTP_*/IMAP_*.
ENV_ONLY_KEYS = frozenset(k for k in KEYS if k.startswith(("smtp_", "imap_")))


@dataclass(frozen=True)
class AddResult:
    """What came of adding one mailbox: ``added`` or ``updated`` (saved), or ``failed`` with
    the login that failed (nothing saved). ``provider`` names the preset its servers came from."""

    email: str
    outcome: Outcome
    mailbox_id: int | None = None
    provider: str | None = None
    failure: LoginFailure | None = None


@dataclass(frozen=True)
class BulkRow:
    """One line of a CSV of mailboxes: its result, or what is wrong with the line (then nothing
    was tried)."""

    line: int
    result: AddResult | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Change:
    """A mailbox's state before and after a pause or resume (equal: nothing to do)."""

    mailbox_id: int
    email: str
    before: MailboxStatus
    after: MailboxStatus
    hold: str | None = None  # the hold it had before (a resume clears it)
    campaign: CampaignState = CampaignState.RUNNING  # after a resume: may it send at all?


@dataclass(frozen=True)
class _Verified:
    """A mailbox whose logins worked, ready to be saved."""

    spec: MailboxSpec
    values: dict[str, Any]
    provider: str | None


def _vault(ctx: EngineContext) -> Vault:
    if ctx.vault is None:
        raise SecretKeyMissing
    return ctx.vault


def _env_address(email: str) -> UserInputError:
    return UserInputError(
        f"{email} is the environment's mailbox (EMAIL_ADDRESS); it is always there. To change "
        "its password or servers, set EMAIL_PASSWORD or SMTP_*/IMAP_* and restart."
    )


def add(ctx: EngineContext, spec: MailboxSpec) -> AddResult:
    """Add a mailbox, or update the one with that address: its logins are checked first, and it
    is saved (the password encrypted with SECRET_KEY) only when both work."""
    _vault(ctx)
    checked = _verify(ctx, spec)
    return checked if isinstance(checked, AddResult) else _save(ctx, checked)


def add_many(ctx: EngineContext, rows: list[CsvRow]) -> list[BulkRow]:
    """Each line of a CSV of mailboxes, added as ``add`` does (logins checked a few at a time),
    in line order."""
    _vault(ctx)

    def verify(row: CsvRow) -> BulkRow | _Verified:
        line, spec = row
        if isinstance(spec, str):
            return BulkRow(line, problem=spec)
        try:
            checked = _verify(ctx, spec)
        except UserInputError as e:
            return BulkRow(line, problem=str(e))
        return BulkRow(line, result=checked) if isinstance(checked, AddResult) else checked

    with ThreadPoolExecutor(BULK_PARALLEL, "mailbox-check") as pool:
        checked = list(pool.map(verify, rows))
    # Saved one at a time, in line order: each is its own transaction.
    return [
        c if isinstance(c, BulkRow) else BulkRow(line, result=_save(ctx, c))
        for (line, _spec), c in zip(rows, checked, strict=True)
    ]


def _verify(ctx: EngineContext, spec: MailboxSpec) -> _Verified | AddResult:
    """The mailbox's values (what is stored for that address, with the spec's on top, unset
    servers from the provider), and its logins checked."""
    key = spec.email.lower()
    if key == ctx.settings.email_address.lower():
        raise _env_address(spec.email)
    with ctx.db.transaction() as session:
        s = store.effective_settings(session, ctx.settings)
        row = _by_address(session, key)
        stored = {k: getattr(row, k) for k in KEYS} if row is not None else {}
    values = {k: v if (v := getattr(spec, k)) is not None else stored.get(k) for k in KEYS}
    provider = fill_servers(values, key.rpartition("@")[2], s)
    draft = Mailbox(
        id=0,
        email=spec.email,
        source=MailboxSource.CHAT,
        state=MailboxStatus.ACTIVE,
        **values,
    )
    failure = verify_logins(accounts.resolve(draft, s, spec.password))
    if failure is not None:
        log.info("mailbox %s not saved: the %s login failed", spec.email, failure.login)
        return AddResult(spec.email, "failed", provider=provider, failure=failure)
    return _Verified(spec, values, provider)


def _by_address(session: Session, key: str, *, lock: bool = False) -> Mailbox | None:
    stmt = select(Mailbox).where(Mailbox.email_key == key)
    row = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is not None and row.source == MailboxSource.ENV:
        raise _env_address(row.email)
    return row


def _save(ctx: EngineContext, v: _Verified) -> AddResult:
    vault = _vault(ctx)
    now = ctx.clock.now()
    key = v.spec.email.lower()
    with ctx.db.transaction() as session:
        row = _by_address(session, key, lock=True)
        outcome: Outcome = "added" if row is None else "updated"
        if row is None:
            row = Mailbox(
                email_key=key,
                source=MailboxSource.CHAT,
                state=MailboxStatus.ACTIVE,
                hold=None,
                hold_detail="",
                created_at=now,
            )
            session.add(row)
        else:
            _usable_again(row)
        row.email = v.spec.email
        row.password_enc = vault.encrypt(v.spec.password)
        for k, value in v.values.items():
            setattr(row, k, value)
        row.updated_at = now
        session.flush()
        mailbox_id = row.id
    log.info("mailbox %s %s (id %d)", v.spec.email, outcome, mailbox_id)
    return AddResult(v.spec.email, outcome, mailbox_id, v.provider)


def _usable_again(row: Mailbox) -> None:
    """A mailbox added again with a password that works: removed, broken or held by a fault, it
    sends again; an admin's pause stays."""
    if row.hold == MailboxHold.ADMIN and row.state in (MailboxStatus.PAUSED, MailboxStatus.BROKEN):
        row.state = MailboxStatus.PAUSED
        return
    row.state = MailboxStatus.ACTIVE
    row.hold = None
    row.hold_detail = ""


def pause(ctx: EngineContext, ref: MailboxRef) -> Change:
    """An admin pauses a mailbox: it sends nothing until resumed (replies are still read)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = find(session, ctx.settings, ref, lock=True)
        refuse_removed(row, ctx.settings)
        before = MailboxStatus(row.state)
        if before == MailboxStatus.ACTIVE:
            row.state, row.hold, row.hold_detail = MailboxStatus.PAUSED, MailboxHold.ADMIN, ""
            row.updated_at = now
        return Change(
            row.id, address_of(row, ctx.settings), before, MailboxStatus(row.state), row.hold
        )


def resume(ctx: EngineContext, ref: MailboxRef) -> Change:
    """A paused mailbox sends again, whoever paused it (an admin, or a fault such as a refused
    login: the admin says it is fixed). A broken one cannot: its password is unreadable."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = find(session, ctx.settings, ref, lock=True)
        refuse_removed(row, ctx.settings)
        email = address_of(row, ctx.settings)
        if row.state == MailboxStatus.BROKEN:
            raise UserInputError(
                f"{email} cannot send: its password cannot be decrypted with this SECRET_KEY. "
                "Put the SECRET_KEY it was saved with back and restart, or add it again: "
                "/mailbox add EMAIL PASSWORD."
            )
        before, hold = MailboxStatus(row.state), row.hold
        row.state, row.hold, row.hold_detail = MailboxStatus.ACTIVE, None, ""
        row.updated_at = now
        if hold is not None and hold != MailboxHold.ADMIN:
            _clear_faults(session, now, row.id)
        camp = (
            CampaignState.RUNNING
            if store.running_campaigns(session)
            else CampaignState(store.campaign(session, now).state)
        )
        return Change(row.id, email, before, MailboxStatus.ACTIVE, hold, camp)


def _clear_faults(session: Session, now: datetime, mailbox_id: int) -> None:
    """What /run does for every mailbox a fault paused, for this one: its alerts clear and its
    streak of refused recipients starts again."""
    payload = faults.named(session, mailbox_id, {"by": "admin"})
    for condition in CLEARED_BY_RUN:
        notify.clear_alert(session, now, condition, payload, scope=faults.scope_of(mailbox_id))
    store.mailbox(session, now, lock=True, mailbox_id=mailbox_id).recipient_errors = {}


def set_option(ctx: EngineContext, ref: MailboxRef, key: str, raw: str) -> tuple[str, str, str]:
    """``/mailbox set EMAIL KEY VALUE``: one of the add command's keys, checked by the same
    parser; returns (address, key, the value as stored). Takes effect with the next email."""
    value = parse_option(key, raw)
    key = key.strip().lower()
    with ctx.db.transaction() as session:
        row = find(session, ctx.settings, ref, lock=True)
        refuse_removed(row, ctx.settings)
        email = address_of(row, ctx.settings)
        if row.source == MailboxSource.ENV and key in ENV_ONLY_KEYS:
            raise UserInputError(
                f"{email} is the environment's mailbox: its servers are SMTP_*/IMAP_* in the "
                "environment; change them there and restart."
            )
        setattr(row, key, value)
        row.updated_at = ctx.clock.now()
    return email, key, str(value)
