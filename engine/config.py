"""Configuration: read once from the environment (plus ``.env``), every problem reported at once.

Every setting is declared once, as a field of ``Settings`` carrying its row of the settings
table (``SETTINGS``): environment name, parser and range, default, whether the chat may change
it (``/settings``), whether it is secret, and a one-line meaning. The loader, ``/settings``
(``TUNABLES``, ``apply_overrides``), the ``.env.example`` check and the README-table test
(tests/unit/test_docs.py) are all derived from that table. The parsers are in
``engine/config_values.py``.

The variable names are fixed (users set them in PaaS dashboards). Chat overrides live in the
database and are validated by the same parsers as the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from engine import config_values as values
from engine.config_values import (
    Security,
    default_database_url,
)
from engine.errors import ConfigError
from engine.mailboxes.ramp import RampUp
from engine.states import CalendarMode

Default = str | Callable[[Mapping[str, Any]], str] | None


@dataclass(frozen=True)
class Setting:
    """One row of the settings table: everything the code knows about one setting.

    ``parse`` turns the raw text into the value and raises ValueError with the words the
    operator reads; a tunable's parser names it by its chat key (the loader renames it to the
    environment name). ``default`` is the raw text used when the variable is unset or blank
    (``None``: required; a function: computed from the settings parsed before it).
    ``blank`` is the raw text used when the variable is set but blank (``None``: the default)."""

    attr: str
    env: str
    parse: Callable[[str], Any]
    default: Default
    meaning: str
    tunable: bool = False  # changeable from the chat: ``/settings <attr> VALUE``
    secret: bool = False  # kept out of repr, logs, chat and /health
    range: tuple[int, int] | None = None  # whole numbers: the inclusive limits
    blank: str | None = None
    show: Callable[[Any], str] = values.show_plain  # the value as /settings lists it

    @property
    def key(self) -> str:
        """The name ``/settings`` knows it by."""
        return self.attr


def _setting(
    env: str,
    default: Default,
    meaning: str,
    *,
    parse: Callable[[str], Any] | None = None,
    range: tuple[int, int] | None = None,
    tunable: bool = False,
    secret: bool = False,
    blank: str | None = None,
    show: Callable[[Any], str] = values.show_plain,
) -> Any:
    """A Settings field carrying its table row (completed with the attribute name below)."""
    row = {
        "env": env,
        "parse": parse,
        "default": default,
        "meaning": meaning,
        "tunable": tunable,
        "secret": secret,
        "range": range,
        "blank": blank,
        "show": show,
    }
    return field(repr=not secret, metadata={"setting": row})


@dataclass(frozen=True)
class Settings:
    """The effective configuration. Each field is one row of the settings table, declared once;
    the order is the order problems are reported in (SMTP/IMAP_SECURITY follow the ports)."""

    # --- Telegram
    telegram_bot_token: str = _setting(
        "TELEGRAM_BOT_TOKEN",
        None,
        "The bot's token from @BotFather.",
        parse=values.bot_token,
        secret=True,
    )
    admin_ids: tuple[int, ...] = _setting(
        "TELEGRAM_ADMIN_IDS",
        None,
        "Numeric Telegram user ids allowed to use the bot.",
        parse=values.admin_ids,
    )
    telegram_api_url: str = _setting(
        "TELEGRAM_API_URL",
        "https://api.telegram.org",
        "Bot API root.",
        parse=values.http_url("TELEGRAM_API_URL"),
    )
    # --- Mailbox
    email_address: str = _setting(
        "EMAIL_ADDRESS",
        None,
        "The mailbox the campaign is sent from.",
        parse=values.email_address("EMAIL_ADDRESS"),
    )
    email_password: str = _setting(
        "EMAIL_PASSWORD", None, "The mailbox password.", parse=values.verbatim, secret=True
    )
    smtp_server: str = _setting(
        "SMTP_SERVER", "smtp.gmail.com", "SMTP host.", parse=values.stripped
    )
    smtp_port: int = _setting("SMTP_PORT", "587", "SMTP port.", range=(1, 65535))
    imap_server: str = _setting(
        "IMAP_SERVER", "imap.gmail.com", "IMAP host.", parse=values.stripped
    )
    imap_port: int = _setting("IMAP_PORT", "993", "IMAP port.", range=(1, 65535))
    smtp_security: Security = _setting(
        "SMTP_SECURITY",
        values.security_default("smtp_port", 587),
        "starttls, ssl or none.",
        parse=values.security_mode("SMTP_SECURITY"),
    )
    imap_security: Security = _setting(
        "IMAP_SECURITY",
        values.security_default("imap_port", 993),
        "starttls, ssl or none.",
        parse=values.security_mode("IMAP_SECURITY"),
    )
    # --- Limits and pacing (chat-tunable)
    daily_limit: int = _setting(
        "DAILY_EMAIL_LIMIT",
        "500",
        "Most emails per local day and per rolling 24 hours.",
        range=(1, 100_000),
        tunable=True,
    )
    min_delay: int = _setting(
        "MIN_DELAY_SECONDS",
        "60",
        "Shortest random wait between two emails, seconds.",
        range=(0, 86_400),
        tunable=True,
    )
    max_delay: int = _setting(
        "MAX_DELAY_SECONDS",
        "120",
        "Longest random wait between two emails, seconds.",
        range=(0, 86_400),
        tunable=True,
    )
    pause_every: int = _setting(
        "PAUSE_EVERY_N_EMAILS",
        "20",
        "A longer pause after this many emails; 0: none.",
        range=(0, 100_000),
        tunable=True,
    )
    pause_min: int = _setting(
        "PAUSE_MIN_MINUTES",
        "5",
        "Shortest batch pause, minutes.",
        range=(0, 1_440),
        tunable=True,
    )
    pause_max: int = _setting(
        "PAUSE_MAX_MINUTES",
        "8",
        "Longest batch pause, minutes.",
        range=(0, 1_440),
        tunable=True,
    )
    max_per_domain_per_day: int = _setting(
        "MAX_PER_DOMAIN_PER_DAY",
        "5",
        "First emails a day to one recipient domain, across mailboxes and campaigns; 0: off.",
        range=(0, 100_000),
        tunable=True,
    )
    followup_delays: tuple[timedelta, ...] = _setting(
        "FOLLOWUP_DELAYS",
        "3d,4d",
        "The wait before each follow-up; empty: no follow-ups.",
        parse=values.followups,
        tunable=True,
        blank="",
        show=values.show_followups,
    )
    calendar_link: str = _setting(
        "CALENDAR_LINK",
        "",
        "Booking link sent once to each lead who replies.",
        parse=values.http_url("CALENDAR_LINK"),
        tunable=True,
    )
    calendar_mode: CalendarMode = _setting(
        "CALENDAR_MODE",
        "auto",
        "auto: the first reply queues the calendar answer; ask: a button under the reply "
        "queues it; off: never.",
        parse=values.calendar_mode,
        tunable=True,
    )
    sender_name: str = _setting(
        "SENDER_NAME",
        "",
        "Display name in the From header and {sender_name}.",
        parse=values.sender_name,
        tunable=True,
    )
    answer_quote: bool = _setting(
        "ANSWER_QUOTE",
        "on",
        "on: an answer written in the chat quotes the reply it answers; off: only your text.",
        parse=values.on_off("ANSWER_QUOTE"),
        show=values.show_on_off,
        tunable=True,
    )
    signature: str = _setting(
        "SIGNATURE",
        "",
        "Signature under answers written in the chat (\\n starts a new line).",
        parse=values.signature,
        show=values.show_signature,
        tunable=True,
    )
    timezone: str = _setting(
        "TIMEZONE",
        "UTC",
        "IANA zone of the day boundary and the midnight job.",
        parse=values.time_zone,
        tunable=True,
    )
    send_window: tuple[time, time] | None = _setting(
        "SEND_WINDOW",
        "always",
        "Local hours when emails may go out.",
        parse=values.send_window,
        tunable=True,
        show=values.show_window,
    )
    send_days: frozenset[int] = _setting(
        "SEND_DAYS",
        "mon-sun",
        "Weekdays when emails may go out.",
        parse=values.send_days,
        tunable=True,
        show=values.show_days,
    )
    max_bounce_rate: float = _setting(
        "MAX_BOUNCE_RATE",
        "5",
        "Hard-bounce percent that pauses the campaign; 0: off.",
        parse=values.percent("max_bounce_rate"),
        tunable=True,
        show=values.show_rate,
    )
    ramp_up: RampUp | None = _setting(
        "RAMP_UP",
        "off",
        "off, or START,STEP: START emails on a mailbox's first day, STEP more each day after.",
        parse=values.ramp_up,
        tunable=True,
        show=values.show_ramp,
    )
    verify_emails: str = _setting(
        "VERIFY_EMAILS",
        "mx",
        "mx: an import looks up each domain's mail server (none: the row is invalid); off: no lookups.",
        parse=values.verify_mode("verify_emails"),
        tunable=True,
    )
    # --- Jobs
    send_interval: int = _setting(
        "SEND_INTERVAL_SECONDS",
        "30",
        "How often the send job looks for due emails.",
        range=(1, 3600),
    )
    reply_check_interval: int = _setting(
        "REPLY_CHECK_INTERVAL_SECONDS",
        "300",
        "How often the inbox is checked for replies.",
        range=(5, 86_400),
    )
    reply_idle: bool = _setting(
        "REPLY_IDLE",
        "on",
        "on: the reply check keeps IMAP IDLE connections open; off: it only polls.",
        parse=values.on_off("REPLY_IDLE"),
        show=values.show_on_off,
    )
    # --- Process and storage
    database_url: str = _setting(
        "DATABASE_URL",
        lambda _parsed: default_database_url(),
        "SQLite or PostgreSQL URL.",
        parse=values.database_url,
        secret=True,
    )
    port: int = _setting("PORT", "8000", "HTTP port for /health.", range=(1, 65535))
    license_sheet_url: str = _setting(
        "LICENSE_SHEET_URL",
        "",
        "Published CSV of license keys, checked at start.",
        parse=values.http_url("LICENSE_SHEET_URL"),
    )
    license_key: str = _setting(
        "LICENSE_KEY", "", "Your license key.", parse=values.stripped, secret=True
    )
    webhook_url: str = _setting(
        "WEBHOOK_URL",
        "",
        "Public base URL; set: webhook mode instead of polling.",
        parse=values.http_url("WEBHOOK_URL"),
    )
    webhook_secret: str = _setting(
        "WEBHOOK_SECRET",
        "",
        "Secret Telegram sends back with each webhook update.",
        parse=values.stripped,
        secret=True,
    )
    secret_key: str = _setting(
        "SECRET_KEY",
        "",
        "Key the stored mailbox passwords are encrypted with (at least 16 characters).",
        parse=values.secret_key,
        secret=True,
    )
    public_url: str = _setting(
        "PUBLIC_URL",
        values.public_url_default,
        "Public https base URL of this service, for one-click unsubscribe links; needs SECRET_KEY.",
        parse=values.public_url,
    )
    dns_nameservers: tuple[tuple[str, int], ...] = _setting(
        "DNS_NAMESERVERS",
        "",
        "DNS servers for MX lookups, ip[:port] comma-separated; empty: the system's.",
        parse=values.nameservers,
        show=values.show_nameservers,
    )
    log_level: str = _setting(
        "LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR.", parse=values.log_level
    )
    authserv_id: str = _setting(
        "AUTHSERV_ID",
        "",
        "Trust only the Authentication-Results header with this id.",
        parse=values.authserv_id,
    )
    # --- Fault handling timing (the defaults are what production wants)
    retry_base_seconds: int = _setting(
        "RETRY_BASE_SECONDS",
        "60",
        "First retry after a 4xx waits base/2..base, then doubles.",
        range=(1, 3600),
    )
    sent_copy_grace_seconds: int = _setting(
        "SENT_COPY_GRACE_SECONDS",
        "120",
        "How long a Sent copy may take to appear.",
        range=(1, 3600),
    )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in logs, chat or /health."""
        values = []
        for row in SETTINGS:
            if not row.secret:
                continue
            value = getattr(self, row.attr)
            if row.attr == "database_url":  # only its password is secret
                m = re.match(r"^[a-z0-9+]+://[^:/@]*:([^@]+)@", value)
                value = m.group(1) if m else ""
            values.append(value)
        return [v for v in values if v and len(v) >= 4]


