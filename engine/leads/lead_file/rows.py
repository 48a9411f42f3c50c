"""One data row's values: the email address checked and normalised, the other cells cleaned.

:func:`validate` takes a fast path for plain ASCII addresses and caches IDN domains for one
parse; everything else goes to ``email_validator``. The address a spreadsheet export protected
against formulas (``'=...``), wrapped in ``<>`` or prefixed ``mailto:`` is unwrapped first.
"""

from __future__ import annotations

import re

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from engine.leads.lead_file.cells import clean_value, one_line

__all__ = ["FORMULA_START", "cell", "quick_valid", "split_name", "strip_email", "validate"]

_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"

#: Characters a spreadsheet may read as the start of a formula. The export prefixes a cell that
#: starts with one of them with ``'``; the import removes exactly that prefix from the email.
FORMULA_START = "=+-@\t\r"

# A plain ASCII address that validate_email() is certain to accept unchanged except for the
# domain being lowercased. Anything else (IDN, quoted, odd characters) goes to validate_email.
_FAST_EMAIL = re.compile(
    r"([A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*)"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})\Z"
)

_ASCII_LOCAL = re.compile(r"[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*\Z")

_SPECIAL_TLDS = frozenset(SPECIAL_USE_DOMAIN_NAMES)

_LOWERCASED_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


def cell(cells: list[str], index: int | None) -> str:
    """The cleaned value of column ``index`` (None: no such column), "" past the row's end."""
    if index is None or index >= len(cells):
        return ""
    return clean_value(cells[index])


def strip_email(raw: str) -> str:
    value = raw.strip().strip(_INVISIBLE).strip()
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_START:
        value = value[1:]  # our export's formula protection ('-f3@… is -f3@…)
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    if value[:7].lower() == "mailto:":
        value = value[7:].strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return value


def validate(
    value: str, check_deliverability: bool, domains: dict[str, tuple[str, str] | None] | None = None
) -> tuple[str | None, str]:
    """Return ``(normalised address, "")`` or ``(None, one-line reason)``.

    ``domains`` caches validated non-ASCII (IDN) domains for the duration of one parse: their
    IDNA check is ~10x slower than everything else, and lists repeat domains a lot.
    """
    if not check_deliverability:
        fast = _fast_normalised(value)
        if fast is not None:
            return fast, ""
        if domains is not None:
            cached = _cached_domain_normalised(value, domains)
            if cached is not None:
                return cached, ""
    if len(value) > 320:
        return None, "it is far too long to be an email address."
    try:
        info = validate_email(value, check_deliverability=check_deliverability)
    except EmailNotValidError as exc:
        return None, one_line(str(exc), 200)
    return info.normalized, ""


def _cached_domain_normalised(value: str, domains: dict[str, tuple[str, str] | None]) -> str | None:
    local, at, domain = value.rpartition("@")
    if not at or _ASCII_LOCAL.match(local) is None or len(domain) > 255:
        return None
    if domain in domains:
        known = domains[domain]
    else:
        try:
            info = validate_email("a@" + domain, check_deliverability=False)
            known = (info.domain, info.ascii_domain)
        except EmailNotValidError:
            known = None  # let the full validation produce the precise reason
        domains[domain] = known
    if known is None:
        return None
    if local.lower() in _LOWERCASED_MAILBOXES:
        local = local.lower()
    normalised = f"{local}@{known[0]}"
    for form in (value, normalised, f"{local}@{known[1]}"):
        if len(form.encode("utf-8")) > 254:
            return None  # the full validation words the length error
    return normalised


def _fast_normalised(value: str) -> str | None:
    """The normalised form for plain ASCII addresses, without calling validate_email."""
    if len(value) > 254:
        return None
    match = _FAST_EMAIL.match(value)
    if match is None:
        return None
    local, domain = match.group(1), match.group(2).lower()
    if "--" in domain or domain.rsplit(".", 1)[-1] in _SPECIAL_TLDS:
        return None
    if local.lower() in _LOWERCASED_MAILBOXES:
        local = local.lower()
    return f"{local}@{domain}"


def quick_valid(value: str) -> bool:
    candidate = strip_email(value)
    if not candidate or "@" not in candidate:
        return False
    return validate(candidate, False)[0] is not None


def split_name(full: str) -> tuple[str, str]:
    """ "Ada Lovelace" -> ("Ada", "Lovelace"); "Lovelace, Ada" -> ("Ada", "Lovelace")."""
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    parts = full.split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""
