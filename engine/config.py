"""Configuration: read once from the environment (plus ``.env``), every problem reported at once.

The variable names are fixed (users set them in PaaS dashboards). A few pacing settings can be
changed from the chat with ``/settings``; those overrides live in the database and are validated by
the same parsers as the environment (see ``TUNABLES`` and ``apply_overrides``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import ConfigError
from engine.sending.pacing import DAY_NAMES

Security = Literal["starttls", "ssl", "none"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

# Upper bounds that keep every value the engine computes from a setting storable: a follow-up's
# due time (now + delay) stays a valid datetime for SQLite, PostgreSQL and Python, and every
# count fits a 32-bit INTEGER column. The refusal names the limit.
MAX_FOLLOWUP_DELAY = timedelta(days=365)
MAX_FOLLOWUPS = 10
MAX_URL = 2000  # characters; a calendar link goes into emails
_SHOWN = 24  # characters of a refused value echoed back (a 4,000-digit number is not)


def _shown(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def parse_duration(text: str, *, maximum: timedelta = MAX_FOLLOWUP_DELAY) -> timedelta:
    """``"3d"`` → 3 days; units s/m/h/d, a bare number is seconds; at most ``maximum``."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{_shown(text)!r} is not a duration like 30m, 12h or 3d")
    # Compared before a timedelta exists: 99999999999999999999d would overflow one.
    seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]
    if not seconds <= maximum.total_seconds():
        limit = f"{maximum.days} days" if maximum.days else format_duration(maximum)
        raise ValueError(f"{_shown(text)!r} is longer than the limit of {limit}")
    return timedelta(seconds=seconds)


def parse_followup_delays(text: str) -> tuple[timedelta, ...]:
    """``"3d,4d"`` → one wait per follow-up; an empty value means no follow-ups. Each wait is at
    most MAX_FOLLOWUP_DELAY (365 days), and there are at most MAX_FOLLOWUPS (10)."""
    parts = [p for p in (s.strip() for s in text.split(",")) if p]
    if len(parts) > MAX_FOLLOWUPS:
        raise ValueError(f"at most {MAX_FOLLOWUPS} follow-ups")
    return tuple(parse_duration(p) for p in parts)


