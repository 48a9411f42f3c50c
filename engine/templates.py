"""Email templates: names, variants, shipped defaults, validation, rendering, chat input. Pure.

The syntax (placeholders ``{field}``, ``{field|fallback}``; spintax ``{{Hi|Hello}}``; literal
``{{``/``}}`` and ``{|}``), how text is scanned and how it is filled are in
``engine.template_syntax``.

Each step (``initial``, ``followup_N``) may have variants, named by one letter ``A``–``Z``;
``A`` is the step's main template, the one ``/template initial`` changes. ``calendar`` has no
variants. ``engine.template_command`` reads the ``/template STEP VARIANT`` chat message.

Validation (:func:`validate_template`) is strict and explains every problem; rendering
(:func:`render_template`) never raises.
"""

from __future__ import annotations

import difflib
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.errors import UserInputError
from engine.sending.messages import header_safe
from engine.template_syntax import (
    fields_in_every_version,
    ordered_fields,
    placeholders,
    render,
    syntax_errors,
)

__all__ = [
    "BASE_FIELDS",
    "BODY_MAX_CHARS",
    "SAMPLE_EMAIL",
    "DEFAULT_TEMPLATES",
    "DEFAULT_VARIANT",
    "SUBJECT_MAX_CHARS",
    "UNSUBSCRIBE_FIELD",
    "VARIANTS",
    "Template",
    "default_template",
    "is_template_name",
    "normalise_template_name",
    "normalise_variant",
    "parse_template_message",
    "render_template",
    "sample_values",
    "template_names",
    "validate_template",
]

BASE_FIELDS: frozenset[str] = frozenset(
    {
        "email",
        "first_name",
        "last_name",
        "company",
        "sender_name",
        "sender_email",
        "calendar_link",
        "unsubscribe_link",  # only with PUBLIC_URL set: see validate_template
    }
)
UNSUBSCRIBE_FIELD = "unsubscribe_link"
SUBJECT_MAX_CHARS = 200
BODY_MAX_CHARS = 20_000

_FOLLOWUP_RE = re.compile(r"followup_([1-9][0-9]*)")


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


# --------------------------------------------------------------------------- variants

VARIANTS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DEFAULT_VARIANT = "A"


def normalise_variant(variant: str) -> str:
    """``variant`` as stored: one letter A–Z, upper-cased (``" b "`` → ``"B"``).

    Raises ``UserInputError`` saying what is allowed for anything else.
    """
    letter = variant.strip()
    if len(letter) == 1 and letter.isascii() and letter.upper() in VARIANTS:
        return letter.upper()
    raise UserInputError(
        f"{letter!r} is not a variant. Variants are single letters, A to Z: /template initial "
        "changes variant A (the step's main template), /template initial B adds or replaces "
        "variant B, /template initial B delete removes it."
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


# --------------------------------------------------------------------------- validation


def validate_template(
    t: Template, known_fields: Iterable[str], *, unsubscribe_links: bool = True
) -> None:
    """Raise ``UserInputError`` listing every problem in ``t``, or return ``None`` if it's fine.

    ``known_fields`` are the fields available on top of :data:`BASE_FIELDS` (e.g. the CSV's
    extra columns); they are matched case-insensitively. ``unsubscribe_links`` says whether
    PUBLIC_URL is set: without it ``{unsubscribe_link}`` is refused (there is no link to put
    in), unless the CSV has a column of that name.
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

    known = {f.strip().lower() for f in known_fields if f.strip()}
    available = set(BASE_FIELDS) | known
    if not unsubscribe_links and UNSUBSCRIBE_FIELD not in known:
        available.discard(UNSUBSCRIBE_FIELD)
    used = ordered_fields(subject) + ordered_fields(t.body)
    unknown = [f for f in dict.fromkeys(used) if f not in available]
    if UNSUBSCRIBE_FIELD in unknown:
        unknown.remove(UNSUBSCRIBE_FIELD)
        problems.append(
            "{unsubscribe_link} needs PUBLIC_URL, this service's public https address (with "
            "SECRET_KEY, which signs the links). Set both and restart, then save the template "
            "again; until then there is no link to put in the email."
        )
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
    elif name == "calendar" and "calendar_link" not in fields_in_every_version(t.body):
        problems.append(
            "The calendar template must contain {calendar_link} in every version: put it "
            "outside the spintax, or in every option of it."
        )

    if problems:
        count = f"{len(problems)} problem" + ("s" if len(problems) > 1 else "")
        footer = ("\nAvailable fields: " + ", ".join(sorted(available)) + ".") if unknown else ""
        raise UserInputError(
            f"Template '{t.name}' has {count}:\n" + "\n".join(f"- {p}" for p in problems) + footer
        )


# --------------------------------------------------------------------------- rendering


def render_template(
    t: Template, values: Mapping[str, str], rng: random.Random | None = None
) -> tuple[str, str]:
    """(subject, body) for ``t``, with one option of each spintax drawn from ``rng`` (default:
    the OS's randomness; pass e.g. ``random.Random(f"{lead_id}:{step}")`` to draw the same
    email again). The subject is one line (control characters and line breaks collapse to
    single spaces); the body uses ``\\n`` line endings. Never raises."""
    subject = header_safe(render(t.subject, values, rng))
    body = render(t.body, values, rng).replace("\r\n", "\n").replace("\r", "\n")
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


SAMPLE_EMAIL = "alex.morgan@example.com"


def sample_values(
    sender_name: str, sender_email: str, calendar_link: str, unsubscribe_link: str = ""
) -> dict[str, str]:
    """Made-up lead data for ``/test`` emails, plus the real sender fields (and a sample
    unsubscribe link when links are on; empty renders the placeholder's fallback)."""
    return {
        "email": SAMPLE_EMAIL,
        "first_name": "Alex",
        "last_name": "Morgan",
        "company": "Northwind Labs",
        "sender_name": sender_name,
        "sender_email": sender_email,
        "calendar_link": calendar_link,
        UNSUBSCRIBE_FIELD: unsubscribe_link,
    }
