"""Bounces: is this message a delivery status notification, and what does it say?

:func:`parse_bounce` reads an RFC 3464 report (``multipart/report; report-type=delivery-status``)
anywhere in the message, or a plain-text bounce from a mailer daemon, and returns who failed,
the status code, whether it is hard, and every Message-ID it cites (only those tie it to a
lead). What a code means (hard or soft) is :mod:`engine.delivery_status`'s, the table SMTP
sending uses too. Never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from engine import delivery_status
from engine.inbox.mime import (
    all_text,
    best_text,
    clean_header,
    content_type,
    decode_bytes,
    first_header,
    header_values,
    parse_from,
    parse_message,
    part_text,
    subparts,
    walk_containers,
)
from engine.message_ids import first_id, parse_ids

__all__ = ["Bounce", "parse_bounce"]


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


_DAEMON_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_BOUNCE_SUBJECT = re.compile(
    r"delivery status notification|undelivered mail|mail delivery failed|undeliverable|"
    r"undelivered|returned mail|delivery failure|delivery has failed|failure notice|"
    r"could not be delivered|not delivered|delivery delayed|delayed mail|"
    r"mail delivery (failure|problem|error|subsystem)|unzustellbar|nicht zustellbar|non remis|"
    r"non recapitabile|onbestelbaar|no se puede entregar|non distribuito",
    re.I,
)
_TYPE_PREFIX = re.compile(r"\s*[A-Za-z0-9-]+\s*")
_DELAY_WORDS = re.compile(
    r"\b(delayed|will (be )?retr(y|ied)|still (trying|being retried)|temporar)", re.I
)
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
    for sub in subparts(part):
        group: dict[str, str] = {}
        try:
            items = list(sub.raw_items())
        except Exception:
            items = []
        for key, value in items:
            try:
                group.setdefault(str(key).strip().lower(), clean_header(str(value)))
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
    text = decode_bytes(payload, "utf-8") if isinstance(payload, bytes) else part_text(part)
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
            ident = first_id(words[0])
            if ident and ident not in out:
                out.append(ident)
    return out


def _original_message_id(msg: Message) -> str | None:
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop(0)
        if depth > 30:
            continue
        ctype = content_type(part)
        if ctype in ("message/rfc822", "message/global"):
            for sub in subparts(part):
                ident = first_id(first_header(sub, "message-id"))
                if ident:
                    return ident
        elif ctype in ("text/rfc822-headers", "message/rfc822-headers", "text/global-headers"):
            headers_msg = parse_message(part_text(part).encode("utf-8", "replace"))
            ident = first_id(first_header(headers_msg, "message-id"))
            if ident:
                return ident
        elif ctype.startswith("multipart/"):
            stack.extend((sub, depth + 1) for sub in subparts(part))
    return None


def _diagnostic_line(text: str, status: str | None, smtp_code: str | None) -> str:
    for needle in (status, smtp_code):
        if not needle:
            continue
        for line in text.split("\n"):
            if needle in line:
                return line.strip()[:500]
    return ""


# --------------------------------------------------------------------------- the steps


def parse_bounce(msg_raw: bytes) -> Bounce | None:
    """A :class:`Bounce` if ``msg_raw`` is a delivery status notification, else ``None``."""
    try:
        return _parse_bounce(msg_raw)
    except Exception:  # pragma: no cover - defensive, parse must never stop the poller
        return None


def _parse_bounce(raw: bytes) -> Bounce | None:
    msg = parse_message(raw)
    groups = _report_groups(msg)
    if not _looks_like_bounce(msg, bool(groups)):
        return None
    rcpt_groups = [g for g in groups if "final-recipient" in g or "original-recipient" in g]
    if _is_delivery_receipt(rcpt_groups):
        return None  # a positive DSN (delivery receipt), not a bounce
    recipient, status, action, diagnostic = _read_group(_pick_group(rcpt_groups))
    explanation = best_text(msg)  # the human-readable part(s), not the returned original
    if recipient is None:
        recipient = _clean_addr(first_header(msg, "x-failed-recipients"))
    if recipient is None:
        recipient = _rcpt_in_text(explanation)
    if status is None:
        status = delivery_status.find_enhanced(f"{diagnostic}\n{explanation}", failures_only=True)
    smtp_code = delivery_status.find_basic(diagnostic) or delivery_status.find_basic(explanation)
    if not diagnostic:
        diagnostic = _diagnostic_line(explanation, status, smtp_code)
    original, cited = _cited_ids(msg)
    text = f"{first_header(msg, 'subject')}\n{explanation}"
    return Bounce(
        recipient=recipient,
        status=status,
        action=action,
        diagnostic=diagnostic,
        hard=_is_hard(status, smtp_code, action, text),
        original_message_id=original,
        cited_ids=cited,
    )


def _report_groups(msg: Message) -> list[dict[str, str]]:
    """The field groups of the first delivery-status part, anywhere (some relays nest it)."""
    for part in walk_containers(msg):
        if content_type(part) in ("message/delivery-status", "message/global-delivery-status"):
            return _delivery_status_groups(part)
    return []


def _looks_like_bounce(msg: Message, has_report_groups: bool) -> bool:
    """A DSN (by type or by its delivery-status part), an ``X-Failed-Recipients`` header, or a
    bounce subject from a mailer daemon or the null sender."""
    if has_report_groups or _is_report_type(msg) or first_header(msg, "x-failed-recipients"):
        return True
    from_daemon = _localpart(parse_from(msg)[0]) in _DAEMON_LOCALPARTS
    null_sender = first_header(msg, "return-path").strip() == "<>"
    return (from_daemon or null_sender) and bool(
        _BOUNCE_SUBJECT.search(first_header(msg, "subject"))
    )


def _is_report_type(msg: Message) -> bool:
    try:
        report_type = str(msg.get_param("report-type", "") or "").lower()
    except Exception:
        report_type = ""
    return content_type(msg) == "multipart/report" and report_type == "delivery-status"


_POSITIVE_ACTIONS = ("delivered", "relayed", "expanded")


def _is_delivery_receipt(rcpt_groups: list[dict[str, str]]) -> bool:
    return bool(rcpt_groups) and all(
        g.get("action", "").lower().split(" ")[0] in _POSITIVE_ACTIONS for g in rcpt_groups
    )


def _pick_group(rcpt_groups: list[dict[str, str]]) -> dict[str, str] | None:
    """The recipient the report is about: the first failed one, else the first delayed one,
    else the first one."""
    for wanted in ("failed", "delayed"):
        for g in rcpt_groups:
            if g.get("action", "").lower().startswith(wanted):
                return g
    return rcpt_groups[0] if rcpt_groups else None


def _read_group(group: dict[str, str] | None) -> tuple[str | None, str | None, str | None, str]:
    """(recipient, status, action, diagnostic) of one recipient group."""
    if not group:
        return None, None, None, ""
    recipient = _clean_addr(group.get("original-recipient", "")) or _clean_addr(
        group.get("final-recipient", "")
    )
    status = delivery_status.find_enhanced(group.get("status", ""))
    action = group.get("action", "").strip().lower() or None
    return recipient, status, action, _strip_type(group.get("diagnostic-code", ""))


def _cited_ids(msg: Message) -> tuple[str | None, tuple[str, ...]]:
    """(the original's Message-ID, every id the report cites), at most 100."""
    original = _original_message_id(msg)
    text_ids = _msgid_lines(all_text(msg))
    threaded = parse_ids(" ".join(header_values(msg, "in-reply-to")))
    if original is None and text_ids:
        original = text_ids[0]
    if original is None and threaded:
        # Gmail and others also thread the DSN onto the original.
        original = threaded[0]
    cited = [original] if original else []
    cited += text_ids + threaded + parse_ids(" ".join(header_values(msg, "references")))
    return original, tuple(dict.fromkeys(cited))[:100]


def _is_hard(status: str | None, smtp_code: str | None, action: str | None, text: str) -> bool:
    """Hard or soft, from the code (:mod:`engine.delivery_status`: 5.x.x hard, 4.x.x soft, the
    3-digit code when there is no enhanced one); ``Action: delayed`` is soft. With no code at
    all, a failure report counts as hard unless it reads as a delay: for cold outreach,
    re-sending to a dead address costs more reputation than skipping a live one."""
    if action and action.lower().startswith("delayed"):
        return False
    for code in (status, smtp_code):
        meaning = delivery_status.of(code)
        if meaning is not None and meaning.failed:
            return meaning.hard
    return not _DELAY_WORDS.search(text)
