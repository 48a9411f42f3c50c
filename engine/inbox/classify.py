"""Pure classification of one inbound email: bounce, auto-reply, opt-out or human.

No IMAP, no database: bytes in, dataclasses out. Everything here must survive
whatever lands in an inbox, so :func:`parse_inbound`, :func:`parse_bounce` and
:func:`classify` never raise on malformed input; unreadable pieces degrade to
empty strings / ``None``.

Order of decision in :func:`classify`: bounce -> auto-reply -> opt-out -> human.
Bounces come first because a DSN usually also carries ``Auto-Submitted`` and an
``In-Reply-To`` naming our original, so it would otherwise look like a reply.

``classify`` has no notion of "our own" addresses: a copy of one of our sent
messages (which carries our "reply 'unsubscribe'" footer) would read as an
opt-out. The caller must drop messages whose From is one of our accounts first.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from enum import StrEnum
from html.parser import HTMLParser
from types import MappingProxyType
from typing import Any

from engine.inbox.limits import AUTH_RESULTS_MAX, BODY_TEXT_MAX, HTML_MAX, cap_raw

__all__ = [
    "Bounce",
    "Classification",
    "Inbound",
    "Kind",
    "classify",
    "is_auto_reply",
    "is_opt_out",
    "parse_bounce",
    "parse_inbound",
    "strip_quoted",
]


class Kind(StrEnum):
    BOUNCE = "bounce"
    AUTO_REPLY = "auto_reply"
    OPT_OUT = "opt_out"
    HUMAN = "human"


@dataclass(frozen=True)
class Inbound:
    """What classification (and the reply matcher) needs from one raw message."""

    message_id: str | None
    from_email: str
    from_name: str
    subject: str
    date: datetime | None
    in_reply_to: list[str]
    references: list[str]
    text: str
    new_text: str
    # Every header of the message: lowercased name -> first occurrence, decoded, unfolded.
    headers: Mapping[str, str]
    raw_size: int
    # Authentication-Results values in header order (topmost first), at most AUTH_RESULTS_MAX.
    auth_results: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bounce:
    recipient: str | None
    status: str | None
    action: str | None
    diagnostic: str
    hard: bool
    original_message_id: str | None
    # Every Message-ID the report cites: the returned original's, Message-ID lines of the
    # returned text, and the report's own In-Reply-To/References. Only these tie it to a lead.
    cited_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Classification:
    kind: Kind
    bounce: Bounce | None
    reason: str


# --------------------------------------------------------------------------- parsing helpers


def _parse_message(raw: bytes) -> Message:
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


def _decode_raw_header(value: Any) -> str:
    """Decode a raw (possibly RFC 2047 encoded) header value without trusting anything."""
    try:
        value = _unescape(value)
        parts = []
        for chunk, charset in email.header.decode_header(value):
            if isinstance(chunk, bytes):
                parts.append(_decode_bytes(chunk, charset))
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
_COMMENT = re.compile(r"\([^()]*\)")
_BRACKETED_ID = re.compile(r"<([^<>\s]+)>")
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")
_SPACE_RUN = re.compile(r"\s+")
_TYPE_PREFIX = re.compile(r"\s*[A-Za-z0-9-]+\s*")
_CLAUSE_END = re.compile(r"[.,;:!?\n]")
_WORD = re.compile(r"[\w'-]+")
_NOT_WORD = re.compile(r"[^\w\s'-]+")
_UNSUBSCRIBE_WORD = re.compile(r"\bunsubscribe\b")
_DELAY_WORDS = re.compile(
    r"\b(delayed|will (be )?retr(y|ied)|still (trying|being retried)|temporar)", re.I
)


def _clean_header(value: str) -> str:
    # Unfold and drop control characters that would only confuse matching.
    value = _FOLD.sub(" ", value)
    value = value.replace("\x00", "")
    return value.strip()


def _raw_header_values(msg: Message, name: str) -> list[str]:
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
            out.append(_clean_header(_unescape(raw_value)))
        except Exception:
            continue
    return out


def _header_values(msg: Message, name: str) -> list[str]:
    """All values of header ``name``, decoded; never raises."""
    return [_clean_header(_decode_raw_header(v)) for v in _raw_header_values(msg, name)]


def _header(msg: Message, name: str) -> str:
    values = _header_values(msg, name)
    return values[0] if values else ""


def _decode_bytes(data: bytes, charset: str | None) -> str:
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


def _part_text(part: Message) -> str:
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
        return _decode_bytes(payload, charset)
    try:
        raw = part.get_payload()
    except Exception:
        return ""
    return raw if isinstance(raw, str) else ""


def _content_type(part: Message) -> str:
    try:
        return str(part.get_content_type()).lower()
    except Exception:
        return "text/plain"


def _is_attachment(part: Message) -> bool:
    try:
        disp = part.get_content_disposition()
    except Exception:
        return False
    return disp == "attachment"


def _subparts(part: Message) -> list[Message]:
    try:
        payload = part.get_payload()
    except Exception:
        return []
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def _iter_leaves(part: Message, *, into_messages: bool, depth: int = 0) -> Iterator[Message]:
    """Leaf parts in order; ``into_messages`` decides whether to enter message/* parts."""
    if depth > 30:
        return
    ctype = _content_type(part)
    if ctype.startswith("multipart/") or (into_messages and ctype == "message/rfc822"):
        for sub in _subparts(part):
            yield from _iter_leaves(sub, into_messages=into_messages, depth=depth + 1)
        return
    if ctype.startswith("message/"):
        return
    yield part


_ID_SPLIT = re.compile(r"[\s,]+")


def _split_ids(value: str) -> list[str]:
    """Message-ids from In-Reply-To/References: whitespace OR comma separated, brackets optional.

    Tokens with neither brackets nor an ``@`` (comments such as ``(John's message of ...)``)
    are dropped. Every id is returned with its angle brackets.
    """
    out: list[str] = []
    # Remove parenthesised comments first; they may contain spaces.
    value = _COMMENT.sub(" ", value)
    for token in _ID_SPLIT.split(value):
        bracketed = token.startswith("<") or token.endswith(">")
        core = token.strip("<>\"'")
        if not core or "<" in core or ">" in core:
            # "<a@b><c@d>" glued together: split on the brackets.
            for inner in _BRACKETED_ID.findall(token):
                ident = f"<{inner}>"
                if ident not in out:
                    out.append(ident)
            continue
        if not bracketed and "@" not in core:
            continue
        ident = f"<{core}>"
        if ident not in out:
            out.append(ident)
    return out


def _first_id(value: str) -> str | None:
    ids = _split_ids(value)
    return ids[0] if ids else None


# --------------------------------------------------------------------------- html -> text


class _HTMLToText(HTMLParser):
    _BLOCK = frozenset(
        {
            "p",
            "div",
            "tr",
            "li",
            "ul",
            "ol",
            "table",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "pre",
            "hr",
            "section",
            "article",
            "header",
            "footer",
        }
    )
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._cur: list[str] = []
        self._depth = 0  # blockquote depth
        self._line_depth = 0
        self._skip = 0

    def _newline(self) -> None:
        self.lines.append((self._line_depth, "".join(self._cur)))
        self._cur = []
        self._line_depth = self._depth

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "br":
            self._newline()
        elif tag == "blockquote":
            self._newline()
            self._depth += 1
            self._line_depth = self._depth
        elif tag in self._BLOCK:
            self._newline()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "blockquote":
            self._newline()
            self._depth = max(0, self._depth - 1)
            self._line_depth = self._depth
        elif tag in self._BLOCK:
            self._newline()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        text = _HTML_SPACE.sub(" ", data)
        if text:
            self._cur.append(text)

    def result(self) -> str:
        self._newline()
        out: list[str] = []
        for depth, line in self.lines:
            line = line.replace("\xa0", " ").strip()
            if not line:
                if depth:
                    out.append(">" * depth)
                elif out and out[-1] != "":
                    out.append("")
                continue
            out.append("> " * depth + line)
        return "\n".join(out).strip()


def _html_to_text(html: str) -> str:
    """Crude HTML -> text; ``<blockquote>`` content comes out ``>``-quoted."""
    try:
        parser = _HTMLToText()
        parser.feed(html)
        parser.close()
        return parser.result()
    except Exception:
        return _strip_tags(html)


_LINE_TAGS = frozenset({"br", "br/", "/p", "/div"})


def _strip_tags(html: str) -> str:
    """Tags out, ``<br>``/``</p>``/``</div>`` as line ends; one left-to-right pass (linear)."""
    out: list[str] = []
    i = 0
    while i < len(html):
        lt = html.find("<", i)
        if lt < 0:
            out.append(html[i:])
            break
        out.append(html[i:lt])
        gt = html.find(">", lt + 1)
        if gt < 0:
            break  # an unclosed tag: the rest is markup
        name = html[lt + 1 : gt].strip().split(" ", 1)[0].lower()
        out.append("\n" if name in _LINE_TAGS else " ")
        i = gt + 1
    lines = (" ".join(line.split()) for line in "".join(out).split("\n"))
    return "\n".join(lines).strip()


def _best_text(msg: Message) -> str:
    plain: str | None = None
    html: str | None = None
    for part in _iter_leaves(msg, into_messages=False):
        if _is_attachment(part):
            continue
        ctype = _content_type(part)
        if ctype == "text/plain" and plain is None:
            candidate = _part_text(part)[:BODY_TEXT_MAX]
            if candidate.strip():
                plain = candidate
        elif ctype == "text/html" and html is None:
            candidate = _part_text(part)[:HTML_MAX]
            if candidate.strip():
                html = candidate
    if plain is not None:
        return plain.replace("\r\n", "\n").replace("\r", "\n").strip()
    if html is not None:
        return _html_to_text(html)[:BODY_TEXT_MAX]
    return ""


# --------------------------------------------------------------------------- strip_quoted

_ATTRIBUTION = [
    re.compile(r"^\s*On\b.{0,300}\bwrote\s*:\s*$", re.I | re.S),
    re.compile(r"^\s*Le\b.{0,300}\ba\s+écrit\s*:\s*$", re.I | re.S),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,200}:\s*$", re.I | re.S),
    re.compile(r"^\s*El\b.{0,300}\bescribió\s*:\s*$", re.I | re.S),
    re.compile(r"^\s*Il\b.{0,300}\bha\s+scritto\s*:\s*$", re.I | re.S),
    re.compile(r"^\s*Op\b.{0,300}\bschreef\b.{0,200}:\s*$", re.I | re.S),
    re.compile(r"^\s*Em\b.{0,300}\bescreveu\s*:\s*$", re.I | re.S),
]
_ATTRIBUTION_START = re.compile(r"^\s*(On|Le|Am|El|Il|Op|Em)\b", re.I)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|"
    r"Mensaje original|Messaggio originale|Oorspronkelijk bericht|Mensagem original)\s*-{2,}\s*$",
    re.I,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_HDR_FROM = re.compile(r"^\s*(?:\*\s*)?(From|Von|De|Da|Van|Från|Fra|Od)\s*:", re.I)
_HDR_NEXT = re.compile(
    r"^\s*(?:\*\s*)?(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Enviada|Fecha|Inviato|Data|"
    r"Verzonden|Skickat|Sendt|Wysłano|Wysłane|To|An|À|Para|A|Aan|Subject|Betreff|Objet|Asunto)"
    r"\s*:",
    re.I,
)
_HDR_SENT = re.compile(
    r"^\s*(?:\*\s*)?(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Enviada|Fecha|Inviato|Data|"
    r"Verzonden|Skickat|Sendt|Wysłano|Wysłane)\s*:",
    re.I,
)


def _next_nonblank(lines: list[str], start: int, limit: int = 3) -> int | None:
    seen = 0
    for j in range(start, len(lines)):
        if lines[j].strip():
            return j
        seen += 1
        if seen > limit:
            return None
    return None


def _attribution_span(lines: list[str], i: int) -> int:
    """Number of lines (1..3) forming an attribution starting at ``i``, or 0."""
    if not _ATTRIBUTION_START.match(lines[i]):
        return 0
    joined = lines[i].strip()
    for k in range(3):
        if k:
            if i + k >= len(lines) or not lines[i + k].strip():
                return 0
            joined = f"{joined} {lines[i + k].strip()}"
        if len(joined) > 400:
            return 0
        if any(p.match(joined) for p in _ATTRIBUTION):
            return k + 1
    return 0


def _is_header_block(lines: list[str], i: int) -> bool:
    if not _HDR_FROM.match(lines[i]):
        return False
    # A "From:" line followed, within the next three lines, by Sent:/Date: (and
    # friends) is an Outlook-style quoted header block.
    saw_sent = False
    for j in range(i + 1, min(len(lines), i + 5)):
        if not lines[j].strip():
            continue
        if not _HDR_NEXT.match(lines[j]):
            break
        if _HDR_SENT.match(lines[j]):
            saw_sent = True
    return saw_sent


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted lines, attributions, quoted headers and signature removed.

    Conservative: the first non-empty line is never removed. An attribution
    ("On ... wrote:") followed by ``>``-quoted lines only removes itself, so an
    inline or bottom-posted answer after the quote survives; the Outlook-style
    markers (``-----Original Message-----``, an underscore rule before ``From:``,
    a ``From:``/``Sent:`` header block) and the ``-- `` signature delimiter cut
    everything after them.
    """
    if not text:
        return ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return ""
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if i <= first:
            kept.append(line)
            i += 1
            continue
        if line.lstrip().startswith(">"):
            i += 1
            continue
        span = _attribution_span(lines, i)
        if span:
            nxt = _next_nonblank(lines, i + span)
            if nxt is not None and lines[nxt].lstrip().startswith(">"):
                i += span  # drop the attribution only; the quote goes line by line
                continue
            break
        stripped = line.rstrip("\n")
        if stripped in ("-- ", "--"):
            break
        if _ORIGINAL_MESSAGE.match(line):
            break
        if _UNDERSCORES.match(line):
            nxt = _next_nonblank(lines, i + 1)
            if nxt is not None and _HDR_FROM.match(lines[nxt]):
                break
        if _is_header_block(lines, i):
            break
        kept.append(line)
        i += 1
    # Collapse runs of blank lines left behind by removed quotes.
    out: list[str] = []
    for line in kept:
        if not line.strip() and out and not out[-1].strip():
            continue
        out.append(line.rstrip())
    return "\n".join(out).strip()


# --------------------------------------------------------------------------- parse_inbound


def _parse_from(msg: Message) -> tuple[str, str]:
    raw_values = _raw_header_values(msg, "from")
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
            return addr.strip().lower(), _clean_header(_decode_raw_header(name))
    value = _clean_header(_decode_raw_header(raw_values[0]))
    for token in _FROM_TOKEN_SPLIT.split(value):
        # An address: something, "@", something (the first token that has both).
        if "@" in token[1:-1]:
            name = value.replace(token, "").strip(" <>\"'")
            return token.lower(), name
    return "", value


_FROM_TOKEN_SPLIT = re.compile(r"[\s<>\"',;:()]+")


def _parse_date(msg: Message) -> datetime | None:
    value = _header(msg, "date")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except Exception:
        return None
    # "-0000" (RFC 5322: UTC, local zone unknown) parses naive; the database takes aware only.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _all_headers(msg: Message) -> Mapping[str, str]:
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
            out[lkey] = _clean_header(_decode_raw_header(value))
    return MappingProxyType(out)


def parse_inbound(raw: bytes) -> Inbound:
    """Parse raw RFC 5322 bytes into an :class:`Inbound`. Never raises."""
    try:
        return _parse_inbound(raw)
    except Exception:  # last resort: a bug here must not stop the inbox poller
        return Inbound(
            message_id=None,
            from_email="",
            from_name="",
            subject="",
            date=None,
            in_reply_to=[],
            references=[],
            text="",
            new_text="",
            headers=MappingProxyType({}),
            raw_size=len(raw) if isinstance(raw, bytes | bytearray) else 0,
        )


def _parse_inbound(raw: bytes) -> Inbound:
    msg = _parse_message(raw)
    from_email, from_name = _parse_from(msg)
    text = _best_text(msg)
    return Inbound(
        message_id=_first_id(_header(msg, "message-id")),
        from_email=from_email,
        from_name=from_name,
        subject=_SPACE_RUN.sub(" ", _header(msg, "subject")).strip(),
        date=_parse_date(msg),
        in_reply_to=_split_ids(" ".join(_header_values(msg, "in-reply-to"))),
        references=_split_ids(" ".join(_header_values(msg, "references"))),
        text=text,
        new_text=strip_quoted(text),
        headers=_all_headers(msg),
        raw_size=len(raw),
        auth_results=tuple(_header_values(msg, "authentication-results")[:AUTH_RESULTS_MAX]),
    )


# --------------------------------------------------------------------------- bounces

_DAEMON_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_BOUNCE_SUBJECT = re.compile(
    r"delivery status notification|undelivered mail|mail delivery failed|undeliverable|"
    r"undelivered|returned mail|delivery failure|delivery has failed|failure notice|"
    r"could not be delivered|not delivered|delivery delayed|delayed mail|"
    r"mail delivery (failure|problem|error|subsystem)|unzustellbar|nicht zustellbar|non remis|"
    r"non recapitabile|onbestelbaar|no se puede entregar|non distribuito",
    re.I,
)
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_ENHANCED = re.compile(r"(?<![\d.])([45])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_SMTP_CODE = re.compile(r"(?<![\d.])([45][0-5]\d)(?=[\s-])")
# Address-shaped tokens are found by splitting on the characters an address cannot hold and
# checking each token (_address): one pass. A single regex like X+@X+\.X+ (X including "@" and
# ".") backtracks cubically on "a@a@a@...", and re.search retries it at every start position.
_ADDR_CHARS = r"[^\s<>\"'(),;:\[\]]"
_ADDR_SPLIT = re.compile(r"[\s<>\"'(),;:\[\]]+")
_RCPT_IN_TEXT = [
    re.compile(rf"<({_ADDR_CHARS}+)>\s*:"),  # Postfix / qmail: "<user@x>: host ... said:"
    re.compile(rf"\bdelivered to\s+<?({_ADDR_CHARS}+)", re.I),
    re.compile(
        rf"following (?:recipients?|address(?:es)?)[^:\n]{{0,200}}:\s*<?({_ADDR_CHARS}+)", re.I
    ),
]


def _localpart(addr: str) -> str:
    return addr.split("@", 1)[0].lower() if "@" in addr else addr.lower()


def _field_groups_from_text(text: str) -> list[dict[str, str]]:
    groups: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last: str | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                groups.append(current)
            current, last = {}, None
            continue
        if line[:1] in (" ", "\t") and last is not None:
            current[last] = f"{current[last]} {line.strip()}"
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        last = name.strip().lower()
        current.setdefault(last, value.strip())
    if current:
        groups.append(current)
    return groups


def _delivery_status_groups(part: Message) -> list[dict[str, str]]:
    """Field groups of a message/delivery-status part.

    The email package parses this payload as a list of Message objects, one per
    group (per-message fields first, then one per recipient). Fall back to parsing
    text if it did not.
    """
    groups: list[dict[str, str]] = []
    for sub in _subparts(part):
        group: dict[str, str] = {}
        try:
            items = list(sub.raw_items())
        except Exception:
            items = []
        for key, value in items:
            try:
                group.setdefault(str(key).strip().lower(), _clean_header(str(value)))
            except Exception:
                continue
        if group:
            groups.append(group)
    if groups:
        return groups
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    text = _decode_bytes(payload, "utf-8") if isinstance(payload, bytes) else _part_text(part)
    return _field_groups_from_text(text)


def _strip_type(value: str) -> str:
    """``rfc822; user@x`` -> ``user@x``; ``smtp; 550 ...`` -> ``550 ...``."""
    if ";" in value:
        kind, _, rest = value.partition(";")
        if _TYPE_PREFIX.fullmatch(kind):
            return rest.strip()
    return value.strip()


def _address(token: str) -> str | None:
    """``token`` (no separators in it) as an address: local@domain.tld, or None."""
    at = token.find("@", 1)
    dot = token.rfind(".")
    if at < 0 or dot < at + 2 or dot >= len(token) - 1:
        return None
    return token.strip(".").lower()


def _clean_addr(value: str) -> str | None:
    value = _strip_type(value).strip().strip("<>").strip()
    for token in _ADDR_SPLIT.split(value):
        found = _address(token)
        if found:
            return found
    return None


def _rcpt_in_text(text: str) -> str | None:
    for pattern in _RCPT_IN_TEXT:
        for m in pattern.finditer(text):
            found = _address(m.group(1))
            if found:
                return found
    return None


def _msgid_lines(text: str) -> list[str]:
    """Ids from ``Message-ID:`` lines of a returned message's text, line by line."""
    out: list[str] = []
    for line in text.split("\n"):
        head = line.lstrip()
        if head[:10].lower() != "message-id":
            continue
        rest = head[10:].lstrip()
        if not rest.startswith(":"):
            continue
        words = rest[1:1001].split(None, 1)
        if words and (words[0].startswith("<") or "@" in words[0]):
            ident = _first_id(words[0])
            if ident and ident not in out:
                out.append(ident)
    return out


def _original_message_id(msg: Message) -> str | None:
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop(0)
        if depth > 30:
            continue
        ctype = _content_type(part)
        if ctype in ("message/rfc822", "message/global"):
            for sub in _subparts(part):
                ident = _first_id(_header(sub, "message-id"))
                if ident:
                    return ident
        elif ctype in ("text/rfc822-headers", "message/rfc822-headers", "text/global-headers"):
            headers_msg = _parse_message(_part_text(part).encode("utf-8", "replace"))
            ident = _first_id(_header(headers_msg, "message-id"))
            if ident:
                return ident
        elif ctype.startswith("multipart/"):
            stack.extend((sub, depth + 1) for sub in _subparts(part))
    return None


def _all_text(msg: Message) -> str:
    chunks = []
    size = 0
    for part in _iter_leaves(msg, into_messages=True):
        if size >= BODY_TEXT_MAX:
            break
        if _content_type(part).startswith("text/"):
            chunk = _part_text(part)
            if _content_type(part) == "text/html":
                chunk = _html_to_text(chunk[:HTML_MAX])
            chunk = chunk[: BODY_TEXT_MAX - size]
            size += len(chunk)
            chunks.append(chunk)
    return "\n".join(chunks)


def _explanation_text(msg: Message) -> str:
    """Human-readable part(s) of the bounce, not the returned original."""
    return _best_text(msg)


def _is_hard(status: str | None, smtp_code: str | None, action: str | None, text: str) -> bool:
    """Permanent (5.x.x) failures are hard. Soft: 4.x.x, ``Action: delayed``, and
    5.2.2 "mailbox full", which is conventionally treated as temporary (the mailbox
    exists; it may be emptied). With no code at all, a failure report counts as hard
    unless it reads as a delay: for cold outreach, re-sending to a dead address costs
    more reputation than skipping a live one."""
    if action and action.lower().startswith("delayed"):
        return False
    if status:
        if status.startswith("4"):
            return False
        if status == "5.2.2":
            return False
        if status.startswith("5"):
            return True
    if smtp_code:
        if smtp_code.startswith("4") or smtp_code == "552":
            return False
        return True
    if _DELAY_WORDS.search(text):
        return False
    return True


def parse_bounce(msg_raw: bytes) -> Bounce | None:
    """A :class:`Bounce` if ``msg_raw`` is a delivery status notification, else ``None``."""
    try:
        return _parse_bounce(msg_raw)
    except Exception:  # pragma: no cover - defensive, parse must never stop the poller
        return None


def _parse_bounce(raw: bytes) -> Bounce | None:
    msg = _parse_message(raw)
    ctype = _content_type(msg)
    try:
        report_type = str(msg.get_param("report-type", "") or "").lower()
    except Exception:
        report_type = ""
    is_report = ctype == "multipart/report" and report_type == "delivery-status"

    from_local = _localpart(_parse_from(msg)[0])
    from_daemon = from_local in _DAEMON_LOCALPARTS
    subject = _header(msg, "subject")
    failed_hdr = _header(msg, "x-failed-recipients")
    null_sender = _header(msg, "return-path").strip() == "<>"
    bounce_subject = bool(_BOUNCE_SUBJECT.search(subject))

    # Find the delivery-status part anywhere (some relays nest the report).
    groups: list[dict[str, str]] = []
    for part in _walk_containers(msg):
        if _content_type(part) in ("message/delivery-status", "message/global-delivery-status"):
            groups = _delivery_status_groups(part)
            break
    if groups:
        is_report = True

    if not (is_report or failed_hdr or ((from_daemon or null_sender) and bounce_subject)):
        return None

    rcpt_groups = [g for g in groups if "final-recipient" in g or "original-recipient" in g]
    chosen: dict[str, str] | None = None
    for wanted in ("failed", "delayed"):
        chosen = next(
            (g for g in rcpt_groups if g.get("action", "").lower().startswith(wanted)), None
        )
        if chosen:
            break
    if chosen is None and rcpt_groups:
        if all(
            g.get("action", "").lower().split(" ")[0] in ("delivered", "relayed", "expanded")
            for g in rcpt_groups
        ):
            return None  # a positive DSN (delivery receipt), not a bounce
        chosen = rcpt_groups[0]

    recipient: str | None = None
    status: str | None = None
    action: str | None = None
    diagnostic = ""
    if chosen:
        recipient = _clean_addr(chosen.get("original-recipient", "")) or _clean_addr(
            chosen.get("final-recipient", "")
        )
        m = _STATUS.search(chosen.get("status", ""))
        status = m.group(0) if m else None
        action = chosen.get("action", "").strip().lower() or None
        diagnostic = _strip_type(chosen.get("diagnostic-code", ""))

    explanation = _explanation_text(msg)
    if recipient is None and failed_hdr:
        recipient = _clean_addr(failed_hdr)
    if recipient is None:
        recipient = _rcpt_in_text(explanation)

    haystack = f"{diagnostic}\n{explanation}"
    if status is None:
        m = _ENHANCED.search(haystack)
        if m:
            status = m.group(0)
    smtp_match = _SMTP_CODE.search(diagnostic) or _SMTP_CODE.search(explanation)
    smtp_code = smtp_match.group(1) if smtp_match else None
    if not diagnostic:
        diagnostic = _diagnostic_line(explanation, status, smtp_code)

    original = _original_message_id(msg)
    text_ids = _msgid_lines(_all_text(msg))
    threaded = _split_ids(" ".join(_header_values(msg, "in-reply-to")))
    if original is None and text_ids:
        original = text_ids[0]
    if original is None and threaded:
        # Gmail and others also thread the DSN onto the original.
        original = threaded[0]
    cited = [original] if original else []
    cited += text_ids + threaded + _split_ids(" ".join(_header_values(msg, "references")))

    hard = _is_hard(status, smtp_code, action, f"{subject}\n{explanation}")
    return Bounce(
        recipient=recipient,
        status=status,
        action=action,
        diagnostic=diagnostic,
        hard=hard,
        original_message_id=original,
        cited_ids=tuple(dict.fromkeys(cited))[:100],
    )


def _walk_containers(msg: Message) -> Iterator[Message]:
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop(0)
        yield part
        if depth < 30 and _content_type(part).startswith("multipart/"):
            stack.extend((sub, depth + 1) for sub in _subparts(part))


def _diagnostic_line(text: str, status: str | None, smtp_code: str | None) -> str:
    for needle in (status, smtp_code):
        if not needle:
            continue
        for line in text.split("\n"):
            if needle in line:
                return line.strip()[:500]
    return ""


# --------------------------------------------------------------------------- auto-replies


def _fold(text: str) -> str:
    """Casefold and drop accents, so "RÉPONSE automatique" matches "reponse automatique"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_AUTO_SUBJECT_PREFIXES = [
    r"automatic reply\b",
    r"auto\s*:",
    r"auto[\s-]?reply\b",
    r"auto[\s-]?response\b",
    r"automatic response\b",
    r"out of (the )?office\b",
    r"out-of-office\b",
    r"ooo\b",
    r"i am out of the office\b",
    r"i'm out of the office\b",
    r"vacation (reply|response|auto)",
    r"away from (the )?office\b",
    r"abwesenheitsnotiz\b",
    r"automatische antwort\b",
    r"abwesend\b",
    r"réponse automatique\b",
    r"absence du bureau\b",
    r"respuesta automática\b",
    r"fuera de la oficina\b",
    r"risposta automatica\b",
    r"fuori ufficio\b",
    r"automatisch antwoord\b",
    r"afwezig\b",
    r"resposta automática\b",
    r"fora do escritório\b",
    r"autosvar\b",
    r"automatisk svar\b",
    r"automaattinen vastaus\b",
    r"odpowiedź automatyczna\b",
    r"automatická odpověď\b",
    r"otomatik yanıt\b",
    r"автоматический ответ",
    r"自动回复",
    r"自動回覆",
    r"自動応答",
    r"自動返信",
]
_AUTO_SUBJECT = re.compile(r"^\s*(?:" + "|".join(_fold(p) for p in _AUTO_SUBJECT_PREFIXES) + ")")


def _auto_reply_reason(inb: Inbound) -> str | None:
    h = {k.lower(): v for k, v in inb.headers.items()}
    auto_submitted = h.get("auto-submitted")
    if auto_submitted is not None and auto_submitted.strip().lower() not in ("", "no"):
        return f"Auto-Submitted: {auto_submitted.strip()}"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder", "x-mail-autoreply"):
        if name in h:
            return f"{name}: {h[name]}".strip()
    for name in ("precedence", "x-precedence"):
        prec = h.get(name, "").strip().lower()
        if prec in ("auto_reply", "bulk", "junk", "list"):
            return f"Precedence: {prec}"
    # Exchange: X-Auto-Response-Suppress alone is set on ordinary Outlook mail too
    # (calendar items, read receipts), so it only counts together with the header
    # Exchange stamps on messages its mailbox rules agent generated: OOF replies carry
    # X-MS-Exchange-Inbox-Rules-Loop (and X-MS-Exchange-Generated-Message-Source:
    # Mailbox Rules Agent). They also carry Auto-Submitted: auto-generated, caught above.
    if "x-auto-response-suppress" in h and (
        "x-ms-exchange-inbox-rules-loop" in h or "x-ms-exchange-generated-message-source" in h
    ):
        return "X-Auto-Response-Suppress with Exchange rules-loop header"
    if h.get("x-autogenerated", "").strip().lower() == "reply":
        return "X-Autogenerated: Reply"
    # Subject: the auto-reply prefix must open the subject. "Re: Out of office?" is a
    # human answering, so a leading Re:/AW:/Fwd: is never skipped.
    if _AUTO_SUBJECT.match(_fold(inb.subject)):
        return f"auto-reply subject: {inb.subject[:60]}"
    return None


def is_auto_reply(inb: Inbound) -> bool:
    return _auto_reply_reason(inb) is not None


# --------------------------------------------------------------------------- opt-out

# (pattern, negatable). Patterns run on _fold()ed text (casefolded, accents removed,
# curly apostrophes straightened). A negatable phrase preceded, in the same clause,
# by a negation ("please don't unsubscribe me") does not count.
_OPT_OUT_PATTERNS: list[tuple[re.Pattern[str], bool]] = [
    (re.compile(r"\bunsub(scribe|scribed|scribing)?\b"), True),
    (re.compile(r"\bremove (me|us|my (e-?mail|address|name|contact))\b"), True),
    (re.compile(r"\bplease remove\b"), True),
    (
        re.compile(
            r"\bremove\b.{0,30}\b(from|off) (your|the|this) (mailing |e-?mail |contact )?(list|database|sequence|campaign)"
        ),
        True,
    ),
    (re.compile(r"\btake (me|us|my (e-?mail|address|name)) off\b"), True),
    (
        re.compile(r"\bstop (e-?mailing|mailing|sending|contacting|writing|messaging|spamming)\b"),
        False,
    ),
    (
        re.compile(
            r"\b(don'?t|do not|never) (e-?mail|contact|message|write to|write|reach out to) (me|us)\b"
        ),
        False,
    ),
    (re.compile(r"\bdo not contact\b"), False),
    (re.compile(r"\b(not|no longer) interested\b"), False),
    (re.compile(r"\bopt(-| )?out\b"), True),
    (re.compile(r"\babmelden\b"), True),
    (re.compile(r"\baustragen\b"), True),
    (re.compile(r"\bkein interesse\b"), False),
    (re.compile(r"\bdesabonn\w*"), True),
    (re.compile(r"\bdesinscri\w*"), True),
    (re.compile(r"\bpas interesse\b"), False),
    (re.compile(r"\b(darme|darnos|dar) de baja\b"), True),
    (re.compile(r"\bno (me|nos) interesa\b"), False),
]
_NEGATION = re.compile(r"\b(not|don'?t|never|won'?t|wouldn'?t|didn'?t|no need to|nicht|ne|pas)\b")
_SHORT_COMMANDS = frozenset(
    {"remove", "stop", "unsubscribe", "unsub", "optout", "opt out", "opt-out"}
)
_SHORT_FILLER = frozenset({"please", "pls", "me", "thanks", "thank", "you", "thx", "now"})
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|wg|fw|fwd|sv|vs|antw|r|rif|tr)\s*(?:\[\d+\]\s*)?:\s*)+", re.I
)


def _fold_text(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    return _SPACE_RUN.sub(" ", _fold(text)).strip()


def _negated(folded: str, start: int) -> bool:
    before = folded[max(0, start - 40) : start]
    clause = _CLAUSE_END.split(before)[-1]
    words = clause.split()[-3:]
    return bool(_NEGATION.search(" ".join(words)))


def _opt_out_phrase(new_text: str, subject: str) -> str | None:
    folded = _fold_text(new_text)
    for pattern, negatable in _OPT_OUT_PATTERNS:
        for m in pattern.finditer(folded):
            if negatable and _negated(folded, m.start()):
                continue
            return m.group(0)
    words = _WORD.findall(folded)
    if 0 < len(words) <= 4:
        joined = " ".join(words)
        rest = [w for w in words if w not in _SHORT_FILLER]
        if " ".join(rest) in _SHORT_COMMANDS:
            return joined
    subj = _fold_text(_SUBJECT_PREFIX.sub("", subject))
    subj = _NOT_WORD.sub(" ", subj).strip()
    subj_words = [w for w in subj.split() if w not in _SHORT_FILLER]
    if " ".join(subj_words) in _SHORT_COMMANDS or _UNSUBSCRIBE_WORD.search(subj):
        return f"subject: {subject.strip()[:60]}"
    return None


def is_opt_out(new_text: str, subject: str) -> bool:
    """True if the NEW text (quotes stripped by the caller) or the subject asks to be removed.

    Only the new text is examined, so our own footer ("Reply 'unsubscribe' ...")
    inside the quoted original does not count. "no thanks" is deliberately not an
    opt-out (it often declines one meeting, not all contact); "not interested" is.
    """
    return _opt_out_phrase(new_text, subject) is not None


# --------------------------------------------------------------------------- classify


def classify(raw: bytes, inb: Inbound | None = None) -> Classification:
    """bounce -> auto-reply -> opt-out -> human. Never raises."""
    if inb is None:
        inb = parse_inbound(raw)
    bounce = parse_bounce(raw)
    if bounce is not None:
        label = "hard" if bounce.hard else "soft"
        reason = f"{label} bounce {bounce.status}" if bounce.status else f"{label} bounce"
        return Classification(kind=Kind.BOUNCE, bounce=bounce, reason=reason)
    auto = _auto_reply_reason(inb)
    if auto is not None:
        return Classification(kind=Kind.AUTO_REPLY, bounce=None, reason=auto)
    phrase = _opt_out_phrase(inb.new_text, inb.subject)
    if phrase is not None:
        return Classification(
            kind=Kind.OPT_OUT, bounce=None, reason=f'asked to unsubscribe ("{phrase[:60]}")'
        )
    return Classification(kind=Kind.HUMAN, bounce=None, reason="human reply")
