"""How much of one inbound email is looked at. Mail is hostile input: every field is capped
before anything parses it, so no parser or pattern ever sees more than these sizes.

``cap_raw`` rewrites the top-level header block before the email package parses it: each
header field at most ``HEADER_MAX`` bytes (``References``/``In-Reply-To`` at most
``THREAD_HEADER_MAX``, keeping the newest ids at the end), at most ``MAX_HEADERS`` fields, and
the whole message at most ``RAW_MAX`` bytes. Pure bytes-in, bytes-out; linear in its input.
"""

from __future__ import annotations

RAW_MAX = 4 * 1024 * 1024  # bytes of one message handed to the parser (IMAP fetches no more)
HEADER_MAX = 4 * 1024  # one header field, name and folded continuation lines included
THREAD_HEADER_MAX = 8 * 1024  # References / In-Reply-To: long threads, keep the newest ids
MAX_HEADERS = 500  # header fields kept from the top-level header block
HEADER_BLOCK_MAX = 256 * 1024  # where a header block without an end is cut
BODY_TEXT_MAX = 64 * 1024  # characters of decoded body text classification reads
HTML_MAX = 256 * 1024  # characters of an HTML part converted to text
AUTH_RESULTS_MAX = 20  # Authentication-Results headers kept (the topmost ones)

_THREAD_NAMES = (b"references", b"in-reply-to")


def cap_raw(raw: bytes) -> bytes:
    """``raw`` with its message and header fields cut to the caps above (unchanged if within)."""
    raw = raw[:RAW_MAX]
    end, sep = _header_end(raw)
    if end < 0:
        # No blank line: all header (or garbage). Cap what a parser would read as headers.
        head, body = raw[:HEADER_BLOCK_MAX], None
    else:
        head, body = raw[:end], raw[end + len(sep) :]
    fields = _split_fields(head)
    within = len(fields) <= MAX_HEADERS and all(
        sum(len(line) + 2 for line in f) <= _limit(f) for f in fields
    )
    if within and (body is not None or len(raw) <= HEADER_BLOCK_MAX):
        return raw
    newline = b"\r\n" if b"\r\n" in head[:4096] else b"\n"
    out = newline.join(_cap_field(f, newline) for f in fields[:MAX_HEADERS])
    if body is not None:
        out += newline + newline + body
    return out


def _header_end(raw: bytes) -> tuple[int, bytes]:
    """Offset of the blank line ending the header block, and the separator; (-1, b"") if none."""
    window = raw[:HEADER_BLOCK_MAX]
    crlf = window.find(b"\r\n\r\n")
    lf = window.find(b"\n\n")
    if crlf < 0 and lf < 0:
        return -1, b""
    if lf < 0 or (0 <= crlf < lf):
        return crlf, b"\r\n\r\n"
    return lf, b"\n\n"


def _split_fields(head: bytes) -> list[list[bytes]]:
    """Header fields, each as its lines (the first, then folded continuation lines)."""
    fields: list[list[bytes]] = []
    for line in head.split(b"\n"):
        line = line.removesuffix(b"\r")
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1].append(line)
        else:
            fields.append([line])
    return fields


def _name(field: list[bytes]) -> bytes:
    return field[0].split(b":", 1)[0].strip().lower()


def _limit(field: list[bytes]) -> int:
    return THREAD_HEADER_MAX if _name(field) in _THREAD_NAMES else HEADER_MAX


def _cap_field(field: list[bytes], newline: bytes) -> bytes:
    joined = newline.join(field)
    limit = _limit(field)
    if len(joined) <= limit:
        return joined
    if _name(field) in _THREAD_NAMES:
        # Keep the newest ids (the end of the list), whole tokens only.
        name = field[0].split(b":", 1)[0]
        words = b" ".join(field).split(b":", 1)[-1].split()
        kept: list[bytes] = []
        size = len(name) + 2
        for word in reversed(words):
            if size + len(word) + 1 > limit:
                break
            kept.append(word)
            size += len(word) + 1
        return name + b": " + b" ".join(reversed(kept))
    return joined[:limit].rstrip(b"\r\n")
