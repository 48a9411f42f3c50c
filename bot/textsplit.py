"""Long answers as several Telegram messages: cut at line boundaries, never inside a word.

Telegram counts a message's length in UTF-16 code units (an emoji outside the Basic
Multilingual Plane counts twice) and refuses more than 4096. A text is cut after the last
line break that fits; a single line longer than a message is cut after its last space that
fits; only a "word" longer than a whole message (a URL of 5,000 characters) is cut inside it,
at a character boundary.
"""

from __future__ import annotations

LIMIT = 4096  # Telegram's limit for a message, in UTF-16 code units after entities are parsed


def units(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _fits(text: str, limit: int) -> int:
    """How many leading characters of ``text`` fit in ``limit`` UTF-16 code units."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return i
    return len(text)


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """``text`` as messages of at most ``limit`` UTF-16 code units each, in order. Joined
    back with the break each cut was made at (a newline, or a space), they give ``text``
    minus the whitespace at the cuts. An empty text gives no message."""
    if limit < 2:
        raise ValueError("a message holds at least 2 code units")
    out: list[str] = []
    rest = text.strip()
    while rest:
        n = _fits(rest, limit)
        if n == len(rest):
            out.append(rest)
            break
        head = rest[: n + 1]  # the character just past the room: a break there cuts cleanly
        cut = head.rfind("\n")
        if cut <= 0:
            cut = max(head.rfind(" "), head.rfind("\t"))
        if cut <= 0:
            cut = n  # one word longer than a message: cut it at the room
        piece = rest[:cut].rstrip()
        if piece:
            out.append(piece)
        rest = rest[cut:].strip()
    return out
