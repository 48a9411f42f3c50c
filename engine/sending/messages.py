"""Build the RFC 5322 messages we send. Pure: no network, no database, no clock.

Everything that ends up in a header goes through one of two gates:

* free text (display names, subjects) is collapsed onto one line with :func:`header_safe`, so
  a CR/LF smuggled in through a CSV cell can never start a new header line;
* addresses and Message-IDs are *validated* (:func:`normalise_address`, :func:`check_message_id`)
  and refused with ``ValueError`` when they could carry anything but one address / one id.

Threading headers (Message-ID, In-Reply-To, References) are folded by hand between ids: the
standard library would otherwise RFC 2047-encode an id that does not fit on one line (common
with Outlook ids), which silently breaks threading on the receiving side.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import MessageError
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.policy import default as default_policy
from email.utils import format_datetime
from typing import Any

__all__ = [
    "MESSAGE_POLICY",
    "Outgoing",
    "build_message",
    "check_message_id",
    "header_safe",
    "make_message_id",
    "normalise_address",
    "reply_subject",
]

# Runs of whitespace and control characters (C0, DEL, C1, Unicode line/paragraph separators).
_COLLAPSE_RE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# Control characters that have no business in a plain-text body (keeps \t and \n).
_BODY_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# A dot-atom-ish local part: printable ASCII minus the specials that change how an address
# header parses (RFC 5322 "specials") and minus whitespace.
_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# One msg-id: "<", printable ASCII without angle brackets, ">".
_MSG_ID_RE = re.compile(r"<[!-;=?-~]+>")

_ID_HEADERS = frozenset({"message-id", "in-reply-to", "references"})
# One http(s) URL that can stand inside <...> in List-Unsubscribe: printable ASCII without
# space, '"', ',', '<' or '>'.
_UNSUBSCRIBE_URL_RE = re.compile(r"https?://[!#-+\--;=?-~]+")
_MAILBOX_HEADERS = frozenset({"from", "to"})
# A display name written as plain atoms: RFC 5322 atext (minus "=" and "?") and single spaces.
_PLAIN_PHRASE_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*")
# One \s* per gap: two adjacent optional runs ("\s*(...)?\s*") split a run of spaces in n ways.
_REPLY_PREFIX_RE = re.compile(r"^\s*(?:re|aw|sv)\s*(?:(?:\[\d+\]|\(\d+\))\s*)?:\s*", re.IGNORECASE)


def header_safe(text: str) -> str:
    """``text`` made safe for a free-text header (subject, display name).

    One line: every run of whitespace/control characters becomes one space, ends stripped.
    ``=?`` becomes ``= ?`` so no RFC 2047 encoded-word in the input is ever decoded. Lone
    surrogates (undecodable input) become U+FFFD so the value can always be encoded.
    """
    text = _SURROGATE_RE.sub("\ufffd", text)
    text = _COLLAPSE_RE.sub(" ", text).strip()
    # "=?" starts an RFC 2047 encoded-word, which the standard library decodes when it parses
    # the value we set and may then write back with a raw CR/LF in it (CVE-2024-6923, unfixed
    # before 3.11.10). Text we send never needs one; break it up so nothing is decoded.
    return text.replace("=?", "= ?")


def _idna_domain(domain: str, *, what: str) -> str:
    domain = domain.strip().rstrip(".").lower()
    if not domain:
        raise ValueError(f"{what}: the domain is empty")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError) as exc:
        raise ValueError(f"{what}: {domain!r} is not a valid domain") from exc
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        raise ValueError(f"{what}: {domain!r} is not a valid domain")
    return ascii_domain


def normalise_address(address: str) -> str:
    """Validate one plain address (``local@domain``) and return it with an IDNA, lower-case domain.

    Raises ``ValueError`` for anything that is not exactly one plain address: whitespace,
    control characters, commas, angle brackets, quotes, several ``@``, a non-ASCII local part
    (we do not speak SMTPUTF8), an invalid domain.
    """
    if not isinstance(address, str) or not address:
        raise ValueError("email address is empty")
    if address.count("@") != 1:
        raise ValueError(f"{address!r} is not a single email address")
    local, domain = address.split("@")
    if (
        not _LOCAL_RE.fullmatch(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or len(local) > 64
    ):
        raise ValueError(f"{address!r} is not a valid email address (bad local part)")
    if _COLLAPSE_RE.search(domain) or any(c in domain for c in '<>,;:"()[]\\@'):
        raise ValueError(f"{address!r} is not a valid email address (bad domain)")
    return f"{local}@{_idna_domain(domain, what=repr(address))}"


def check_message_id(message_id: str) -> str:
    """Return ``message_id`` if it is exactly one ``<...>`` id of printable ASCII; else ValueError."""
    if not isinstance(message_id, str) or not _MSG_ID_RE.fullmatch(message_id):
        raise ValueError(f"{message_id!r} is not a Message-ID of the form <token@domain>")
    return message_id


def make_message_id(sender_email: str, *, rng_bytes: bytes | None = None) -> str:
    """A fresh ``<random-token@sender-domain>``.

    The token is 16 random bytes in hex (``secrets.token_hex(16)``) and carries no timestamp,
    host name or counter. ``rng_bytes`` replaces the randomness (tests). The domain is the
    sender's, IDNA-encoded and lower-cased, so the id looks like every other mail we send.
    """
    if not isinstance(sender_email, str) or "@" not in sender_email:
        raise ValueError(f"{sender_email!r} has no domain to put in a Message-ID")
    domain = _idna_domain(sender_email.rsplit("@", 1)[1], what="sender address")
    token = rng_bytes.hex() if rng_bytes is not None else secrets.token_hex(16)
    if not token:
        raise ValueError("rng_bytes is empty")
    return f"<{token}@{domain}>"


@dataclass(frozen=True)
class Outgoing:
    """One email to send. ``message_id`` includes the angle brackets."""

    message_id: str
    to_email: str
    to_name: str
    subject: str
    body: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


def _encoded_words(text: str) -> list[str]:
    """``text`` as RFC 2047 base64 encoded-words of at most 72 characters, split on characters."""
    words: list[str] = []
    chunk = ""
    for char in text:
        if len((chunk + char).encode("utf-8")) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    if chunk:
        words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words]


def _mailbox_tokens(mailbox: Address, first_line_room: int) -> list[str]:
    """The words of ``Display Name <addr>``, each safe to fold before."""
    display = header_safe(mailbox.display_name)
    angle = f"<{mailbox.addr_spec}>"
    if not display:
        return [mailbox.addr_spec]
    if _PLAIN_PHRASE_RE.fullmatch(display):
        return [*display.split(" "), angle]
    quoted = '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if display.isascii() and len(quoted) + 1 + len(angle) <= first_line_room:
        return [quoted, angle]
    return [*_encoded_words(display), angle]


class _OutreachPolicy(EmailPolicy):
    """``email.policy.SMTP`` (CRLF, 78 columns) with the folding of four headers done here.

    * Message-ID, In-Reply-To, References fold only between ids: the standard library would
      RFC 2047-encode an id longer than a line, which breaks threading.
    * From and To: Python 3.11 drops the quotes around a display name with specials when it
      folds it (``"Long Name: evil@x.com, y" <a@b>`` becomes a group with an extra
      recipient), so mailboxes are written here as atoms, one quoted-string, or encoded-words.
    * A non-ASCII subject: the standard folder can drop a space between two encoded-words it
      splits; the legacy encoder keeps spaces inside the encoded-words.
    * List-Unsubscribe folds only between its ``<...>`` entries: the standard library would
      RFC 2047-encode an https URL longer than a line, and no provider could follow it.
    """

    def _fold_tokens(self, name: str, tokens: list[str], *, wrap_first: bool = False) -> str:
        """``name: tokens`` folded before a token that would pass the line length; with
        ``wrap_first`` the first token too goes on a line of its own if it does not fit (as
        the standard folder writes a long List-Unsubscribe)."""
        maxlen = self.max_line_length or 998
        lines: list[str] = []
        line = f"{name}:"
        for token in tokens:
            if len(line) + 1 + len(token) > maxlen and (wrap_first or line != f"{name}:"):
                lines.append(line)
                line = ""
            line += " " + token
        lines.append(line)
        return self.linesep.join(lines) + self.linesep

    def _custom_fold(self, name: str, value: Any) -> str | None:
        key = name.lower()
        if key in _ID_HEADERS:
            return self._fold_tokens(name, str(value).split())
        if key == "list-unsubscribe":
            return self._fold_tokens(name, str(value).split(), wrap_first=True)
        if key in _MAILBOX_HEADERS and isinstance(value, Address):
            room = (self.max_line_length or 998) - len(name) - 2
            return self._fold_tokens(name, _mailbox_tokens(value, room))
        if key == "subject" and not str(value).isascii():
            encoded = Header(str(value), "utf-8", header_name=name).encode(linesep=self.linesep)
            return f"{name}: {encoded}{self.linesep}"
        return None

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if name.lower() in _MAILBOX_HEADERS and isinstance(value, Address):
            return (name, value)  # kept as is; written by _custom_fold
        return super().header_store_parse(name, value)

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if isinstance(value, Address):
            return self.header_factory(name, str(value))
        return super().header_fetch_parse(name, value)

    def fold(self, name: str, value: Any) -> str:
        folded = self._custom_fold(name, value)
        return folded if folded is not None else super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        folded = self._custom_fold(name, value)
        if folded is not None:
            return folded.encode("ascii")
        return super().fold_binary(name, value)


#: The policy of every message we build: ``email.policy.SMTP`` plus the folding fixes above.
MESSAGE_POLICY = _OutreachPolicy(linesep="\r\n")


def _clean_body(body: str) -> str:
    body = _SURROGATE_RE.sub("\ufffd", body)
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    body = _BODY_CONTROL_RE.sub("", body)
    if not body.endswith("\n"):
        body += "\n"
    return body


def _address(name: str | None, addr: str) -> Address:
    try:
        return Address(display_name=header_safe(name or ""), addr_spec=addr)
    except (MessageError, IndexError) as exc:  # HeaderParseError is not a ValueError
        raise ValueError(f"{addr!r} is not a valid email address") from exc


def build_message(
    o: Outgoing,
    *,
    sender_email: str,
    sender_name: str | None,
    date: datetime,
    unsubscribe_mailto: bool = True,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """The complete message for ``o``, ready for ``smtplib.send_message`` / ``as_bytes()``.

    Headers: From, To, Subject, Date, Message-ID (exactly ``o.message_id``), In-Reply-To and
    References when threading, List-Unsubscribe (mailto, unless ``unsubscribe_mailto`` is
    false), plus the MIME headers of a UTF-8 ``text/plain`` body (7bit when plain ASCII,
    quoted-printable otherwise, so no 8BITMIME is needed).

    With ``unsubscribe_url`` (a campaign email, one-click links on) the message offers RFC 8058
    one-click unsubscribe: ``List-Unsubscribe: <URL>, <mailto:…>`` and
    ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``. A URL that could not stand inside
    ``<...>`` raises ``ValueError``.

    Names and the subject are collapsed onto one line; addresses and ids are validated and a
    bad one raises ``ValueError``: nothing can add a header or a recipient. A naive ``date``
    is taken as UTC.
    """
    sender = normalise_address(sender_email)
    to_email = normalise_address(o.to_email)
    message_id = check_message_id(o.message_id)
    references = tuple(check_message_id(r) for r in o.references)
    in_reply_to = check_message_id(o.in_reply_to) if o.in_reply_to else None
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)

    msg = EmailMessage(policy=MESSAGE_POLICY)
    msg["From"] = _address(sender_name, sender)
    msg["To"] = _address(o.to_name, to_email)
    msg["Subject"] = header_safe(o.subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    if unsubscribe_url is not None and not _UNSUBSCRIBE_URL_RE.fullmatch(unsubscribe_url):
        raise ValueError("refusing an unsubscribe URL that is not one plain http(s) URL")
    entries = [f"<{unsubscribe_url}>"] if unsubscribe_url else []
    if unsubscribe_mailto:
        entries.append(f"<mailto:{sender}?subject=unsubscribe>")
    if entries:
        msg["List-Unsubscribe"] = ", ".join(entries)
    if unsubscribe_url:
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    body = _clean_body(o.body)
    short_ascii = body.isascii() and all(len(line) <= 998 for line in body.splitlines())
    cte = "7bit" if short_ascii else "quoted-printable"
    msg.set_content(body, subtype="plain", charset="utf-8", cte=cte)
    _check_header_block(msg, {"from": sender, "to": to_email})
    return msg


_HEADER_LINE_RE = re.compile(rb"([A-Za-z0-9-]+):")


def _check_header_block(msg: EmailMessage, mailboxes: dict[str, str]) -> None:
    """Defence in depth: the serialised header block has exactly the headers we set, once each,
    and From/To parse back to exactly one address each, the intended one.

    Whatever the standard library does with a value, a message whose bytes would carry an
    extra header line or an extra recipient is refused rather than sent.
    """
    expected = [name.lower() for name in msg.keys()]
    raw = msg.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    seen: list[str] = []
    values: dict[str, list[bytes]] = {}
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not line.strip() or not seen:
                raise ValueError("refusing a message with a malformed header continuation line")
            values[seen[-1]][-1] += line  # unfold
            continue
        match = _HEADER_LINE_RE.match(line)
        if match is None:
            raise ValueError("refusing a message with a malformed header line")
        name = match.group(1).decode("ascii").lower()
        seen.append(name)
        values.setdefault(name, []).append(line[match.end() :])
    if seen != expected or len(set(seen)) != len(seen):
        raise ValueError(f"refusing a message whose headers would be {seen}, not {expected}")
    # Parse From/To back exactly as a receiving server would read them (only these two: a
    # full re-parse of the message cost more than building it).
    for header, addr in mailboxes.items():
        lines = values.get(header, [])
        found: list[str] = []
        for value in lines:
            text = value.decode("ascii", "surrogateescape").strip()
            parsed = default_policy.header_factory(header, text)
            found += [a.addr_spec for a in getattr(parsed, "addresses", ())]
        if len(lines) != 1 or found != [addr]:
            raise ValueError(f"refusing a message whose {header.title()} would not be {addr}")


def reply_subject(first_subject: str) -> str:
    """``Re: `` + the first subject, once: existing ``Re:``/``RE:``/``AW:``/``SV:`` are dropped."""
    subject = header_safe(first_subject)
    while True:
        stripped = _REPLY_PREFIX_RE.sub("", subject, count=1)
        if stripped == subject:
            break
        subject = stripped
    return f"Re: {subject}" if subject else "Re:"
