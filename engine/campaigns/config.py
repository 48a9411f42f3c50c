"""A campaign's settings: the campaign-level keys (``/settings KEY VALUE`` with the campaign
selected) over the global values (environment and chat overrides).

Campaign-level: the sequence (``followup_delays``), ``calendar_link`` and ``calendar_mode``
(whether a reply gets it at once, on an admin's button, or never), the send window and days
and the ``timezone`` they are read in (for leads without their own zone), ``sender_name`` (over
a mailbox's own), an optional ``daily_limit`` on top of the mailbox caps, and ``mailboxes``
(all, or a list of addresses). Everything else is global or the mailbox's. The global
``TIMEZONE`` stays the day's boundary (caps, the midnight summary).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.config import TUNABLES, Settings, display_value, parse_tunable
from engine.sending.pacing import SendWindow
from engine.states import CalendarMode, CampaignState
from engine.storage import store
from engine.storage.models import Campaign, CampaignSetting

# The keys a campaign has its own value of; the shared ones are global tunables too.
SHARED_KEYS = (
    "followup_delays",
    "calendar_link",
    "calendar_mode",
    "send_window",
    "send_days",
    "timezone",
    "sender_name",
    "answer_quote",
    "signature",
)
OWN_KEYS = ("daily_limit", "mailboxes")
CAMPAIGN_KEYS = (*SHARED_KEYS, *OWN_KEYS)
MAX_CAMPAIGN_LIMIT = 100_000
MAX_MAILBOX_LIST = 200


def parse_daily_limit(raw: str) -> int | None:
    """The campaign's own cap: a whole number, or ``off`` (only the mailboxes' caps)."""
    text = raw.strip().lower()
    if text in ("", "off", "none", "no"):
        return None
    try:
        n = int(text)
    except ValueError:
        raise ValueError(
            f"daily_limit must be a whole number of emails a day (use 1..{MAX_CAMPAIGN_LIMIT}), "
            f"or off; got {raw.strip()[:20]!r}"
        ) from None
    if not 1 <= n <= MAX_CAMPAIGN_LIMIT:
        raise ValueError(
            f"daily_limit is out of range: use 1..{MAX_CAMPAIGN_LIMIT}, or off (no limit of the "
            "campaign's own)"
        )
    return n


def parse_mailboxes(raw: str) -> frozenset[str] | None:
    """``all`` (None), or addresses separated by commas (lower-cased)."""
    text = raw.strip()
    if text.lower() in ("", "all", "*"):
        return None
    parts = [p.strip().lower() for p in text.replace(";", ",").split(",")]
    parts = [p for p in parts if p]
    if not parts or len(parts) > MAX_MAILBOX_LIST:
        raise ValueError(
            "mailboxes must be all, or mailbox addresses separated by commas "
            f"(at most {MAX_MAILBOX_LIST})"
        )
    for p in parts:
        if p.count("@") != 1 or p.startswith("@") or p.endswith("@") or " " in p:
            raise ValueError(f"{p!r} is not a mailbox address; see /mailboxes for yours")
    return frozenset(parts)


@dataclass(frozen=True)
class CampaignConfig:
    """One campaign as the engine sends it."""

    id: int
    name: str
    state: CampaignState
    followup_delays: tuple[timedelta, ...]
    calendar_link: str
    calendar_mode: CalendarMode
    sender_name: str | None  # the campaign's own; None: the mailbox's (or the global one)
    timezone: str
    send_window: tuple[time, time] | None
    send_days: frozenset[int]
    daily_limit: int | None
    mailboxes: frozenset[str] | None  # lower-cased addresses; None: every mailbox
    own: frozenset[str]  # the keys set on this campaign
    answer_quote: bool = True  # an answer from the chat quotes the reply it answers
    signature: str = ""  # under an answer from the chat

    @property
    def running(self) -> bool:
        return self.state == CampaignState.RUNNING

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def window(self) -> SendWindow | None:
        """The send window and days; None when emails may go at any time."""
        if self.send_window is None and len(self.send_days) == 7:
            return None
        start, end = self.send_window or (time(0), time(0))
        return SendWindow(start, end, self.send_days)

    def uses(self, mailbox_email: str) -> bool:
        return self.mailboxes is None or mailbox_email.strip().lower() in self.mailboxes

    def settings_for(self, s: Settings) -> Settings:
        """``s`` (a mailbox's settings) as this campaign sends with them: its sequence,
        calendar link and mode, window, answer rules and (when it has its own) sender name."""
        return replace(
            s,
            followup_delays=self.followup_delays,
            calendar_link=self.calendar_link,
            calendar_mode=self.calendar_mode,
            sender_name=self.sender_name if self.sender_name is not None else s.sender_name,
            send_window=self.send_window,
            send_days=self.send_days,
            answer_quote=self.answer_quote,
            signature=self.signature,
        )


def config_of(camp: Campaign, own: Mapping[str, str], base: Settings) -> CampaignConfig:
    """``camp`` with its own values over ``base`` (the global settings); a stored value that no
    longer parses falls back to the global one."""
    values: dict[str, object] = {}
    for key in SHARED_KEYS:
        raw = own.get(key)
        value = getattr(base, TUNABLES[key].attr)
        if raw is not None:
            try:
                value = parse_tunable(key, raw)
            except ValueError:
                pass
        values[key] = value
    limit: int | None = None
    boxes: frozenset[str] | None = None
    try:
        limit = parse_daily_limit(own.get("daily_limit", "off"))
    except ValueError:
        pass
    try:
        boxes = parse_mailboxes(own.get("mailboxes", "all"))
    except ValueError:
        pass
    window = values["send_window"]
    return CampaignConfig(
        id=camp.id,
        name=camp.name,
        state=CampaignState(camp.state),
        followup_delays=values["followup_delays"],  # type: ignore[arg-type]
        calendar_link=str(values["calendar_link"]),
        calendar_mode=CalendarMode(str(values["calendar_mode"])),
        sender_name=str(values["sender_name"]) if "sender_name" in own else None,
        timezone=str(values["timezone"]),
        send_window=window,  # type: ignore[arg-type]
        send_days=values["send_days"],  # type: ignore[arg-type]
        daily_limit=limit,
        mailboxes=boxes,
        own=frozenset(k for k in own if k in CAMPAIGN_KEYS),
        answer_quote=bool(values["answer_quote"]),
        signature=str(values["signature"]),
    )


def load(session: Session, base: Settings, campaign_id: int, now: datetime) -> CampaignConfig:
    """One campaign's config; ``base`` is the global effective settings."""
    camp = store.campaign(session, now, campaign_id=campaign_id)
    return config_of(camp, store.campaign_overrides(session, campaign_id), base)


def load_all(session: Session, base: Settings, now: datetime) -> dict[int, CampaignConfig]:
    """Every campaign's config, by id (two queries, whatever the number of campaigns)."""
    store.campaign(session, now)  # the default exists
    own: dict[int, dict[str, str]] = {}
    for row in session.scalars(select(CampaignSetting)):
        own.setdefault(row.campaign_id, {})[row.key] = row.value
    return {
        c.id: config_of(c, own.get(c.id, {}), base)
        for c in session.scalars(select(Campaign).order_by(Campaign.id))
    }


def display(config: CampaignConfig, base: Settings, key: str) -> str:
    """A campaign-level key's value as /settings lists it."""
    if key == "daily_limit":
        return "off" if config.daily_limit is None else str(config.daily_limit)
    if key == "mailboxes":
        return "all" if config.mailboxes is None else ", ".join(sorted(config.mailboxes))
    s = replace(
        config.settings_for(base),
        timezone=config.timezone,
        sender_name=config.sender_name if config.sender_name is not None else base.sender_name,
    )
    return display_value(s, key)
