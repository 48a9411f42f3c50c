"""Reading the ``/template`` chat message: which step, which variant, replace or delete. Pure.

The first line is ``/template STEP [VARIANT] [delete]`` (``/template@botname`` too):

- ``/template initial`` then the text: replaces variant A, the step's main template (as before
  variants);
- ``/template initial B`` then the text: adds or replaces variant B;
- ``/template followup_1 B delete``: removes variant B (nothing may follow; A cannot be
  removed, and ``calendar`` has no variants).

The text is what :func:`engine.templates.parse_template_message` reads: an optional
``Subject:`` line, then the body. As before variants, text may start on the first line after
the step (``/template followup_1 Just checking in.``); so the variant must stand alone after
the step: ``/template followup_1 I wanted to follow up`` is variant A with that text. A short
word alone after the step that is not a letter (``/template initial B2``) is refused rather
than saved as the email.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import UserInputError
from engine.templates import (
    DEFAULT_VARIANT,
    is_template_name,
    normalise_template_name,
    normalise_variant,
    parse_template_message,
)

__all__ = ["TemplateCommand", "parse_template_command"]

_COMMAND_WORD_RE = re.compile(r"/template(?:@\w+)?", re.IGNORECASE)
_DELETE = "delete"

_USAGE = (
    "/template initial (variant A), /template initial B (variant B) or "
    "/template initial B delete on the first line; then, to save, an optional "
    "'Subject: …' line and the email text. Steps are initial, followup_1, followup_2, … "
    "and calendar."
)


@dataclass(frozen=True)
class TemplateCommand:
    """What a ``/template`` message asks for. ``subject`` is ``""`` when not given (keep the
    current one); ``subject`` and ``body`` are ``""`` when deleting."""

    name: str  # initial, followup_N or calendar
    variant: str  # "A" to "Z"
    delete: bool
    subject: str
    body: str


def parse_template_command(text: str) -> TemplateCommand:
    """Read a whole ``/template`` chat message (see the module docstring).

    Raises ``UserInputError`` saying what is allowed for a missing or unknown step, a bad
    variant, a variant of ``calendar``, deleting variant A, text after ``delete``, or no text.
    """
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").lstrip()
    first, _, rest = text.partition("\n")
    words = first.split(None, 2)  # command, step, the rest of the line as written
    if not words or _COMMAND_WORD_RE.fullmatch(words[0]) is None:
        raise UserInputError("Start the message with /template: " + _USAGE)
    if len(words) < 2:
        raise UserInputError("Which template? Send " + _USAGE)
    name = normalise_template_name(words[1])
    if not is_template_name(name):
        raise UserInputError(f"There is no template called {words[1]!r}. Send " + _USAGE)
    variant_word, delete, inline = _after_step(words[2] if len(words) > 2 else "")
    variant = normalise_variant(variant_word) if variant_word else DEFAULT_VARIANT
    if name == "calendar" and (variant != DEFAULT_VARIANT or delete):
        raise UserInputError(
            "The calendar answer has no variants and cannot be deleted: it is the one reply "
            "people who answered get. Change it with /template calendar, then the text."
        )
    if delete:
        return _deletion(name, variant, rest)
    subject, body = parse_template_message(inline + "\n" + rest if inline else rest)
    return TemplateCommand(name, variant, False, subject, body)


def _after_step(tail: str) -> tuple[str, bool, str]:
    """(variant word or "", delete?, text of the email on the first line) from what follows
    the step on the first line."""
    words = tail.split(None, 2)
    if len(words) >= 2 and words[1].lower() == _DELETE:
        if len(words) > 2:
            raise UserInputError(
                f"Nothing may follow 'delete' (it got {words[2]!r}); nothing was deleted. "
                f"Send /template STEP {words[0]} delete alone."
            )
        return words[0], True, ""
    if len(words) == 1 and words[0].lower() == _DELETE:
        return "", True, ""
    if len(words) == 1 and len(words[0]) <= 3 and words[0].isalnum():
        return words[0], False, ""
    return "", False, tail.strip()


def _deletion(name: str, variant: str, rest: str) -> TemplateCommand:
    if variant == DEFAULT_VARIANT:
        raise UserInputError(
            f"Variant A is {name}'s main template and cannot be deleted. Delete another "
            f"variant (e.g. /template {name} B delete) or change A with /template {name}."
        )
    if rest.strip():
        raise UserInputError(
            f"/template {name} {variant} delete takes no text after it; nothing was deleted. "
            f"To replace variant {variant}, send /template {name} {variant} and the text "
            "on the next lines."
        )
    return TemplateCommand(name, variant, True, "", "")
