"""The pieces of template text that mean something, each read on its own. Pure.

Left to right, a doubled brace first (``{{{`` is ``{{`` then ``{``): ``{{``, ``}}``, ``|``, a
line break, and the pieces a single brace starts: a placeholder ``{field}`` /
``{field|fallback}``, the literal bar ``{|}``, or a brace that is not valid syntax (kept as
literal text with its problem). The text between tokens is literal. What ``{{``, ``}}`` and
``|`` mean together (literal braces or spintax) is decided by ``engine.template_syntax``,
which pairs them; ``engine.template_upgrade`` reads the same tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["BAR_ESCAPE", "Field", "Kind", "Token", "Where", "read_tokens"]

BAR_ESCAPE = "{|}"

_TOKEN_RE = re.compile(r"\{\{|\}\}|[{}|\r\n]")
# What may follow a "{" to make a placeholder: name, optional |fallback, "}".
_FIELD_RE = re.compile(r"[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?:\|([^{}\r\n]*))?\}")
_CLOSE_ON_LINE_RE = re.compile(r"[^{}\r\n]*\}")


class Kind(StrEnum):
    OPEN = "{{"
    CLOSE = "}}"
    BAR = "|"
    BREAK = "line break"
    ITEM = "item"  # a placeholder, a {|}, or a brace that is not valid syntax


_SIMPLE = {
    "{{": (Kind.OPEN, "{"),
    "}}": (Kind.CLOSE, "}"),
    "|": (Kind.BAR, "|"),
    "\r": (Kind.BREAK, "\r"),
    "\n": (Kind.BREAK, "\n"),
}


@dataclass(frozen=True)
class Field:
    name: str  # lower-cased
    fallback: str | None


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of the text that means something: its kind, its span, what it renders as when it
    is not structure (``{{`` is ``{`` unless it starts spintax), and its problem if any."""

    kind: Kind
    start: int
    end: int
    item: str | Field
    problem: str | None = None


class Where:
    """ "line L, column C" of increasing offsets in ``text``, counted incrementally: one pass
    over the text in all (counting from the start for every error is quadratic in them)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0
        self.line = 1
        self.line_start = 0

    def __call__(self, offset: int) -> str:
        text, last = self.text, self.offset
        self.line += text.count("\n", last, offset)
        newline = text.rfind("\n", last, offset)
        if newline >= 0:
            self.line_start = newline + 1
        self.offset = offset
        return f"line {self.line}, column {offset - self.line_start + 1}"


_STRAY_CLOSE = "'}' without a matching '{' (write }} for a literal brace)"
_UNCLOSED = (
    "'{' is never closed on this line "
    "(write {{ for a literal brace, or close the placeholder like {first_name})"
)


def read_tokens(text: str) -> list[Token]:
    """Every meaningful piece of ``text``, in order; the text between them is literal."""
    found: list[Token] = []
    pos = 0
    while (match := _TOKEN_RE.search(text, pos)) is not None:
        start, token = match.start(), match.group()
        pos = match.end()
        if token == "{":
            item, pos, problem = _after_open_brace(text, pos)
            found.append(Token(Kind.ITEM, start, pos, item, problem))
        elif token == "}":
            found.append(Token(Kind.ITEM, start, pos, "}", _STRAY_CLOSE))
        else:
            kind, literal = _SIMPLE[token]
            found.append(Token(kind, start, pos, literal))
    return found


def _after_open_brace(text: str, pos: int) -> tuple[str | Field, int, str | None]:
    """What the single ``{`` just before ``pos`` starts: a field, ``{|}``, or literal text to
    keep with the problem it has. Also where scanning goes on."""
    if text.startswith("|}", pos):
        return "|", pos + 2, None
    field = _FIELD_RE.match(text, pos)
    if field is not None:
        fallback = field.group(2)
        name = field.group(1).lower()
        return Field(name, fallback.strip() if fallback is not None else None), field.end(), None
    closing = _CLOSE_ON_LINE_RE.match(text, pos)
    if closing is None:
        return "{", pos, _UNCLOSED
    inner = text[pos : closing.end() - 1]
    raw = "{" + inner + "}"
    return raw, closing.end(), _bad_placeholder(raw, inner)


def _bad_placeholder(raw: str, inner: str) -> str:
    """The problem with ``raw`` (``{inner}``, closed on its line but not a valid placeholder)."""
    if not inner.split("|", 1)[0].strip():
        problem = f"placeholder {raw} has no field name"
    else:
        problem = (
            f"{raw} is not a valid placeholder: field names use only letters, digits "
            "and _ and don't start with a digit"
        )
    return (
        f"{problem} (e.g. {{first_name}} or {{first_name|there}}; "
        "write {{ and }} for literal braces)"
    )
