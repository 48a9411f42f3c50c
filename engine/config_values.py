"""The value parsers and formats of the settings table (engine/config.py): each turns the
raw text of one setting into its value, or raises ValueError with the words the operator reads
(naming the setting, its range or its form; a refused value is echoed back short)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.mailboxes.ramp import RampUp
from engine.sending.pacing import DAY_NAMES
from engine.states import CalendarMode

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


_WHOLE = re.compile(r"[+-]?\d+")


def whole(name: str, lo: int, hi: int) -> Callable[[str], int]:
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


def security_mode(name: str) -> Callable[[str], Security]:
    def parse(v: str) -> Security:
        v = v.strip().lower()
        if v not in ("starttls", "ssl", "none"):
            raise ValueError(f"{name}={v!r}: use starttls, ssl or none")
        return v  # type: ignore[return-value]

    return parse


def authserv_id(v: str) -> str:
    v = v.strip()
    if v and (len(v) > 255 or any(c.isspace() or c in ';()"' for c in v)):
        raise ValueError(
            f"AUTHSERV_ID={v[:40]!r} is not an authserv-id; use the receiving server's name as it "
            "appears first in its Authentication-Results headers, e.g. mx.google.com"
        )
    return v.lower()


def time_zone(v: str) -> str:
    v = v.strip()
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"TIMEZONE={v!r} is not an IANA time zone like Europe/Berlin") from None
    return v


def followups(v: str) -> tuple[timedelta, ...]:
    try:
        return parse_followup_delays(v)
    except ValueError as e:
        raise ValueError(f"followup_delays: {e}") from None


def http_url(name: str) -> Callable[[str], str]:
    def parse(v: str) -> str:
        v = v.strip()
        if len(v) > MAX_URL:
            raise ValueError(f"{name} is {len(v)} characters long; the limit is {MAX_URL}")
        if v and not re.match(r"^https?://[^\s]+$", v):
            raise ValueError(f"{name}={_shown(v)!r} is not an http(s) URL")
        return v.rstrip("/") if name != "CALENDAR_LINK" else v

    return parse


def calendar_mode(v: str) -> CalendarMode:
    """``auto``, ``ask`` or ``off`` (any case)."""
    word = v.strip().lower()
    try:
        return CalendarMode(word)
    except ValueError:
        raise ValueError(
            f"calendar_mode={_shown(v)!r}: use auto (the first reply gets the calendar link at "
            "once), ask (a button under the reply sends it) or off (never)"
        ) from None


def email_address(name: str) -> Callable[[str], str]:
    def parse(v: str) -> str:
        v = v.strip()
        if not re.match(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+$", v):
            raise ValueError(f"{name}={v!r} is not an email address")
        return v

    return parse


_DECIMAL = re.compile(r"\d+(?:\.\d+)?")


def percent(name: str) -> Callable[[str], float]:
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


def send_window(v: str) -> tuple[time, time] | None:
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


def send_days(v: str) -> frozenset[int]:
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


def admin_ids(v: str) -> tuple[int, ...]:
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


def database_url(v: str) -> str:
    v = normalise_database_url(v)
    if not (v.startswith("sqlite") or v.startswith("postgresql")):
        raise ValueError("DATABASE_URL must be a postgres:// or sqlite:/// URL")
    return v


def bot_token(v: str) -> str:
    v = v.strip()
    if not re.match(r"^\d+:[A-Za-z0-9_-]+$", v):
        # Never echo the value: it is a secret.
        raise ValueError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters)")
    return v


def log_level(v: str) -> str:
    v = v.strip().upper()
    if v not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"LOG_LEVEL={v!r}: use DEBUG, INFO, WARNING or ERROR")
    return v


def stripped(v: str) -> str:
    return v.strip()


def sender_name(v: str) -> str:
    return v.strip()[:100]


def verbatim(v: str) -> str:
    return v


MAX_SIGNATURE = 500


def signature(v: str) -> str:
    """A few lines under an answer written in the chat: ``\\n`` (typed as backslash-n, since a
    setting is one line) starts a new line; at most 500 characters, refused rather than cut."""
    text = v.strip().replace("\\n", "\n")
    if len(text) > MAX_SIGNATURE:
        raise ValueError(f"signature is too long: at most {MAX_SIGNATURE} characters")
    if any(ord(c) < 32 and c != "\n" for c in text):
        raise ValueError("signature: use plain text (\\n for a new line)")
    return "\n".join(line.rstrip() for line in text.split("\n"))


def show_signature(v: str) -> str:
    return v.replace("\n", "\\n")


MAX_SENDER_NAME = 100


def sender_name_strict(name: str) -> Callable[[str], str]:
    """A display name that is refused rather than cut: at most 100 characters, one line."""

    def parse(v: str) -> str:
        v = v.strip()
        if "\r" in v or "\n" in v:
            raise ValueError(f"{name} has a line break; give the name on one line")
        if len(v) > MAX_SENDER_NAME:
            raise ValueError(f"{name} is {len(v)} characters long; the limit is {MAX_SENDER_NAME}")
        return v

    return parse


_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def host_name(name: str) -> Callable[[str], str]:
    """A server's DNS name (``smtp.example.com``) or IP address."""

    def parse(v: str) -> str:
        v = v.strip()
        try:
            return str(ipaddress.ip_address(v.strip("[]")))
        except ValueError:
            pass
        labels = v.removesuffix(".").split(".")
        if len(v) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
            raise ValueError(f"{name}={_shown(v)!r} is not a host name like smtp.example.com")
        return v.rstrip(".").lower()

    return parse


