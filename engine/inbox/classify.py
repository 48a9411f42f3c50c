"""Pure classification of one inbound email: bounce, auto-reply, opt-out or human.

No IMAP, no database: bytes in, dataclasses out. This module holds the types (:class:`Inbound`,
:class:`Classification`) and the order of decision; each concern has its module: reading the
message (:mod:`~engine.inbox.mime`, :mod:`~engine.inbox.html_text`), the new part of a reply
(:mod:`~engine.inbox.quotes`), bounce reports (:mod:`~engine.inbox.bounces`), auto-replies
(:mod:`~engine.inbox.autoreply`) and opt-outs (:mod:`~engine.inbox.optout`). Everything must
survive whatever lands in an inbox, so :func:`parse_inbound` and :func:`classify` never raise on
malformed input; unreadable pieces degrade to empty strings / ``None``. The classifier child
(:mod:`~engine.inbox.budget`) imports only these modules: keep them free of SQLAlchemy and bot.

Order of decision in :func:`classify`: bounce -> auto-reply -> opt-out -> human.
Bounces come first because a DSN usually also carries ``Auto-Submitted`` and an
``In-Reply-To`` naming our original, so it would otherwise look like a reply.

``classify`` has no notion of "our own" addresses: a copy of one of our sent
messages (which carries our "reply 'unsubscribe'" footer) would read as an
opt-out. The caller must drop messages whose From is one of our accounts first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from engine.inbox.autoreply import auto_reply_reason
from engine.inbox.bounces import Bounce, parse_bounce
from engine.inbox.limits import AUTH_RESULTS_MAX
from engine.inbox.mime import (
    SPACE_RUN,
    all_headers,
    best_text,
    first_header,
    header_values,
    parse_date,
    parse_from,
    parse_message,
)
from engine.inbox.optout import opt_out_phrase
from engine.inbox.quotes import strip_quoted
from engine.message_ids import first_id, parse_ids
from engine.states import InboundKind

__all__ = ["Classification", "Inbound", "classify", "parse_inbound"]


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
class Classification:
    kind: InboundKind  # BOUNCE, AUTO_REPLY, OPT_OUT or HUMAN
    bounce: Bounce | None
    reason: str


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
    msg = parse_message(raw)
    from_email, from_name = parse_from(msg)
    text = best_text(msg)
    return Inbound(
        message_id=first_id(first_header(msg, "message-id")),
        from_email=from_email,
        from_name=from_name,
        subject=SPACE_RUN.sub(" ", first_header(msg, "subject")).strip(),
        date=parse_date(msg),
        in_reply_to=parse_ids(" ".join(header_values(msg, "in-reply-to"))),
        references=parse_ids(" ".join(header_values(msg, "references"))),
        text=text,
        new_text=strip_quoted(text),
        headers=all_headers(msg),
        raw_size=len(raw),
        auth_results=tuple(header_values(msg, "authentication-results")[:AUTH_RESULTS_MAX]),
    )


def classify(raw: bytes, inb: Inbound | None = None) -> Classification:
    """bounce -> auto-reply -> opt-out -> human. Never raises."""
    if inb is None:
        inb = parse_inbound(raw)
    bounce = parse_bounce(raw)
    if bounce is not None:
        label = "hard" if bounce.hard else "soft"
        reason = f"{label} bounce {bounce.status}" if bounce.status else f"{label} bounce"
        return Classification(kind=InboundKind.BOUNCE, bounce=bounce, reason=reason)
    auto = auto_reply_reason(inb)
    if auto is not None:
        return Classification(kind=InboundKind.AUTO_REPLY, bounce=None, reason=auto)
    phrase = opt_out_phrase(inb.new_text, inb.subject)
    if phrase is not None:
        return Classification(
            kind=InboundKind.OPT_OUT, bounce=None, reason=f'asked to unsubscribe ("{phrase[:60]}")'
        )
    return Classification(kind=InboundKind.HUMAN, bounce=None, reason="human reply")