def _rows() -> tuple[Setting, ...]:
    rows = []
    for f in fields(Settings):
        spec = dict(f.metadata["setting"])
        lo_hi = spec["range"]
        if spec["parse"] is None:
            name = f.name if spec["tunable"] else spec["env"]
            spec["parse"] = values.whole(name, *lo_hi)
        rows.append(Setting(attr=f.name, **spec))
    return tuple(rows)


# The settings table, in Settings' field order; everything else is derived from it.
SETTINGS: tuple[Setting, ...] = _rows()
BY_ENV: dict[str, Setting] = {row.env: row for row in SETTINGS}
# Settings the operator may change from the chat, by /settings key.
TUNABLES: dict[str, Setting] = {row.key: row for row in SETTINGS if row.tunable}


def _cross_checks(s: Settings | Mapping[str, Any]) -> list[str]:
    """Checks across variables. Takes Settings, or the values parsed so far (a variable that
    failed on its own is simply absent), so every problem is reported in one go."""
    v: Mapping[str, Any] = s if isinstance(s, Mapping) else vars(s)
    problems = []
    for lo, hi, lo_name, hi_name in (
        ("min_delay", "max_delay", "MIN_DELAY_SECONDS", "MAX_DELAY_SECONDS"),
        ("pause_min", "pause_max", "PAUSE_MIN_MINUTES", "PAUSE_MAX_MINUTES"),
    ):
        if lo in v and hi in v and v[lo] > v[hi]:
            problems.append(f"{lo_name} ({v[lo]}) is greater than {hi_name} ({v[hi]})")
    if v.get("webhook_url") and not v.get("webhook_secret"):
        problems.append("WEBHOOK_URL is set but WEBHOOK_SECRET is empty: set a random secret")
    secret = v.get("webhook_secret")
    if secret and not re.match(r"^[A-Za-z0-9_-]{1,256}$", secret):
        problems.append("WEBHOOK_SECRET may only contain A-Z, a-z, 0-9, _ and - (1-256 chars)")
    if v.get("public_url") and "secret_key" in v and not v["secret_key"]:
        problems.append(
            "PUBLIC_URL is set but SECRET_KEY is empty: the one-click unsubscribe links are "
            "signed with it. Set SECRET_KEY to a random string of at least 16 characters (keep "
            "it: links in emails already sent stop working if it changes), or unset PUBLIC_URL"
        )
    if v.get("license_sheet_url") and not v.get("license_key"):
        problems.append("LICENSE_SHEET_URL is set but LICENSE_KEY is missing")
    return problems