MIN_SECRET_KEY = 16


def secret_key(v: str) -> str:
    """The key the stored mailbox passwords are encrypted with. Never echoed."""
    v = v.strip()
    if v and len(v) < MIN_SECRET_KEY:
        raise ValueError(
            f"SECRET_KEY is shorter than {MIN_SECRET_KEY} characters; use a long random string, "
            'e.g. the output of: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return v


MAX_PUBLIC_URL = 200  # characters; the unsubscribe link (this + /u/ + a token) goes in headers
_PUBLIC_URL = re.compile(
    r"(https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?"
    r"(/[A-Za-z0-9._~!$&'()*+;=:@%/-]*)?"
)


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def public_url(v: str) -> str:
    """This service's public base URL, for the one-click unsubscribe links: https, or http on a
    loopback host (local use, tests). A path is allowed (behind a proxy that maps one); no query,
    fragment, user, comma or space, so the link can stand inside a header's ``<...>``."""
    v = v.strip().rstrip("/")
    if not v:
        return ""
    example = "use this service's public address, like https://outreach.example.com"
    if len(v) > MAX_PUBLIC_URL:
        raise ValueError(f"PUBLIC_URL is {len(v)} characters long; the limit is {MAX_PUBLIC_URL}")
    m = _PUBLIC_URL.fullmatch(v)
    if m is None:
        raise ValueError(f"PUBLIC_URL={_shown(v)!r} is not a URL; {example}")
    scheme, host, port = m.group(1), m.group(2), m.group(3)
    labels = host.rstrip(".").split(".")
    if not host.startswith("[") and not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"PUBLIC_URL={_shown(v)!r} has no valid host name; {example}")
    if host.startswith("[") and not _is_ip(host[1:-1]):
        raise ValueError(f"PUBLIC_URL={_shown(v)!r} has no valid host; {example}")
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"PUBLIC_URL={_shown(v)!r}: the port must be 1..65535")
    if scheme == "http" and not _loopback(host):
        raise ValueError(
            f"PUBLIC_URL={_shown(v)!r} must start with https:// (mail providers only follow "
            "https unsubscribe links; http is accepted for 127.0.0.1, localhost and ::1)"
        )
    return v


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def public_url_default(parsed: Mapping[str, Any]) -> str:
    """PUBLIC_URL, when unset, is WEBHOOK_URL, if that is a valid PUBLIC_URL and SECRET_KEY (which
    signs the links) is set; else empty (no links). A webhook-mode setup without SECRET_KEY
    starts as before rather than being refused for a setting it never set."""
    url = str(parsed.get("webhook_url") or "")
    if not url or not parsed.get("secret_key"):
        return ""
    try:
        return public_url(url)
    except ValueError:
        return ""


RAMP_LIMIT = 100_000


