"""What the operator gives to add a mailbox: ``/mailbox add EMAIL PASSWORD [key=value …]``, or
a CSV of them, parsed and validated into ``MailboxSpec``s. Pure.

Each key is checked by the same parser as its environment variable (``engine/config_values.py``
and the settings table): ports 1–65535, security starttls|ssl|none, ``daily_limit`` in the
range of DAILY_EMAIL_LIMIT, ``ramp_up`` like RAMP_UP, ``sender_name`` at most 100 characters on
one line. A key that is not given stays None: the mailbox falls back to the environment's
servers and the settings' limits.

No message ever repeats the password, or any word that might be part of it: a password with a
space splits into words, so a word after the password that is not KEY=VALUE is refused by its
position only, and the address itself is not echoed either (it might be the password, swapped).
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from engine import config_values as values
from engine.config import TUNABLES
from engine.config_values import Security
from engine.errors import UserInputError
from engine.leads.lead_file.aliases import normalise_header
from engine.leads.lead_file.decoding import decode, reject_known_binary
from engine.leads.lead_file.dialect import (
    detect_delimiter,
    excel_sep_hint,
    first_nonempty,
    read_records,
)

MAX_ADDRESS = 254  # RFC 5321's limit on a path
MAX_PASSWORD = 1000
MAX_CSV_BYTES = 1_000_000
MAX_CSV_ROWS = 1_000
USAGE = "/mailbox add EMAIL PASSWORD [key=value …]"


@dataclass(frozen=True)
class MailboxSpec:
    """A mailbox to add; None: not given, fall back to the environment's value or the setting.
    ``ramp_up`` is as RAMP_UP is written (``off`` or ``5,2``), since ``off`` here overrides a
    RAMP_UP that is on."""

    email: str
    password: str = field(repr=False)
    smtp_server: str | None = None
    smtp_port: int | None = None
    smtp_security: Security | None = None
    imap_server: str | None = None
    imap_port: int | None = None
    imap_security: Security | None = None
    daily_limit: int | None = None
    sender_name: str | None = None
    ramp_up: str | None = None


def _ramp_text(v: str) -> str:
    return values.show_ramp(TUNABLES["ramp_up"].parse(v))


# key → the parser of its value (raises ValueError whose text names the key).
_PARSERS: dict[str, Callable[[str], Any]] = {
    "smtp_server": values.host_name("smtp_server"),
    "smtp_port": values.whole("smtp_port", 1, 65535),
    "smtp_security": values.security_mode("smtp_security"),
    "imap_server": values.host_name("imap_server"),
    "imap_port": values.whole("imap_port", 1, 65535),
    "imap_security": values.security_mode("imap_security"),
    "daily_limit": TUNABLES["daily_limit"].parse,  # DAILY_EMAIL_LIMIT's range
    "sender_name": values.sender_name_strict("sender_name"),
    "ramp_up": _ramp_text,
}
KEYS = tuple(_PARSERS)  # the order they are listed in to the operator
KEYS_HINT = f"The keys are {', '.join(KEYS)}."


def _check_email(email: str) -> str:
    email = email.strip()
    if len(email) > MAX_ADDRESS:
        raise UserInputError(f"The address is longer than {MAX_ADDRESS} characters.")
    try:
        return values.email_address("email")(email)
    except ValueError:
        # Not echoed: it may be the password, given first by mistake.
        raise UserInputError("The address is not an email address like sam@acme.io.") from None


def _check_password(password: str) -> str:
    if not password:
        raise UserInputError("The password is empty.")
    if any(c in password for c in "\r\n\0"):
        raise UserInputError("The password has a line break or a NUL character in it.")
    if len(password) > MAX_PASSWORD:
        raise UserInputError(f"The password is longer than {MAX_PASSWORD} characters.")
    return password


def build_spec(email: str, password: str, options: Mapping[str, str]) -> MailboxSpec:
    """A MailboxSpec from the address, the password and ``key → raw value`` (known keys only;
    an empty value means not given). Raises UserInputError naming the key and the problem."""
    email, password = _check_email(email), _check_password(password)
    parsed: dict[str, Any] = {}
    for key, raw in options.items():
        if not raw.strip():
            continue
        try:
            parsed[key] = _PARSERS[key](raw)
        except ValueError as e:
            if password in raw:  # a value that holds the password (a stray quote) is not shown
                raise UserInputError(f"The value of {key} is not valid. {KEYS_HINT}") from None
            raise UserInputError(f"{e}.") from None
    return MailboxSpec(email=email, password=password, **parsed)


def parse_option(key: str, raw: str) -> Any:
    """One ``key``'s value (``/mailbox set EMAIL KEY VALUE``), checked as in ``/mailbox add``.
    Raises UserInputError naming the key and the problem. The value is no password, but an
    unknown key is echoed only when it is close to a real one, as for the add command."""
    key = key.strip().lower()
    if key not in _PARSERS:
        raise _unknown_key(key, "The key")
    if not raw.strip():
        raise UserInputError(f"Give {key} a value, e.g. /mailbox set EMAIL {key} VALUE.")
    try:
        return _PARSERS[key](raw)
    except ValueError as e:
        raise UserInputError(f"{e}.") from None


def _unknown_key(key: str, where: str) -> UserInputError:
    """A key that is not one of KEYS. It is echoed only when it is close to a real key (a typo,
    not a piece of the password)."""
    close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.75)
    if close:
        return UserInputError(f"{where}: unknown key {key!r}; did you mean {close[0]}? {KEYS_HINT}")
    return UserInputError(f"{where} has an unknown key. {KEYS_HINT}")


def _options(words: Sequence[str]) -> dict[str, str]:
    """``key=value`` words → {key: value}; each word is named by its position, never shown."""
    options: dict[str, str] = {}
    for n, word in enumerate(words, start=1):
        where = f"Option {n} after the password"
        key, sep, value = word.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise UserInputError(
                f"{where} is not KEY=VALUE. {KEYS_HINT} A value with spaces goes in quotes: "
                'sender_name="Sam Sender". A password cannot contain spaces here: remove them '
                "(Gmail's app passwords work without)."
            )
        if key not in _PARSERS:
            raise _unknown_key(key, where)
        if key in options:
            raise UserInputError(f"{key} is given twice; give each key once.")
        if not value.strip():
            raise UserInputError(f"{key}= has no value; leave the key out to use the default.")
        options[key] = value
    return options


def parse_mailbox_args(text: str) -> MailboxSpec:
    """The text after ``/mailbox add``: the address, the password (the second word, taken
    literally), then ``key=value`` options (a value with spaces in quotes)."""
    words = text.split(None, 2)
    if not words:
        raise UserInputError(f"Give the mailbox's address and password: {USAGE}. {KEYS_HINT}")
    if len(words) < 2:
        raise UserInputError(f"The password is missing; use {USAGE}.")
    email, password = words[0], words[1]
    key = password.partition("=")[0].lower()
    if key in _PARSERS and "=" in password:
        raise UserInputError(
            f"The password is missing: the second word must be the password, not {key}=…; "
            f"use {USAGE}."
        )
    try:
        rest = shlex.split(words[2]) if len(words) > 2 else []
    except ValueError:
        raise UserInputError(
            'A quote after the password is not closed; write sender_name="Sam Sender".'
        ) from None
    return build_spec(email, password, _options(rest))


# --- bulk add: a CSV with the columns email, password and any of KEYS -------------------------
CsvRow = tuple[int, MailboxSpec | str]  # (line number, the mailbox or what is wrong with it)


def _csv_columns(header: list[str]) -> list[str]:
    """The key of each column; refuses a header without email and password, an unknown
    column or a column named twice. Names are echoed only once email and password are there
    (until then the first line may be a mailbox, password included)."""
    names = [normalise_header(h) for h in header]
    if "email" not in names or "password" not in names:
        raise UserInputError(
            "The first line must name the columns: email, password, then any of "
            f"{', '.join(KEYS)} (for example: email,password,smtp_server). Add that header "
            "line and send the file again."
        )
    for n, name in enumerate(names):
        if name not in (*KEYS, "email", "password"):
            shown = header[n].strip()[:40] or f"column {n + 1} (no name)"
            raise UserInputError(
                f"The column {shown!r} is not a mailbox key. {KEYS_HINT} Remove or rename it "
                "and send the file again."
            )
        if names.index(name) != n:
            raise UserInputError(f"The column {name} appears twice; keep one.")
    return names


def _csv_row(names: list[str], cells: list[str]) -> MailboxSpec:
    if len(cells) > len(names) and any(c.strip() for c in cells[len(names) :]):
        raise UserInputError(
            "The line has more cells than the header; a password with a comma (or the "
            "file's separator) in it must be in double quotes."
        )
    row = dict(zip(names, cells, strict=False))
    options = {k: v for k, v in row.items() if k in _PARSERS}
    return build_spec(row.get("email", ""), row.get("password", ""), options)


def _address_key(names: list[str], cells: list[str]) -> str:
    """The address cell of a line, as compared for repeats."""
    i = names.index("email")
    return cells[i].strip().lower() if i < len(cells) else ""


def _csv_text(data: bytes) -> str:
    if len(data) > MAX_CSV_BYTES:
        raise UserInputError(
            f"The file is {len(data) // 1000:,} KB; the limit is 1 MB (and {MAX_CSV_ROWS:,} "
            "mailboxes). Split it and send the parts one by one."
        )
    reject_known_binary(data)
    text, _encoding = decode(data)
    return text.rstrip("\r\n")


def parse_mailbox_csv(data: bytes) -> list[CsvRow]:
    """Each mailbox line of the file with its line number, as a MailboxSpec or the words saying
    what is wrong with it (a later line repeating an address is refused as such). A problem
    with the whole file (size, over 1,000 mailboxes, header, not CSV) raises UserInputError."""
    text = _csv_text(data)
    skip_first_line, delimiter = excel_sep_hint(text)
    records = read_records(text, delimiter or detect_delimiter(text))
    if skip_first_line:
        next(records, None)
    _line, header = first_nonempty(records)
    if header is None:
        raise UserInputError("The file is empty; send a CSV with the header email,password.")
    names = _csv_columns(header)
    rows: list[CsvRow] = []
    seen: dict[str, int] = {}  # address → the first line it is on
    filled = ((n, c) for n, c in records if any(cell.strip() for cell in c))
    for line, cells in islice(filled, MAX_CSV_ROWS + 1):
        if len(rows) == MAX_CSV_ROWS:
            raise UserInputError(
                f"The file has more than {MAX_CSV_ROWS:,} mailboxes; split it and send the "
                "parts one by one."
            )
        address = _address_key(names, cells)
        first = seen.setdefault(address, line) if address else line
        if first != line:
            rows.append((line, f"The address is already on line {first}."))
            continue
        try:
            rows.append((line, _csv_row(names, cells)))
        except UserInputError as e:
            rows.append((line, str(e)))
    return rows
