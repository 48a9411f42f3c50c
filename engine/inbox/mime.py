"""Reading a raw message without trusting it: parsing, header decoding, the parts and their
text. Nothing here raises on malformed input; unreadable pieces degrade to empty strings or
``None``. Names are public for the other classification modules (bounces, autoreply, optout,
classify); nothing outside ``engine.inbox`` needs them.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import re
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.message import Message
from types import MappingProxyType
from typing import Any

from engine.inbox.html_text import html_to_text
from engine.inbox.limits import BODY_TEXT_MAX, HTML_MAX, cap_raw


def parse_message(raw: bytes) -> Message:
    try:
        return email.message_from_bytes(cap_raw(raw), policy=email.policy.default)
    except Exception:
        # Should not happen (the parser records defects instead of raising), but
        # an empty message is the safest degradation.
        return email.message_from_bytes(b"", policy=email.policy.default)


def _unescape(value: Any) -> str:
    """Undo the parser's surrogateescape of raw 8-bit header bytes (usually UTF-8)."""
    if not isinstance(value, str):
        value = str(value)
    if any("\udc80" <= c <= "\udcff" for c in value):
        data = value.encode("utf-8", "surrogateescape")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    return value


def decode_raw_header(value: Any) -> str:
    """Decode a raw (possibly RFC 2047 encoded) header value without trusting anything."""
    try:
        value = _unescape(value)
        parts = []
        for chunk, charset in email.header.decode_header(value):
            if isinstance(chunk, bytes):
                parts.append(decode_bytes(chunk, charset))
            else:
                parts.append(chunk)
        return "".join(parts)
    except Exception:
        try:
            return str(value)
        except Exception:
            return ""


# Inline patterns live here, compiled at module level, so the linear-time test finds them all.
_FOLD = re.compile(r"[\r\n]+[ \t]*")
SPACE_RUN = re.compile(r"\s+")
_FROM_TOKEN_SPLIT = re.compile(r"[\s<>\"',;:()]+")


def clean_header(value: str) -> str:
    # Unfold and drop control characters that would only confuse matching.
    value = _FOLD.sub(" ", value)
    value = value.replace("\x00", "")
    return value.strip()


def raw_header_values(msg: Message, name: str) -> list[str]:
    """All values of header ``name``, undecoded (RFC 2047 words intact); never raises."""
    out: list[str] = []
    lname = name.lower()
    try:
        raw_items = list(msg.raw_items())
    except Exception:
        raw_items = []
    for key, raw_value in raw_items:
        try:
            if str(key).lower() != lname:
                continue
        except Exception:
            continue
        try:
            out.append(clean_header(_unescape(raw_value)))
        except Exception:
            continue
    return out


def header_values(msg: Message, name: str) -> list[str]:
    """All values of header ``name``, decoded; never raises."""
    return [clean_header(decode_raw_header(v)) for v in raw_header_values(msg, name)]


def first_header(msg: Message, name: str) -> str:
    values = header_values(msg, name)
    return values[0] if values else ""


def decode_bytes(data: bytes, charset: str | None) -> str:
    candidates = []
    if charset:
        candidates.append(charset.strip().strip('"').lower())
    candidates.append("utf-8")
    for cs in candidates:
        try:
            return data.decode(cs)
        except (LookupError, UnicodeDecodeError, ValueError, TypeError):
            continue
    if charset:
        try:
            return data.decode(charset, errors="replace")
        except Exception:
            pass
    return data.decode("latin-1", errors="replace")


