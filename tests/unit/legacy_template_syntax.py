"""The placeholder syntax of the release before spintax, frozen: the reference the upgrade of
stored templates (``engine.template_upgrade``) is tested against. Do not change it.

Copied unchanged from ``engine/template_syntax.py`` at 780cdc7 (before spintax), except this
docstring and ``__all__``. Its meaning then: ``{field}``, ``{field|fallback}``, and ``{{`` /
``}}`` are literal braces, so ``{{a|b}}`` rendered as the text ``{a|b}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["render", "syntax_errors"]

_BRACE_RE = re.compile(r"\{\{|\}\}|[{}]")
# What may follow a "{" to make a placeholder: name, optional |fallback, "}".
_FIELD_RE = re.compile(r"[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?:\|([^{}\r\n]*))?\}")
_CLOSE_ON_LINE_RE = re.compile(r"[^{}\r\n]*\}")


@dataclass(frozen=True)
class _Field:
    name: str  # lower-cased
    fallback: str | None


class _Where:
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


_LITERAL_BRACES = {"{{": "{", "}}": "}"}
_STRAY_CLOSE = "'}' without a matching '{' (write }} for a literal brace)"
_UNCLOSED = (
    "'{' is never closed on this line "
    "(write {{ for a literal brace, or close the placeholder like {first_name})"
)


def _scan(text: str) -> tuple[list[str | _Field], list[str]]:
    """Split ``text`` into literal strings and fields; also every syntax problem, with position.

    Whatever is not valid syntax is kept as literal text, so rendering can go on regardless.
    """
    parts: list[str | _Field] = []
    errors: list[str] = []
    literal: list[str] = []
    pos = 0
    where = _Where(text)
    while (match := _BRACE_RE.search(text, pos)) is not None:
        start = match.start()
        literal.append(text[pos:start])
        token = match.group()
        pos = match.end()
        if token in _LITERAL_BRACES:
            literal.append(_LITERAL_BRACES[token])
            continue
        if token == "}":
            item: str | _Field = "}"
            problem: str | None = _STRAY_CLOSE
        else:  # a single "{"
            item, pos, problem = _after_open_brace(text, pos)
        if problem is not None:
            errors.append(f"{where(start)}: {problem}")
        if isinstance(item, _Field):
            parts.append("".join(literal))
            literal = []
            parts.append(item)
        else:
            literal.append(item)
    literal.append(text[pos:])
    parts.append("".join(literal))
    return [p for p in parts if p != ""], errors


def _after_open_brace(text: str, pos: int) -> tuple[str | _Field, int, str | None]:
    """What the single ``{`` just before ``pos`` starts: a field, or literal text to keep with
    the problem it has. Also where scanning goes on."""
    field = _FIELD_RE.match(text, pos)
    if field is not None:
        fallback = field.group(2)
        name = field.group(1).lower()
        return _Field(name, fallback.strip() if fallback is not None else None), field.end(), None
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


def placeholders(text: str) -> set[str]:
    """The (lower-cased) field names used by the valid placeholders in ``text``."""
    return {p.name for p in _scan(text)[0] if isinstance(p, _Field)}


def syntax_errors(text: str) -> list[str]:
    """Every brace problem in ``text`` (empty when the syntax is fine), each naming its position."""
    return _scan(text)[1]


def ordered_fields(text: str) -> list[str]:
    """The field names of ``text``'s valid placeholders, each once, in order of first use."""
    seen: dict[str, None] = {}
    for part in _scan(text)[0]:
        if isinstance(part, _Field):
            seen.setdefault(part.name, None)
    return list(seen)


# --------------------------------------------------------------------------- rendering


def _lookup_table(values: Mapping[str, str] | None) -> dict[str, str]:
    table: dict[str, str] = {}
    if not values:
        return table
    try:
        items = list(values.items())
    except Exception:
        return table
    for key, value in items:
        try:
            key_text = str(key).strip().lower()
            value_text = "" if value is None else str(value)
        except Exception:
            continue
        # An exact lower-case key wins over e.g. "Company" when both are present.
        if key_text not in table or str(key) == key_text:
            table[key_text] = value_text
    return table


def _render_parts(parts: list[str | _Field], table: dict[str, str]) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = table.get(part.name, "").strip()
        out.append(value if value else (part.fallback or ""))
    return "".join(out)


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every placeholder filled from ``values``. Never raises.

    Keys are matched case-insensitively; a value that is missing or blank gives the fallback
    (or nothing); values are stripped and inserted verbatim (braces in values are not
    interpreted). Invalid brace syntax is copied through unchanged.
    """
    try:
        return _render_parts(_scan(str(text))[0], _lookup_table(values))
    except Exception:  # pragma: no cover - belt and braces: a send must not crash on a template
        return str(text)