def format_duration(d: timedelta) -> str:
    s = int(d.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


@dataclass(frozen=True)
class Settings:
    telegram_bot_token: str = field(repr=False)
    admin_ids: tuple[int, ...]
    telegram_api_url: str
    email_address: str
    email_password: str = field(repr=False)
    sender_name: str
    smtp_server: str
    smtp_port: int
    smtp_security: Security
    imap_server: str
    imap_port: int
    imap_security: Security
    daily_limit: int
    min_delay: int
    max_delay: int
    pause_every: int
    pause_min: int
    pause_max: int
    send_interval: int
    reply_check_interval: int
    followup_delays: tuple[timedelta, ...]
    calendar_link: str
    timezone: str
    send_window: tuple[time, time] | None
    send_days: frozenset[int]
    max_bounce_rate: float
    database_url: str = field(repr=False)
    port: int
    license_sheet_url: str
    license_key: str = field(repr=False)
    webhook_url: str
    webhook_secret: str = field(repr=False)
    log_level: str
    # Trust only the Authentication-Results header with this authserv-id (empty: the topmost).
    authserv_id: str = ""
    # Timing knobs for tests and unusual servers; the defaults are what production wants.
    retry_base_seconds: int = 60  # first retry after a 4xx waits base/2..base, then doubles
    sent_copy_grace_seconds: int = 120  # how long a Sent copy may take to appear after a send

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in logs, chat or /health."""
        values = [self.telegram_bot_token, self.email_password, self.license_key]
        values.append(self.webhook_secret)
        m = re.match(r"^[a-z0-9+]+://[^:/@]*:([^@]+)@", self.database_url)
        if m:
            values.append(m.group(1))
        return [v for v in values if v and len(v) >= 4]


_WHOLE = re.compile(r"[+-]?\d+")


def _int(name: str, lo: int, hi: int) -> Callable[[str], int]:
    def parse(v: str) -> int:
        text = v.strip()
        if not _WHOLE.fullmatch(text):
            raise ValueError(f"{name}={_shown(text)!r} is not a whole number; use {lo}..{hi}")
        # A digit string longer than the limit's is out of range without converting it (int()
        # refuses more than 4,300 digits with a message about something else).
        digits = text.lstrip("+-").lstrip("0")
        n = int(text) if len(digits) <= len(str(max(abs(lo), abs(hi)))) else None
        if n is None or not lo <= n <= hi:
            raise ValueError(f"{name}={_shown(text)} is out of range; use {lo}..{hi}")
        return n

    return parse


def _security(name: str) -> Callable[[str], Security]:
    def parse(v: str) -> Security:
        v = v.strip().lower()
        if v not in ("starttls", "ssl", "none"):
            raise ValueError(f"{name}={v!r}: use starttls, ssl or none")
        return v  # type: ignore[return-value]

    return parse


def _authserv_id(v: str) -> str:
    v = v.strip()
    if v and (len(v) > 255 or any(c.isspace() or c in ';()"' for c in v)):
        raise ValueError(
            f"AUTHSERV_ID={v[:40]!r} is not an authserv-id; use the receiving server's name as it "
            "appears first in its Authentication-Results headers, e.g. mx.google.com"
        )
    return v.lower()


def _timezone(v: str) -> str:
    v = v.strip()
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"TIMEZONE={v!r} is not an IANA time zone like Europe/Berlin") from None
    return v


def _followups(v: str) -> tuple[timedelta, ...]:
    try:
        return parse_followup_delays(v)
    except ValueError as e:
        raise ValueError(f"followup_delays: {e}") from None


def _url(name: str) -> Callable[[str], str]:
    def parse(v: str) -> str:
        v = v.strip()
        if len(v) > MAX_URL:
            raise ValueError(f"{name} is {len(v)} characters long; the limit is {MAX_URL}")
        if v and not re.match(r"^https?://[^\s]+$", v):
            raise ValueError(f"{name}={_shown(v)!r} is not an http(s) URL")
        return v.rstrip("/") if name != "CALENDAR_LINK" else v

    return parse


def _email(name: str) -> Callable[[str], str]:
    def parse(v: str) -> str:
        v = v.strip()
        if not re.match(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+$", v):
            raise ValueError(f"{name}={v!r} is not an email address")
        return v

    return parse


_DECIMAL = re.compile(r"\d+(?:\.\d+)?")


def _percent(name: str) -> Callable[[str], float]:
    def parse(v: str) -> float:
        text = v.strip().rstrip("%").strip()
        if not _DECIMAL.fullmatch(text):
            raise ValueError(f"{name}={_shown(v)!r} is not a percentage like 5 or 2.5")
        n = float(text)
        if not 0 <= n <= 100:
            raise ValueError(f"{name}={_shown(text)} is out of range; use 0..100 (0 turns it off)")
        return n

    return parse


_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _send_window(v: str) -> tuple[time, time] | None:
    """``"09:00-17:00"`` → (09:00, 17:00); empty, ``always`` or ``off`` → no window."""
    if v.strip().lower() in ("", "always", "off", "none", "any"):
        return None
    m = _HHMM.match(v)
    if (
        not m
        or int(m.group(1)) > 23
        or int(m.group(3)) > 23
        or int(m.group(2)) > 59
        or int(m.group(4)) > 59
    ):
        raise ValueError(
            f"SEND_WINDOW={v.strip()!r} is not a window like 09:00-17:00 (local time in TIMEZONE)"
        )
    start = time(int(m.group(1)), int(m.group(2)))
    end = time(int(m.group(3)), int(m.group(4)))
    if start == end:
        raise ValueError("SEND_WINDOW starts and ends at the same time; leave it empty for always")
    return start, end


def _send_days(v: str) -> frozenset[int]:
    """``"mon-fri"``, ``"mon,wed,fri"``, ``"sat-sun"`` … → weekday numbers (Monday = 0)."""
    names = DAY_NAMES
    days: set[int] = set()
    for part in v.lower().replace(" ", "").split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        if lo[:3] not in names or (hi and hi[:3] not in names):
            raise ValueError(f"SEND_DAYS={v.strip()!r}: use day names like mon-fri or mon,wed,fri")
        a = names.index(lo[:3])
        b = names.index(hi[:3]) if hi else a
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    if not days:
        raise ValueError("SEND_DAYS is empty: name at least one day, e.g. mon-fri")
    return frozenset(days)


def _admin_ids(v: str) -> tuple[int, ...]:
    ids = []
    for part in v.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not re.match(r"^-?\d+$", part):
            raise ValueError(
                f"TELEGRAM_ADMIN_IDS: {part!r} is not a numeric Telegram user id "
                "(ask @userinfobot for yours)"
            )
        ids.append(int(part))
    if not ids:
        raise ValueError("TELEGRAM_ADMIN_IDS is empty: give at least one numeric user id")
    return tuple(ids)


def normalise_database_url(url: str) -> str:
    """Railway/Render/Heroku give ``postgres://``; SQLAlchemy wants ``postgresql+psycopg2://``."""
    url = url.strip()
    if url.startswith("postgres://"):
        url = "postgresql+psycopg2://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


def _database_url(v: str) -> str:
    v = normalise_database_url(v)
    if not (v.startswith("sqlite") or v.startswith("postgresql")):
        raise ValueError("DATABASE_URL must be a postgres:// or sqlite:/// URL")
    return v


def _default_security(port: int, plain_ports: tuple[int, ...]) -> Security:
    if port in (465, 993):
        return "ssl"
    if port in plain_ports:
        return "starttls"
    return "starttls"


# Settings the operator may change from the chat: key → (Settings attribute, env name, parser).
TUNABLES: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "daily_limit": ("daily_limit", "DAILY_EMAIL_LIMIT", _int("daily_limit", 1, 100_000)),
    "min_delay": ("min_delay", "MIN_DELAY_SECONDS", _int("min_delay", 0, 86_400)),
    "max_delay": ("max_delay", "MAX_DELAY_SECONDS", _int("max_delay", 0, 86_400)),
    "pause_every": ("pause_every", "PAUSE_EVERY_N_EMAILS", _int("pause_every", 0, 100_000)),
    "pause_min": ("pause_min", "PAUSE_MIN_MINUTES", _int("pause_min", 0, 1_440)),
    "pause_max": ("pause_max", "PAUSE_MAX_MINUTES", _int("pause_max", 0, 1_440)),
    "followup_delays": ("followup_delays", "FOLLOWUP_DELAYS", _followups),
    "calendar_link": ("calendar_link", "CALENDAR_LINK", _url("CALENDAR_LINK")),
    "sender_name": ("sender_name", "SENDER_NAME", lambda v: v.strip()[:100]),
    "timezone": ("timezone", "TIMEZONE", _timezone),
    "send_window": ("send_window", "SEND_WINDOW", _send_window),
    "send_days": ("send_days", "SEND_DAYS", _send_days),
    "max_bounce_rate": ("max_bounce_rate", "MAX_BOUNCE_RATE", _percent("max_bounce_rate")),
}


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
    if v.get("license_sheet_url") and not v.get("license_key"):
        problems.append("LICENSE_SHEET_URL is set but LICENSE_KEY is missing")
    return problems


