"""Header spellings: which column names mean email, first name, last name, company, full name,
and the lead's timezone and country (read for its zone, and kept as custom fields too).

A header is compared by :func:`alias_key` of :func:`normalise_header`: lowercase, accents
dropped, spaces / underscores / dashes removed (``"E-Mail Address"`` -> ``"emailaddress"``).
Spellings in further languages are added to the sets here.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "COMPANY_ALIASES",
    "EMAIL_ALIASES",
    "EMAIL_HEADER_NAMES",
    "FIRST_ALIASES",
    "FULL_NAME_ALIASES",
    "LAST_ALIASES",
    "COUNTRY_ALIASES",
    "TIMEZONE_ALIASES",
    "alias_key",
    "clean_header",
    "normalise_header",
]

EMAIL_ALIASES = frozenset(
    {"email", "emailaddress", "mail", "workemail", "businessemail", "emails", "emailid"}
)

FIRST_ALIASES = frozenset(
    {"firstname", "first", "givenname", "vorname", "prenom", "nombre", "forename"}
)

LAST_ALIASES = frozenset({"lastname", "surname", "familyname", "nachname", "nom", "apellido"})

COMPANY_ALIASES = frozenset(
    {
        "company",
        "companyname",
        "organization",
        "organisation",
        "account",
        "accountname",
        "firma",
        "empresa",
        "societe",
    }
)

FULL_NAME_ALIASES = frozenset({"name", "fullname"})

TIMEZONE_ALIASES = frozenset({"timezone", "tz", "timezonename", "ianatimezone"})

COUNTRY_ALIASES = frozenset({"country", "countrycode", "countryname", "countryiso"})

#: What the "no email column" message tells the operator to use.
EMAIL_HEADER_NAMES = (
    "email",
    "e-mail",
    "email address",
    "e-mail address",
    "mail",
    "work email",
    "business email",
)

_HEADER_SEPARATORS = re.compile(r"[\s\-]+")

_HEADER_DROP = re.compile(r"[^a-z0-9_]")


def clean_header(raw: str) -> str:
    return raw.strip().strip("\ufeff").strip().strip("\"'`").strip()


def normalise_header(raw: str) -> str:
    """Lowercase, accents dropped, spaces/dashes to underscores, anything not [a-z0-9_] removed."""
    text = unicodedata.normalize("NFKD", clean_header(raw))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _HEADER_SEPARATORS.sub("_", text)
    return _HEADER_DROP.sub("", text).strip("_")


def alias_key(normalised: str) -> str:
    return normalised.replace("_", "")