def part_text(part: Message) -> str:
    """Decoded text content of a leaf part, never raising."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        try:
            charset = part.get_content_charset()
        except Exception:
            charset = None
        return decode_bytes(payload, charset)
    try:
        raw = part.get_payload()
    except Exception:
        return ""
    return raw if isinstance(raw, str) else ""


def content_type(part: Message) -> str:
    try:
        return str(part.get_content_type()).lower()
    except Exception:
        return "text/plain"


def is_attachment(part: Message) -> bool:
    try:
        disp = part.get_content_disposition()
    except Exception:
        return False
    return disp == "attachment"


def subparts(part: Message) -> list[Message]:
    try:
        payload = part.get_payload()
    except Exception:
        return []
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def iter_leaves(part: Message, *, into_messages: bool, depth: int = 0) -> Iterator[Message]:
    """Leaf parts in order; ``into_messages`` decides whether to enter message/* parts."""
    if depth > 30:
        return
    ctype = content_type(part)
    if ctype.startswith("multipart/") or (into_messages and ctype == "message/rfc822"):
        for sub in subparts(part):
            yield from iter_leaves(sub, into_messages=into_messages, depth=depth + 1)
        return
    if ctype.startswith("message/"):
        return
    yield part


def walk_containers(msg: Message) -> Iterator[Message]:
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop(0)
        yield part
        if depth < 30 and content_type(part).startswith("multipart/"):
            stack.extend((sub, depth + 1) for sub in subparts(part))


def parse_from(msg: Message) -> tuple[str, str]:
    raw_values = raw_header_values(msg, "from")
    if not raw_values:
        return "", ""
    # Split addresses on the still-encoded value, so an encoded "Doe, John" display
    # name cannot be mistaken for two addresses; decode the name afterwards.
    try:
        pairs = email.utils.getaddresses([raw_values[0]])
    except Exception:
        pairs = []
    for name, addr in pairs:
        if addr and "@" in addr:
            return addr.strip().lower(), clean_header(decode_raw_header(name))
    value = clean_header(decode_raw_header(raw_values[0]))
    for token in _FROM_TOKEN_SPLIT.split(value):
        # An address: something, "@", something (the first token that has both).
        if "@" in token[1:-1]:
            name = value.replace(token, "").strip(" <>\"'")
            return token.lower(), name
    return "", value


def parse_date(msg: Message) -> datetime | None:
    value = first_header(msg, "date")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except Exception:
        return None
    # "-0000" (RFC 5322: UTC, local zone unknown) parses naive; the database takes aware only.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def all_headers(msg: Message) -> Mapping[str, str]:
    out: dict[str, str] = {}
    try:
        raw_items = list(msg.raw_items())
    except Exception:
        raw_items = []
    for key, value in raw_items:
        try:
            lkey = str(key).strip().lower()
        except Exception:
            continue
        if lkey and lkey not in out:
            out[lkey] = clean_header(decode_raw_header(value))
    return MappingProxyType(out)


# --------------------------------------------------------------------------- text of a message


def best_text(msg: Message) -> str:
    plain: str | None = None
    html: str | None = None
    for part in iter_leaves(msg, into_messages=False):
        if is_attachment(part):
            continue
        ctype = content_type(part)
        if ctype == "text/plain" and plain is None:
            candidate = part_text(part)[:BODY_TEXT_MAX]
            if candidate.strip():
                plain = candidate
        elif ctype == "text/html" and html is None:
            candidate = part_text(part)[:HTML_MAX]
            if candidate.strip():
                html = candidate
    if plain is not None:
        return plain.replace("\r\n", "\n").replace("\r", "\n").strip()
    if html is not None:
        return html_to_text(html)[:BODY_TEXT_MAX]
    return ""


def all_text(msg: Message) -> str:
    chunks = []
    size = 0
    for part in iter_leaves(msg, into_messages=True):
        if size >= BODY_TEXT_MAX:
            break
        if content_type(part).startswith("text/"):
            chunk = part_text(part)
            if content_type(part) == "text/html":
                chunk = html_to_text(chunk[:HTML_MAX])
            chunk = chunk[: BODY_TEXT_MAX - size]
            size += len(chunk)
            chunks.append(chunk)
    return "\n".join(chunks)


def fold(text: str) -> str:
    """Casefold and drop accents, so "RÉPONSE automatique" matches "reponse automatique"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