def default_database_url(root: Path | None = None) -> str:
    base = root or Path.cwd()
    return f"sqlite:///{(base / 'data' / 'outreach.db').as_posix()}"


def read_dotenv(path: Path) -> dict[str, str]:
    """Values from a ``.env`` file; real environment variables take precedence over it."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


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

    def get(name: str, parser: Callable[[str], Any], default: str | None, attr: str) -> None:
        raw = env.get(name, "")
        if raw.strip() == "":
            if default is None:
                problems.append(f"{name} is required but not set")
                return
            raw = default
        try:
            values[attr] = parser(raw)
        except ValueError as e:
            problems.append(str(e))

    def text(v: str) -> str:
        return v.strip()

    get("TELEGRAM_BOT_TOKEN", _token, None, "telegram_bot_token")
    get("TELEGRAM_ADMIN_IDS", _admin_ids, None, "admin_ids")
    get(
        "TELEGRAM_API_URL", _url("TELEGRAM_API_URL"), "https://api.telegram.org", "telegram_api_url"
    )
    get("EMAIL_ADDRESS", _email("EMAIL_ADDRESS"), None, "email_address")
    get("EMAIL_PASSWORD", lambda v: v, None, "email_password")
    get("SMTP_SERVER", text, "smtp.gmail.com", "smtp_server")
    get("SMTP_PORT", _int("SMTP_PORT", 1, 65535), "587", "smtp_port")
    get("IMAP_SERVER", text, "imap.gmail.com", "imap_server")
    get("IMAP_PORT", _int("IMAP_PORT", 1, 65535), "993", "imap_port")
    smtp_default = _default_security(values.get("smtp_port", 587), (587, 25))
    imap_default = _default_security(values.get("imap_port", 993), (143,))
    get("SMTP_SECURITY", _security("SMTP_SECURITY"), smtp_default, "smtp_security")
    get("IMAP_SECURITY", _security("IMAP_SECURITY"), imap_default, "imap_security")
    defaults = {
        "daily_limit": "500",
        "min_delay": "60",
        "max_delay": "120",
        "pause_every": "20",
        "pause_min": "5",
        "pause_max": "8",
        "followup_delays": "3d,4d",
        "calendar_link": "",
        "sender_name": "",
        "timezone": "UTC",
        "send_window": "always",
        "send_days": "mon-sun",
        "max_bounce_rate": "5",
    }
    for key, (attr, env_name, parser) in TUNABLES.items():
        get(env_name, _rename(parser, key, env_name), defaults[key], attr)
    if env.get("FOLLOWUP_DELAYS", None) is not None and env["FOLLOWUP_DELAYS"].strip() == "":
        values["followup_delays"] = ()
    get("SEND_INTERVAL_SECONDS", _int("SEND_INTERVAL_SECONDS", 1, 3600), "30", "send_interval")
    get(
        "REPLY_CHECK_INTERVAL_SECONDS",
        _int("REPLY_CHECK_INTERVAL_SECONDS", 5, 86_400),
        "300",
        "reply_check_interval",
    )
    get("DATABASE_URL", _database_url, default_database_url(), "database_url")
    get("PORT", _int("PORT", 1, 65535), "8000", "port")
    get("LICENSE_SHEET_URL", _url("LICENSE_SHEET_URL"), "", "license_sheet_url")
    get("LICENSE_KEY", text, "", "license_key")
    get("WEBHOOK_URL", _url("WEBHOOK_URL"), "", "webhook_url")
    get("WEBHOOK_SECRET", text, "", "webhook_secret")
    get("LOG_LEVEL", _log_level, "INFO", "log_level")
    get("AUTHSERV_ID", _authserv_id, "", "authserv_id")
    get("RETRY_BASE_SECONDS", _int("RETRY_BASE_SECONDS", 1, 3600), "60", "retry_base_seconds")
    get(
        "SENT_COPY_GRACE_SECONDS",
        _int("SENT_COPY_GRACE_SECONDS", 1, 3600),
        "120",
        "sent_copy_grace_seconds",
    )
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


def _token(v: str) -> str:
    v = v.strip()
    if not re.match(r"^\d+:[A-Za-z0-9_-]+$", v):
        # Never echo the value: it is a secret.
        raise ValueError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters)")
    return v


def _log_level(v: str) -> str:
    v = v.strip().upper()
    if v not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"LOG_LEVEL={v!r}: use DEBUG, INFO, WARNING or ERROR")
    return v


def parse_tunable(key: str, raw: str) -> Any:
    """Validate one chat-supplied setting exactly like its environment variable."""
    if key not in TUNABLES:
        raise ValueError(f"unknown setting {key!r}; settable: {', '.join(TUNABLES)}")
    _, _, parser = TUNABLES[key]
    if key == "followup_delays" and raw.strip().lower() in ("", "none", "off", "0"):
        return ()
    return parser(raw)


def apply_overrides(base: Settings, overrides: Mapping[str, str]) -> Settings:
    """Settings with the chat's overrides applied; an override that no longer parses is skipped."""
    changes: dict[str, Any] = {}
    for key, raw in overrides.items():
        if key not in TUNABLES:
            continue
        try:
            changes[TUNABLES[key][0]] = parse_tunable(key, raw)
        except ValueError:
            continue
    candidate = replace(base, **changes)
    if _cross_checks(candidate):
        return base
    return candidate


def check_overrides(base: Settings, overrides: Mapping[str, str]) -> list[str]:
    """Problems the given overrides would cause (used before saving one)."""
    problems = []
    changes: dict[str, Any] = {}
    for key, raw in overrides.items():
        try:
            changes[TUNABLES[key][0]] = parse_tunable(key, raw)
        except (ValueError, KeyError) as e:
            problems.append(str(e))
    if problems:
        return problems
    return _cross_checks(replace(base, **changes))


def display_value(s: Settings, key: str) -> str:
    attr = TUNABLES[key][0]
    v = getattr(s, attr)
    if key == "followup_delays":
        return ",".join(format_duration(d) for d in v) or "none"
    if key == "send_window":
        return "always" if v is None else f"{v[0]:%H:%M}-{v[1]:%H:%M}"
    if key == "max_bounce_rate":
        return f"{v:g}%" if v else "off"
    if key == "send_days":
        return ",".join(DAY_NAMES[d] for d in sorted(v))
    return str(v) if v != "" else "(not set)"
