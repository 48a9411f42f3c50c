"""Message-IDs in threading headers: the one parser of an In-Reply-To / References value and the
one builder of the headers that put a reply in its thread (a follow-up, the calendar answer).

Both are pure and linear-time: the values come from mail anyone can write.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import decode_header, make_header

__all__ = ["ThreadHeaders", "first_id", "parse_ids", "reply_headers"]

# A parenthesised comment ("(Jane's message of Mon, 15 Jan)"); removed before the ids are read.
_COMMENT = re.compile(r"\([^()]*\)")
# A bracketed id (inner whitespace from folding is dropped), or a bare word.
_ID_OR_WORD = re.compile(r"<([^<>]*)>|([^\s,;<>]+)")


def parse_ids(value: str | None) -> list[str]:
    """The ids in an In-Reply-To / References value, in order, without duplicates, each with
    its angle brackets.

    Tolerant of what clients write: ids separated by whitespace (folded or not), commas or
    semicolons, or glued together (``<a@x><b@x>``); a bare token with an ``@`` is an id missing
    its brackets; comments and other bare words (old-style "Alice's message of ...") are
    ignored; RFC 2047-encoded values are decoded. Case is kept: Message-IDs are case-sensitive.
    """
    if not value:
        return []
    if "=?" in value:  # some clients RFC 2047-encode long ids; undo it
        try:
            value = str(make_header(decode_header(value)))
        except Exception:  # a broken encoded word: keep the raw value
            pass
    value = _COMMENT.sub(" ", value)
    ids: list[str] = []
    seen: set[str] = set()
    for match in _ID_OR_WORD.finditer(value):
        bracketed, bare = match.group(1), match.group(2)
        if bracketed is not None:
            token = "".join(bracketed.split()).strip("\"'")
        elif bare is not None and "@" in bare:
            token = bare.strip("\"'()[]")
        else:
            continue
        if not token:
            continue
        msg_id = f"<{token}>"
        if msg_id not in seen:
            seen.add(msg_id)
            ids.append(msg_id)
    return ids


def first_id(value: str | None) -> str | None:
    """The first id in ``value`` (a Message-ID header, say), or None."""
    ids = parse_ids(value)
    return ids[0] if ids else None


@dataclass(frozen=True)
class ThreadHeaders:
    """In-Reply-To and References of a reply; ``references`` oldest first."""

    in_reply_to: str | None
    references: tuple[str, ...]

    @property
    def references_value(self) -> str | None:
        """References as stored on an outbound row (space-separated), or None for none."""
        return " ".join(self.references) or None


def reply_headers(thread: Sequence[str]) -> ThreadHeaders:
    """The threading headers of a reply in a thread whose ids are given oldest first, the last
    being the message answered: In-Reply-To is that last id, References all of them once each
    (first occurrence kept). Blank entries are skipped; no ids, no headers."""
    ids = [i.strip() for i in thread if i and i.strip()]
    if not ids:
        return ThreadHeaders(None, ())
    return ThreadHeaders(ids[-1], tuple(dict.fromkeys(ids)))