def ramp_up(v: str) -> RampUp | None:
    """``off`` → None; ``START,STEP`` (``5,2``) → at most START emails on the first sending
    day and STEP more each later day (START 1..100000, STEP 0..100000)."""
    if v.strip().lower() == "off":
        return None
    parts = v.split(",")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise ValueError(
            f"ramp_up={_shown(v)!r}: use off, or START,STEP like 5,2 (START emails on the first "
            "day, STEP more each day after)"
        )
    start = whole("ramp_up: START", 1, RAMP_LIMIT)(parts[0])
    step = whole("ramp_up: STEP", 0, RAMP_LIMIT)(parts[1])
    return RampUp(start, step)


def on_off(name: str) -> Callable[[str], bool]:
    def parse(v: str) -> bool:
        word = v.strip().lower()
        if word in ("on", "yes", "true", "1"):
            return True
        if word in ("off", "no", "false", "0"):
            return False
        raise ValueError(f"{name}={_shown(v)!r}: use on or off")

    return parse


VERIFY_MODES = ("mx", "off")


def verify_mode(name: str) -> Callable[[str], str]:
    """``mx``: an import looks up each domain's mail server; ``off``: it looks nothing up."""

    def parse(v: str) -> str:
        word = v.strip().lower()
        if word not in VERIFY_MODES:
            raise ValueError(
                f"{name}={_shown(v)!r}: use mx (look up each domain's mail server at import) "
                "or off (no lookups)"
            )
        return word

    return parse


MAX_NAMESERVERS = 10


def _nameserver(part: str) -> tuple[str, int]:
    """``1.1.1.1``, ``127.0.0.1:5353``, ``2606:4700::1111`` or ``[::1]:5353``."""
    host, port = part, "53"
    if part.startswith("["):
        host, sep, rest = part[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(part)
        port = rest[1:] or "53"
    elif part.count(":") == 1:
        host, port = part.split(":")
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(part) from None
    if not (port.isdigit() and len(port) <= 5 and 1 <= int(port) <= 65535):
        raise ValueError(part)
    return address, int(port)


def nameservers(v: str) -> tuple[tuple[str, int], ...]:
    """``"1.1.1.1, 127.0.0.1:5353"`` → ((address, port), …); empty → the system's resolver."""
    parts = [p for p in (s.strip() for s in v.split(",")) if p]
    if len(parts) > MAX_NAMESERVERS:
        raise ValueError(f"DNS_NAMESERVERS: at most {MAX_NAMESERVERS} servers")
    servers = []
    for part in parts:
        try:
            servers.append(_nameserver(part))
        except ValueError:
            raise ValueError(
                f"DNS_NAMESERVERS: {_shown(part)!r} is not an IP address with an optional port, "
                "like 1.1.1.1 or 127.0.0.1:5353 ([::1]:5353 for IPv6)"
            ) from None
    return tuple(servers)


def security_default(port_attr: str, port_default: int) -> Callable[[Mapping[str, Any]], str]:
    """SMTP_SECURITY/IMAP_SECURITY follow the port when unset: ssl on 465/993, else starttls."""

    def default(parsed: Mapping[str, Any]) -> str:
        return "ssl" if parsed.get(port_attr, port_default) in (465, 993) else "starttls"

    return default


def show_followups(v: tuple[timedelta, ...]) -> str:
    return ",".join(format_duration(d) for d in v) or "none"


def show_window(v: tuple[time, time] | None) -> str:
    return "always" if v is None else f"{v[0]:%H:%M}-{v[1]:%H:%M}"


def show_rate(v: float) -> str:
    return f"{v:g}%" if v else "off"


def show_days(v: frozenset[int]) -> str:
    return ",".join(DAY_NAMES[d] for d in sorted(v))


def show_ramp(v: RampUp | None) -> str:
    return "off" if v is None else str(v)


def show_on_off(v: bool) -> str:
    return "on" if v else "off"


def show_nameservers(v: tuple[tuple[str, int], ...]) -> str:
    shown = [(f"[{a}]" if ":" in a else a) + (f":{p}" if p != 53 else "") for a, p in v]
    return ",".join(shown) or "system"


def show_plain(v: Any) -> str:
    return str(v) if v != "" else "(not set)"


def default_database_url(root: Path | None = None) -> str:
    base = root or Path.cwd()
    return f"sqlite:///{(base / 'data' / 'outreach.db').as_posix()}"
