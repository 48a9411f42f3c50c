"""Email templates: names, shipped defaults, placeholder syntax, validation and rendering. Pure.

Placeholder syntax
------------------
``{field}`` is replaced by the lead's value for ``field``; ``{field|fallback}`` uses
``fallback`` when the value is missing or blank. ``{{`` and ``}}`` are literal braces.
Field names are ``[A-Za-z_][A-Za-z0-9_]*``, case-insensitive (``{First_Name}`` is
``{first_name}``); spaces/tabs around the name and around the fallback are ignored.
A fallback is any text on one line without ``{`` or ``}``.

Validation (:func:`validate_template`) is strict and explains every problem; rendering
(:func:`render`) never raises: whatever is not a valid placeholder is copied as is, and an
unknown field renders as its fallback (or nothing).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.errors import UserInputError
from engine.sending.messages import header_safe

__all__ = [
    "BASE_FIELDS",
    "BODY_MAX_CHARS",
    "DEFAULT_TEMPLATES",
    "SUBJECT_MAX_CHARS",
    "Template",
    "default_template",
    "is_template_name",
    "normalise_template_name",
    "parse_template_message",
    "placeholders",
    "render",
    "render_template",
    "sample_values",
    "syntax_errors",
    "template_names",
    "validate_template",
]

BASE_FIELDS: frozenset[str] = frozenset(
    {"email", "first_name", "last_name", "company", "sender_name", "sender_email", "calendar_link"}
)
SUBJECT_MAX_CHARS = 200
BODY_MAX_CHARS = 20_000

_FOLLOWUP_RE = re.compile(r"followup_([1-9][0-9]*)")
_BRACE_RE = re.compile(r"\{\{|\}\}|[{}]")
# What may follow a "{" to make a placeholder: name, optional |fallback, "}".
_FIELD_RE = re.compile(r"[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?:\|([^{}\r\n]*))?\}")
_CLOSE_ON_LINE_RE = re.compile(r"[^{}\r\n]*\}")


# --------------------------------------------------------------------------- names


def template_names(followups: int) -> list[str]:
    """``initial``, ``followup_1`` … ``followup_<followups>``, ``calendar``, in sending order."""
    if followups < 0:
        raise ValueError("followups must be >= 0")
    return ["initial", *(f"followup_{n}" for n in range(1, followups + 1)), "calendar"]


def normalise_template_name(name: str) -> str:
    """``name`` lower-cased and stripped (``" Followup_1 "`` → ``"followup_1"``)."""
    return name.strip().lower()


def is_template_name(name: str) -> bool:
    """Whether ``name`` (after normalising) is ``initial``, ``calendar`` or ``followup_N`` (N ≥ 1)."""
    name = normalise_template_name(name)
    return name in ("initial", "calendar") or _FOLLOWUP_RE.fullmatch(name) is not None


def _unknown_name_error(name: str) -> UserInputError:
    return UserInputError(
        f"There is no template called {name!r}. Templates are: initial, followup_1, "
        "followup_2, … (one per follow-up) and calendar."
    )


# --------------------------------------------------------------------------- defaults


@dataclass(frozen=True)
class Template:
    """A named template. Follow-ups and ``calendar`` go out as replies in the thread, so their
    subject is normally unused (the sender uses ``Re: `` + the first subject) and may be empty."""

    name: str
    subject: str
    body: str


_SIGN_OFF = "Best,\n{sender_name}"

DEFAULT_TEMPLATES: dict[str, Template] = {
    "initial": Template(
        name="initial",
        subject="Quick question for {company|your team}",
        body=(
            "Hi {first_name|there},\n"
            "\n"
            "I'll keep this short. I'm working on something I think could be useful for "
            "{company|your team}, and I'd really value your take on it.\n"
            "\n"
            "Would you be open to a 15-minute call in the next couple of weeks? If you're not "
            "the right person, a pointer to whoever is would be much appreciated.\n"
            "\n" + _SIGN_OFF
        ),
    ),
    "followup_1": Template(
        name="followup_1",
        subject="",
        body=(
            "Hi {first_name|there},\n"
            "\n"
            "Just bringing this back to the top of your inbox in case it got buried. "
            "Would a short call make sense for {company|your team}?\n"
            "\n" + _SIGN_OFF
        ),
    ),
    "followup_2": Template(
        name="followup_2",
        subject="",
        body=(
            "Hi {first_name|there},\n"
            "\n"
            "I know your inbox is busy, so one last nudge from me. If the timing isn't right "
            'for {company|your team}, a quick "not now" is completely fine and I\'ll leave '
            "it there.\n"
            "\n" + _SIGN_OFF
        ),
    ),
    "calendar": Template(
        name="calendar",
        subject="",
        body=(
            "Hi {first_name|there},\n"
            "\n"
            "Thanks for getting back to me! Here's my calendar, so you can pick whatever time "
            "suits you best:\n"
            "\n"
            "{calendar_link}\n"
            "\n"
            "If none of the slots work, just reply with a couple of times and I'll make it "
            "work.\n"
            "\n" + _SIGN_OFF
        ),
    ),
}

_LATER_FOLLOWUP_BODY = (
    "Hi {first_name|there},\n"
    "\n"
    "Following up once more in case the timing is better now. Is this worth a short "
    "conversation for {company|your team}? Either way, a one-line reply helps me a lot.\n"
    "\n" + _SIGN_OFF
)


def default_template(name: str) -> Template:
    """The shipped default for ``name``; ``followup_N`` with N > 2 gets a generic polite nudge.

    Raises ``UserInputError`` for a name that is not a template name.
    """
    key = normalise_template_name(name)
    if key in DEFAULT_TEMPLATES:
        return DEFAULT_TEMPLATES[key]
    if _FOLLOWUP_RE.fullmatch(key):
        return Template(name=key, subject="", body=_LATER_FOLLOWUP_BODY)
    raise _unknown_name_error(name)


# --------------------------------------------------------------------------- parsing


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


def _scan(text: str) -> tuple[list[str | _Field], list[str]]:
    """Split ``text`` into literal strings and fields; also every syntax problem, with position.

    Whatever is not valid syntax is kept as literal text, so rendering can go on regardless.
    """
    parts: list[str | _Field] = []
    errors: list[str] = []
    literal: list[str] = []
    pos = 0
    _where = _Where(text)
    while True:
        match = _BRACE_RE.search(text, pos)
        if match is None:
            literal.append(text[pos:])
            break
        start = match.start()
        literal.append(text[pos:start])
        token = match.group()
        pos = match.end()
        if token == "{{":
            literal.append("{")
        elif token == "}}":
            literal.append("}")
        elif token == "}":
            errors.append(
                f"{_where(start)}: '}}' without a matching '{{' (write }}}} for a literal brace)"
            )
            literal.append("}")
        else:  # a single "{"
            field = _FIELD_RE.match(text, pos)
            if field is not None:
                parts.append("".join(literal))
                literal = []
                fallback = field.group(2)
                parts.append(
                    _Field(
                        name=field.group(1).lower(),
                        fallback=fallback.strip() if fallback is not None else None,
                    )
                )
                pos = field.end()
                continue
            closing = _CLOSE_ON_LINE_RE.match(text, pos)
            if closing is None:
                errors.append(
                    f"{_where(start)}: '{{' is never closed on this line "
                    "(write {{ for a literal brace, or close the placeholder like {first_name})"
                )
                literal.append("{")
                continue
            inner = text[pos : closing.end() - 1]
            name = inner.split("|", 1)[0].strip()
            raw = "{" + inner + "}"
            if not name:
                problem = f"placeholder {raw} has no field name"
            else:
                problem = (
                    f"{raw} is not a valid placeholder: field names use only letters, digits "
                    "and _ and don't start with a digit"
                )
            errors.append(
                f"{_where(start)}: {problem} (e.g. {{first_name}} or {{first_name|there}}; "
                "write {{ and }} for literal braces)"
            )
            literal.append(raw)
            pos = closing.end()
    parts.append("".join(literal))
    return [p for p in parts if p != ""], errors


def placeholders(text: str) -> set[str]:
    """The (lower-cased) field names used by the valid placeholders in ``text``."""
    return {p.name for p in _scan(text)[0] if isinstance(p, _Field)}


def syntax_errors(text: str) -> list[str]:
    """Every brace problem in ``text`` (empty when the syntax is fine), each naming its position."""
    return _scan(text)[1]


def _ordered_fields(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for part in _scan(text)[0]:
        if isinstance(part, _Field):
            seen.setdefault(part.name, None)
    return list(seen)


def validate_template(t: Template, known_fields: Iterable[str]) -> None:
    """Raise ``UserInputError`` listing every problem in ``t``, or return ``None`` if it's fine.

    ``known_fields`` are the fields available on top of :data:`BASE_FIELDS` (e.g. the CSV's
    extra columns); they are matched case-insensitively.
    """
    problems: list[str] = []
    name = normalise_template_name(t.name)
    if not is_template_name(name):
        problems.append(str(_unknown_name_error(t.name)))

    subject = t.subject
    if name == "initial" and not subject.strip():
        problems.append(
            "The initial email needs a subject: start the template with a line like "
            "'Subject: Quick question for {company|your team}'."
        )
    if "\n" in subject or "\r" in subject:
        problems.append("The subject must be a single line.")
    if len(subject) > SUBJECT_MAX_CHARS:
        problems.append(
            f"The subject is {len(subject)} characters long; keep it under "
            f"{SUBJECT_MAX_CHARS} (short subjects get opened)."
        )
    if not t.body.strip():
        problems.append("The body is empty: write the email text after the subject line.")
    if len(t.body) > BODY_MAX_CHARS:
        problems.append(
            f"The body is {len(t.body)} characters long; the limit is {BODY_MAX_CHARS}."
        )

    problems += [f"Subject, {e}" for e in syntax_errors(subject)]
    problems += [f"Body, {e}" for e in syntax_errors(t.body)]

    available = set(BASE_FIELDS) | {f.strip().lower() for f in known_fields if f.strip()}
    used = _ordered_fields(subject) + _ordered_fields(t.body)
    unknown = [f for f in dict.fromkeys(used) if f not in available]
    for field in unknown:
        close = difflib.get_close_matches(field, sorted(available), n=1, cutoff=0.6)
        hint = f" Did you mean {{{close[0]}}}?" if close else ""
        problems.append(
            f"Unknown placeholder {{{field}}}.{hint} A fallback like {{{field}|...}} won't "
            f"help: fix the name or add a '{field}' column to your CSV."
        )
    if name == "calendar" and "calendar_link" not in placeholders(t.body):
        problems.append(
            "The calendar template must contain {calendar_link}: it is the answer that "
            "gives people who replied your booking link."
        )

    if problems:
        count = f"{len(problems)} problem" + ("s" if len(problems) > 1 else "")
        footer = ("\nAvailable fields: " + ", ".join(sorted(available)) + ".") if unknown else ""
        raise UserInputError(
            f"Template '{t.name}' has {count}:\n" + "\n".join(f"- {p}" for p in problems) + footer
        )


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


def render_template(t: Template, values: Mapping[str, str]) -> tuple[str, str]:
    """(subject, body) for ``t``. The subject is one line (control characters and line breaks
    collapse to single spaces); the body uses ``\\n`` line endings. Never raises."""
    subject = header_safe(render(t.subject, values))
    body = render(t.body, values).replace("\r\n", "\n").replace("\r", "\n")
    return subject, body


# --------------------------------------------------------------------------- chat input

_COMMAND_RE = re.compile(r"\A\s*/template(?:@\w+)?(?:[ \t]+\S+)?[ \t]*(?:\r?\n|\Z)", re.IGNORECASE)
_SUBJECT_LINE_RE = re.compile(r"[ \t]*subject[ \t]*:[ \t]?(.*)", re.IGNORECASE)

_TEMPLATE_EXAMPLE = (
    "/template initial\n"
    "Subject: Quick question for {company|your team}\n"
    "\n"
    "Hi {first_name|there},\n"
    "...\n"
    "Best,\n"
    "{sender_name}"
)


def parse_template_message(text: str) -> tuple[str, str]:
    """Split the text of a ``/template <name>`` chat message into (subject, body).

    ``text`` is what follows ``/template <name>`` (a leading ``/template <name>`` line is
    skipped if present). If the first non-blank line is ``Subject: ...`` it is the subject,
    otherwise the subject is ``""`` (not given: keep the current one). The rest, without
    leading blank lines and trailing whitespace, is the body. Raises ``UserInputError`` with an
    example when there is no body.
    """
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = _COMMAND_RE.sub("", text, count=1)
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    subject = ""
    if lines:
        match = _SUBJECT_LINE_RE.fullmatch(lines[0])
        if match is not None:
            subject = match.group(1).strip()
            lines.pop(0)
    while lines and not lines[0].strip():
        lines.pop(0)
    body = "\n".join(line.rstrip() for line in lines).rstrip()
    if not body:
        raise UserInputError(
            "The template is empty. Send the command followed by the subject line and the "
            "email text, for example:\n\n" + _TEMPLATE_EXAMPLE
        )
    return subject, body


def sample_values(sender_name: str, sender_email: str, calendar_link: str) -> dict[str, str]:
    """Made-up lead data for ``/test`` emails, plus the real sender fields."""
    return {
        "email": "alex.morgan@example.com",
        "first_name": "Alex",
        "last_name": "Morgan",
        "company": "Northwind Labs",
        "sender_name": sender_name,
        "sender_email": sender_email,
        "calendar_link": calendar_link,
    }