def read_dotenv(path: Path) -> dict[str, str]:
    """Values from a ``.env`` file; real environment variables take precedence over it."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _raw(row: Setting, env: Mapping[str, str], parsed: Mapping[str, Any]) -> str | None:
    """The text to parse for ``row``: the variable, else its blank or default value."""
    raw = env.get(row.env)
    if raw is not None and raw.strip() == "" and row.blank is not None:
        return row.blank
    if raw is not None and raw.strip() != "":
        return raw
    return row.default(parsed) if callable(row.default) else row.default


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None
) -> Settings:
    """Build Settings from the environment; raise ConfigError listing EVERY problem found."""
    env: dict[str, str] = {}
    if dotenv is not None:
        env.update(read_dotenv(dotenv))
    env.update(os.environ if environ is None else environ)
    problems: list[str] = []
    values: dict[str, Any] = {}
    for row in SETTINGS:
        raw = _raw(row, env, values)
        if raw is None:
            problems.append(f"{row.env} is required but not set")
            continue
        parse = _rename(row.parse, row.key, row.env) if row.tunable else row.parse
        try:
            values[row.attr] = parse(raw)
        except ValueError as e:
            problems.append(str(e))
    problems += _cross_checks(values)
    if problems:
        raise ConfigError(problems)
    return Settings(**values)


def _rename(parser: Callable[[str], Any], key: str, env_name: str) -> Callable[[str], Any]:
    """Report an environment value's problem under its environment name."""

    def parse(v: str) -> Any:
        try:
            return parser(v)
        except ValueError as e:
            text = str(e)
            for sep in ("=", ":"):
                if text.startswith(key + sep):
                    text = env_name + text[len(key) :]
            raise ValueError(text) from None

    return parse


