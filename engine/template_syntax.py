"""Template syntax: placeholders and spintax; scanning template text, and filling it in.

Placeholders. ``{field}`` is replaced by the lead's value for ``field``; ``{field|fallback}``
uses ``fallback`` when the value is missing or blank. Field names are
``[A-Za-z_][A-Za-z0-9_]*``, case-insensitive (``{First_Name}`` is ``{first_name}``);
spaces/tabs around the name and around the fallback are ignored. A fallback is any text on
one line without ``{`` or ``}`` (a ``|`` in it belongs to the fallback).

Spintax. ``{{Hi|Hello|Hey}}`` picks one option at random for each email, each option as
likely as the others. A ``{{`` starts spintax when its matching ``}}`` is on the same line and
at least one ``|`` stands between them at their own level: not inside a placeholder, not
inside an inner ``{{ }}``. Options are used exactly as written, spaces included, and may hold
placeholders and literal braces: ``{{Hi {first_name|there}|Hello}}``. Refused at save, each
with its position: an empty option (``{{a||b}}``, ``{{|a}}``, ``{{a| }}``), more than
:data:`SPINTAX_MAX_OPTIONS` options, an option longer than :data:`SPINTAX_OPTION_MAX_CHARS`
characters, spintax inside an option of another spintax (nesting is not supported: write the
combinations out as the options of one), and a ``{{`` with a ``|`` after it at its level that
is not closed on its line (``{{a|b``).

Literal characters. ``{{`` and ``}}`` with no ``|`` between them are literal braces, as before
spintax: ``{{first_name}}`` is the text ``{first_name}``, ``}}{{`` is ``}{``, and a ``}}``
that closes nothing is ``}``. ``{|}`` is a literal ``|``, anywhere; it is only needed between
``{{`` and ``}}``, where a bare ``|`` separates options: the text ``{a|b}`` is written
``{{a{|}b}}``, an option holding a ``|`` as in ``{{A {|} B|C}}``. So any text is written
literally by doubling its braces and writing each ``|`` as ``{|}``. Templates saved before
spintax existed are upgraded by ``engine.template_upgrade``.

:func:`syntax_errors` names every problem with its position; :func:`render` never raises:
whatever is not valid syntax keeps its literal meaning (a bad placeholder is copied as is, an
unclosed ``{{a|b`` renders ``{a|b``, a nested spintax is copied as written), and an unknown
field renders as its fallback (or nothing). How each brace reads on its own (placeholders,
``{|}``, invalid braces) is ``engine.template_tokens``; here they are paired into spintax.
Pure; the named templates are ``engine.templates``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from engine.template_tokens import Field, Kind, Token, Where, read_tokens

__all__ = [
    "SPINTAX_MAX_OPTIONS",
    "SPINTAX_OPTION_MAX_CHARS",
    "fields_in_every_version",
    "has_spintax",
    "ordered_fields",
    "placeholders",
    "render",
    "spintax_combinations",
    "spintax_options",
    "syntax_errors",
]

SPINTAX_MAX_OPTIONS = 20
SPINTAX_OPTION_MAX_CHARS = 500


@dataclass(frozen=True)
class _Spin:
    """One spintax: its options, parsed, and as written."""

    options: tuple[tuple[str | Field, ...], ...]
    sources: tuple[str, ...]


_Part = str | Field | _Spin

_SPIN_EXAMPLE = "e.g. {{Hi|Hello|Hey}}"


# --------------------------------------------------------------------------- scanning


def _pair(tokens: list[Token]) -> tuple[dict[int, int], set[int], list[int]]:
    """Match each ``{{`` with the nearest free ``}}`` after it on its line, like parentheses.

    Returns each matched ``{{``'s ``}}`` (token indices), the ``{{`` that start spintax (matched,
    with a ``|`` at their level) and the ``{{`` with a ``|`` at their level that are never
    closed on their line. One pass: each token is pushed and popped at most once.
    """
    close_of: dict[int, int] = {}
    barred: set[int] = set()
    unclosed: list[int] = []
    stack: list[int] = []
    for i, token in enumerate(tokens):
        if token.kind is Kind.OPEN:
            stack.append(i)
        elif token.kind is Kind.CLOSE and stack:
            close_of[stack.pop()] = i
        elif token.kind is Kind.BAR and stack:
            barred.add(stack[-1])
        elif token.kind is Kind.BREAK:
            unclosed += [opener for opener in stack if opener in barred]
            stack.clear()
    unclosed += [opener for opener in stack if opener in barred]
    return close_of, {i for i in barred if i in close_of}, unclosed


class _SpinBeingRead:
    """The spintax the scan is inside: its options so far and where each starts and ends."""

    def __init__(self, start: int, end: int, close: int, first_option: int) -> None:
        self.start, self.end, self.close = start, end, close
        self.options: list[list[_Part]] = [[]]
        self.spans: list[tuple[int, int]] = []
        self.option_start = first_option

    def next_option(self, bar: Token) -> list[_Part]:
        self.spans.append((self.option_start, bar.start))
        self.option_start = bar.end
        self.options.append([])
        return self.options[-1]

    def finish(self, text: str, close: Token, errors: list[tuple[int, str]]) -> _Spin:
        self.spans.append((self.option_start, close.start))
        shown = _excerpt(text, self.start, self.end)
        if len(self.spans) > SPINTAX_MAX_OPTIONS:
            errors.append(
                (
                    self.start,
                    f"spintax {shown} has {len(self.spans)} options; the limit is "
                    f"{SPINTAX_MAX_OPTIONS}",
                )
            )
        for number, (start, end) in enumerate(self.spans, 1):
            if not text[start:end].strip():
                errors.append(
                    (
                        start,
                        f"option {number} of spintax {shown} is empty: write some text "
                        f"between every two |, {_SPIN_EXAMPLE}",
                    )
                )
            elif end - start > SPINTAX_OPTION_MAX_CHARS:
                errors.append(
                    (
                        start,
                        f"option {number} of spintax {shown} is {end - start} characters "
                        f"long; the limit is {SPINTAX_OPTION_MAX_CHARS}",
                    )
                )
        return _Spin(
            # (an option holds no _Spin: a nested one is kept as its text)
            options=tuple(
                tuple(p for p in _compact(option) if not isinstance(p, _Spin))
                for option in self.options
            ),
            sources=tuple(text[start:end] for start, end in self.spans),
        )


def _scan(text: str) -> tuple[list[_Part], list[str]]:
    """Split ``text`` into literal strings, fields and spintax; also every syntax problem, with
    its position. Linear in the text: tokens, pairing, then one walk over the tokens.

    Whatever is not valid syntax keeps its literal meaning, so rendering can go on regardless.
    """
    tokens = read_tokens(text)
    close_of, spins, unclosed = _pair(tokens)
    errors = [(tokens[i].start, _unclosed_spintax(text, tokens[i].start)) for i in unclosed]
    parts: list[_Part] = []
    out = parts  # where text goes: the top level, or the option being read
    spin: _SpinBeingRead | None = None
    pos = i = 0
    while i < len(tokens):
        token = tokens[i]
        out.append(text[pos : token.start])
        pos = token.end
        if i in spins and spin is None:
            spin = _SpinBeingRead(token.start, tokens[close_of[i]].end, close_of[i], token.end)
            out = spin.options[0]
        elif i in spins:  # spintax inside an option: copied as written
            end = tokens[close_of[i]].end
            errors.append((token.start, _nested_spintax(text, token.start, end)))
            out.append(text[token.start : end])
            pos, i = end, close_of[i]
        elif spin is not None and token.kind is Kind.BAR:
            # Every | left at this level is the spintax's: a {{ }} inside with a | would be
            # spintax (nested, skipped whole above), and one without has none.
            out = spin.next_option(token)
        elif spin is not None and i == spin.close:
            parts.append(spin.finish(text, token, errors))
            out, spin = parts, None
        else:
            if token.problem is not None:
                errors.append((token.start, token.problem))
            out.append(token.item)
        i += 1
    out.append(text[pos:])
    errors.sort(key=lambda error: error[0])
    where = Where(text)
    return list(_compact(parts)), [f"{where(offset)}: {problem}" for offset, problem in errors]


def _compact(parts: Iterable[_Part]) -> tuple[_Part, ...]:
    """``parts`` with neighbouring strings joined and empty ones dropped."""
    out: list[_Part] = []
    literal: list[str] = []
    for part in parts:
        if isinstance(part, str):
            literal.append(part)
            continue
        if literal:
            out.append("".join(literal))
            literal = []
        out.append(part)
    if literal:
        out.append("".join(literal))
    return tuple(p for p in out if p != "")


def _excerpt(text: str, start: int, end: int) -> str:
    """``text[start:end]`` for a message: up to the end of its line, at most 40 characters."""
    window = text[start : min(end, start + 41)]
    line = window.split("\n", 1)[0].split("\r", 1)[0]
    if len(line) < len(window) or (len(line) <= 40 and start + len(line) == end):
        return line
    return line[:39] + "…"


def _unclosed_spintax(text: str, start: int) -> str:
    shown = _excerpt(text, start, len(text))
    return (
        f"spintax {shown} is never closed on this line: end it with }}}}, {_SPIN_EXAMPLE} "
        "(or write {|} for a literal | between {{ and }})"
    )


def _nested_spintax(text: str, start: int, end: int) -> str:
    return (
        f"spintax {_excerpt(text, start, end)} inside an option of another spintax: nesting "
        "is not supported, write the combinations out as the options of one, e.g. "
        "{{Hi there|Hello there|Hi}}"
    )


# --------------------------------------------------------------------------- what a text uses


def _fields(parts: Iterable[_Part]) -> Iterator[Field]:
    for part in parts:
        if isinstance(part, Field):
            yield part
        elif isinstance(part, _Spin):
            for option in part.options:
                yield from (p for p in option if isinstance(p, Field))


def placeholders(text: str) -> set[str]:
    """The (lower-cased) field names used by the valid placeholders in ``text``, spintax
    options included."""
    return {field.name for field in _fields(_scan(text)[0])}


def syntax_errors(text: str) -> list[str]:
    """Every brace and spintax problem in ``text`` (empty when the syntax is fine), each naming
    its position."""
    return _scan(text)[1]


def ordered_fields(text: str) -> list[str]:
    """The field names of ``text``'s valid placeholders, each once, in order of first use."""
    return list(dict.fromkeys(field.name for field in _fields(_scan(text)[0])))


def fields_in_every_version(text: str) -> set[str]:
    """The fields every rendering of ``text`` contains: those outside spintax, and those in
    every option of a spintax."""
    fields: set[str] = set()
    for part in _scan(text)[0]:
        if isinstance(part, Field):
            fields.add(part.name)
        elif isinstance(part, _Spin):
            in_options = [
                {p.name for p in option if isinstance(p, Field)} for option in part.options
            ]
            fields |= set.intersection(*in_options)
    return fields


def _spins(text: str) -> list[_Spin]:
    return [part for part in _scan(text)[0] if isinstance(part, _Spin)]


def has_spintax(text: str) -> bool:
    """Whether ``text`` has at least one spintax (``{{a|b}}``)."""
    return bool(_spins(text))


def spintax_options(text: str) -> list[list[str]]:
    """The options of each spintax in ``text``, in order, each as written: ``"{{Hi|Hello}}
    {{there|{first_name}}}"`` gives ``[["Hi", "Hello"], ["there", "{first_name}"]]``. An option
    renders alone as it does in place (``render(option, values)``), for a preview."""
    return [list(spin.sources) for spin in _spins(text)]


def spintax_combinations(text: str) -> int:
    """How many different texts the spintax of ``text`` can make (1 without spintax)."""
    return math.prod(len(spin.options) for spin in _spins(text))


# --------------------------------------------------------------------------- rendering

# Spintax is not a secret, but a module-level random.Random() would be copied into every
# forked worker with the same state; SystemRandom draws from the OS and has no state to copy.
_RNG = random.SystemRandom()


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


def _fill(parts: Iterable[str | Field], table: dict[str, str], out: list[str]) -> None:
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = table.get(part.name, "").strip()
        out.append(value if value else (part.fallback or ""))


def _render_parts(parts: list[_Part], table: dict[str, str], rng: random.Random) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, _Spin):
            _fill(part.options[rng.randrange(len(part.options))], table, out)
        else:
            _fill((part,), table, out)
    return "".join(out)


def render(text: str, values: Mapping[str, str], rng: random.Random | None = None) -> str:
    """``text`` with every placeholder filled from ``values`` and one option of each spintax,
    drawn from ``rng`` (default: the OS's randomness), each option equally likely. Never raises.

    Keys are matched case-insensitively; a value that is missing or blank gives the fallback
    (or nothing); values are stripped and inserted verbatim (braces in values are not
    interpreted). Invalid syntax keeps its literal meaning.
    """
    try:
        parts = _scan(str(text))[0]
        return _render_parts(parts, _lookup_table(values), rng if rng is not None else _RNG)
    except Exception:  # pragma: no cover - belt and braces: a send must not crash on a template
        return str(text)