def parse_tunable(key: str, raw: str) -> Any:
    """Validate one chat-supplied setting exactly like its environment variable."""
    if key not in TUNABLES:
        raise ValueError(f"unknown setting {key!r}; settable: {', '.join(TUNABLES)}")
    row = TUNABLES[key]
    if row.blank is not None and raw.strip().lower() in ("", "none", "off", "0"):
        return row.parse(row.blank)
    return row.parse(raw)


def _parsed_overrides(overrides: Mapping[str, str], problems: list[str] | None) -> dict[str, Any]:
    """Attribute → value for each override that parses; the others go to ``problems`` (or are
    skipped when it is None)."""
    changes: dict[str, Any] = {}
    for key, raw in overrides.items():
        try:
            changes[TUNABLES[key].attr] = parse_tunable(key, raw)
        except (ValueError, KeyError) as e:
            if problems is not None:
                problems.append(str(e))
    return changes


def apply_overrides(base: Settings, overrides: Mapping[str, str]) -> Settings:
    """Settings with the chat's overrides applied; an override that no longer parses is skipped."""
    known = {k: v for k, v in overrides.items() if k in TUNABLES}
    candidate = replace(base, **_parsed_overrides(known, None))
    if _cross_checks(candidate):
        return base
    return candidate


def check_overrides(base: Settings, overrides: Mapping[str, str]) -> list[str]:
    """Problems the given overrides would cause (used before saving one)."""
    problems: list[str] = []
    changes = _parsed_overrides(overrides, problems)
    if problems:
        return problems
    return _cross_checks(replace(base, **changes))


def display_value(s: Settings, key: str) -> str:
    """A tunable's effective value as /settings lists it."""
    row = TUNABLES[key]
    return row.show(getattr(s, row.attr))
