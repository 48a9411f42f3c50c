"""A lead's own timezone: from its ``timezone`` cell, else its ``country`` cell, else none (the
campaign's zone applies). Pure functions of their input and the pinned ``tzdata`` package.

A zone is stored as text in a canonical form, ``Europe/Berlin`` or ``UTC+02:00``
(:func:`zone_name`), and read back with :func:`zone_from_stored`. What an operator may write:

* an IANA name in any case, with spaces for underscores: ``europe/berlin``, ``America/New York``;
* ``UTC``, ``GMT`` or ``Z``;
* an offset from UTC within ±14:00: ``UTC+02:00``, ``UTC+2``, ``GMT-5``, ``+05:30``, ``UTC−03:00``
  (with a Unicode minus). ``GMT-5`` means five hours *behind* UTC, as people write it; only the
  IANA names ``Etc/GMT±N`` keep POSIX's inverted sign.

A country (ISO 3166 alpha-2 or alpha-3 code, or an English name, in any case and with or without
accents) gives its most populous zone: single-zone countries from tzdata's ``zone.tab``, the
others from :data:`MOST_POPULOUS_ZONE`. Country names come from ``pycountry`` (the ISO 3166 names,
official and common forms), tzdata's ``iso3166.tab`` and :data:`COUNTRY_ALIASES`; ``pycountry`` is
imported only when the first country is looked up.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta, timezone, tzinfo
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from typing import NamedTuple
from zoneinfo import ZoneInfo, available_timezones

from engine.errors import UserInputError

__all__ = [
    "COUNTRY_ALIASES",
    "MAX_OFFSET",
    "MOST_POPULOUS_ZONE",
    "LeadZone",
    "UnknownTimezone",
    "ZoneSource",
    "canonical_zone",
    "lead_tz",
    "parse_zone",
    "resolve_lead_zone",
    "zone_for_country",
    "zone_from_stored",
    "zone_name",
]

MAX_OFFSET = timedelta(hours=14)

#: Names in ``available_timezones()`` that are not a place's zone.
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})

# An offset once the whitespace is gone: "utc+02:00", "gmt-5", "+0530", "+5:30" (not "+530").
# Bounded, so finditer over any text stays linear.
_OFFSET = re.compile(r"(?:utc|gmt)?([+-])(?:(\d{2}):?(\d{2})|(\d{1,2})(?::(\d{2}))?)", re.ASCII)

_SPACES = re.compile(r"\s+")

_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2012": "-", "\ufe63": "-"})

_UTC_NAMES = frozenset({"utc", "gmt", "z", "etc/utc", "utc0", "utc+0", "utc-0"})

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

ACCEPTED_FORMS = (
    "an IANA name such as Europe/Berlin or America/New_York, UTC, "
    "or an offset from UTC such as UTC+02:00, UTC-5 or +05:30 (at most ±14:00)"
)


class UnknownTimezone(UserInputError):
    """A timezone value is neither an IANA name nor an offset from UTC we accept."""

    def __init__(self, value: str, suggestion: str | None = None) -> None:
        self.value = value
        self.suggestion = suggestion
        shown = value if len(value) <= 60 else value[:59] + "…"
        hint = f" (did you mean {suggestion}?)" if suggestion else ""
        super().__init__(f"'{shown}' is not a timezone{hint}: use {ACCEPTED_FORMS}.")


class ZoneSource(StrEnum):
    """Where a lead's zone came from, as the import report counts it."""

    COLUMN = "column"
    COUNTRY = "country"
    CAMPAIGN = "campaign"


class LeadZone(NamedTuple):
    """A lead's zone (canonical text; None: the campaign's), its source, and the message for a
    timezone cell that could not be read (the lead then falls back to the campaign's zone)."""

    zone: str | None
    source: ZoneSource
    error: str | None = None


# --------------------------------------------------------------------------- zones


@cache
def _iana_index() -> dict[str, str]:
    """Lower-cased IANA name -> its proper spelling, built on first use."""
    return {name.lower(): name for name in available_timezones() if name not in _NOT_ZONES}


@cache
def _by_city() -> dict[str, str]:
    """Lower-cased last part of an IANA name -> the name, for the places only one name ends
    with ("berlin" -> "Europe/Berlin"): what the error suggests for a bare city."""
    found: dict[str, list[str]] = {}
    for key, name in _iana_index().items():
        if "/" in key:
            found.setdefault(key.rsplit("/", 1)[1], []).append(name)
    return {city: names[0] for city, names in found.items() if len(names) == 1}


def parse_zone(value: str) -> tzinfo:
    """The zone ``value`` names: a :class:`ZoneInfo` for an IANA name, ``UTC`` for UTC/GMT/Z,
    a fixed :class:`datetime.timezone` for an offset. Raises :class:`UnknownTimezone`."""
    text = value.strip().translate(_MINUS_SIGNS)
    key = _SPACES.sub("_", text).lower()
    if key in _UTC_NAMES:
        return ZoneInfo("UTC")
    name = _iana_index().get(key)
    if name is not None:
        return ZoneInfo(name)
    offset = _offset(_SPACES.sub("", text).lower())
    if offset is None:
        raise UnknownTimezone(value.strip(), _by_city().get(key))
    return ZoneInfo("UTC") if not offset else timezone(offset)


def _offset(text: str) -> timedelta | None:
    match = _OFFSET.fullmatch(text)
    if match is None:
        return None
    sign, hh, mm, h, m = match.groups()
    hours, minutes = int(hh or h), int(mm or m or 0)
    if minutes >= 60:
        return None
    offset = timedelta(hours=hours, minutes=minutes)
    if offset > MAX_OFFSET:
        return None
    return -offset if sign == "-" else offset


def zone_name(tz: tzinfo) -> str:
    """The canonical text of a zone: its IANA key, ``UTC``, or ``UTC±HH:MM`` for an offset."""
    if isinstance(tz, ZoneInfo):
        return tz.key
    offset = tz.utcoffset(None)
    if offset is None:
        raise ValueError(f"{tz!r} has no fixed offset and no IANA key")
    if not offset:
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def canonical_zone(value: str) -> str:
    """``value`` parsed and written back canonically (``europe/berlin`` -> ``Europe/Berlin``,
    ``GMT-5`` -> ``UTC-05:00``). Raises :class:`UnknownTimezone`."""
    return zone_name(parse_zone(value))


@lru_cache(maxsize=1024)
def zone_from_stored(stored: str) -> tzinfo:
    """The zone a stored canonical text names (cached: the queue reads it for every lead)."""
    return parse_zone(stored)


def lead_tz(stored: str | None, campaign: tzinfo) -> tzinfo:
    """The zone a lead's emails are timed in: its own stored one, else the campaign's."""
    return zone_from_stored(stored) if stored else campaign


# --------------------------------------------------------------------------- countries

#: The most populous zone of every country that has more than one in tzdata's zone.tab. A test
#: checks this covers every such country, so a tzdata update that splits a country shows up.
MOST_POPULOUS_ZONE: dict[str, str] = {
    "AQ": "Antarctica/McMurdo",
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CD": "Africa/Kinshasa",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "CY": "Asia/Nicosia",
    "DE": "Europe/Berlin",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "FM": "Pacific/Chuuk",
    "GL": "America/Nuuk",
    "ID": "Asia/Jakarta",
    "KI": "Pacific/Tarawa",
    "KZ": "Asia/Almaty",
    "MH": "Pacific/Majuro",
    "MN": "Asia/Ulaanbaatar",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland",
    "PF": "Pacific/Tahiti",
    "PG": "Pacific/Port_Moresby",
    "PS": "Asia/Hebron",  # the West Bank; Gaza is Asia/Gaza
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "UM": "Pacific/Wake",
    "US": "America/New_York",
    "UZ": "Asia/Tashkent",
}

#: Names people write that neither ISO 3166 (via pycountry) nor tzdata spell that way.
COUNTRY_ALIASES: dict[str, str] = {
    "usa": "US",
    "us": "US",
    "u s a": "US",
    "u s": "US",
    "united states of america": "US",
    "uk": "GB",
    "u k": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "uae": "AE",
    "emirates": "AE",
    "russia": "RU",
    "south korea": "KR",
    "korea south": "KR",
    "republic of korea": "KR",
    "north korea": "KP",
    "czech republic": "CZ",
    "turkey": "TR",
    "turkiye": "TR",
    "vietnam": "VN",
    "holland": "NL",
    "the netherlands": "NL",
    "ivory coast": "CI",
    "cape verde": "CV",
    "swaziland": "SZ",
    "macedonia": "MK",
    "burma": "MM",
    "east timor": "TL",
    "vatican": "VA",
    "vatican city": "VA",
    "drc": "CD",
    "dr congo": "CD",
    "congo kinshasa": "CD",
    "democratic republic of congo": "CD",
    "republic of the congo": "CG",
    "congo brazzaville": "CG",
    "us virgin islands": "VI",
    "palestine": "PS",
    "hong kong sar": "HK",
    "macau": "MO",
}


def _key(text: str) -> str:
    """Lowercase, accents dropped, anything not a letter or digit one space, no leading "the"."""
    text = unicodedata.normalize("NFKD", text.replace("&", " and "))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _NOT_ALNUM.sub(" ", text).strip()
    return text[4:] if text.startswith("the ") else text


def _tzdata_table(name: str) -> list[list[str]]:
    text = resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@cache
def _country_zones() -> dict[str, str]:
    """Alpha-2 code -> the country's zone: its only one in zone.tab, or the most populous."""
    zones: dict[str, list[str]] = {}
    for fields in _tzdata_table("zone.tab"):
        zones.setdefault(fields[0], []).append(fields[2])
    return {code: MOST_POPULOUS_ZONE.get(code, names[0]) for code, names in zones.items()}


@cache
def _country_index() -> dict[str, str]:
    """Every spelling's :func:`_key` -> alpha-2 code.

    Sources in order of trust, each adding only the spellings the ones before lack and that
    name one country within it: ISO 3166's names, their inversions ("Korea, Republic of" ->
    "Republic of Korea"), tzdata's names, tzdata's names without their parenthesis ("Britain
    (UK)" -> "Britain"; "Korea (South)" and "Korea (North)" give no "Korea"). The aliases and
    the codes then override."""
    import pycountry  # ~3 MB; only an import with a country column needs it

    iso: list[tuple[str, str]] = []
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            name = getattr(country, attr, None)
            if name:
                iso.append((name, country.alpha_2))
    inverted = [
        (f"{tail} {head}", code)
        for name, code in iso
        for head, comma, tail in [name.partition(", ")]
        if comma
    ]
    tz_names = [(fields[1], fields[0]) for fields in _tzdata_table("iso3166.tab")]
    tz_bases = [(name.partition(" (")[0], code) for name, code in tz_names if " (" in name]

    index: dict[str, str] = {}
    for layer in (iso, inverted, tz_names, tz_bases):
        found: dict[str, set[str]] = {}
        for name, code in layer:
            found.setdefault(_key(name), set()).add(code)
        for key, codes in found.items():
            if key and len(codes) == 1 and key not in index:
                index[key] = next(iter(codes))
    index.update({_key(alias): code for alias, code in COUNTRY_ALIASES.items()})
    for country in pycountry.countries:
        index[country.alpha_3.lower()] = country.alpha_2
        index[country.alpha_2.lower()] = country.alpha_2
    return index


def zone_for_country(value: str) -> str | None:
    """The most populous IANA zone of the country ``value`` names (code or English name), or
    None for a value that names no country, or a country without a zone of its own."""
    key = _key(value)
    if not key:
        return None
    code = _country_index().get(key)
    return None if code is None else _country_zones().get(code)


# --------------------------------------------------------------------------- a lead


def resolve_lead_zone(timezone_cell: str, country_cell: str) -> LeadZone:
    """A lead's zone from its cells: the timezone cell if it has one, else its country's, else
    None (the campaign's). A timezone cell that cannot be read gives the campaign's zone and
    the message the import report shows with the line; the country is then not consulted."""
    if timezone_cell.strip():
        try:
            return LeadZone(canonical_zone(timezone_cell), ZoneSource.COLUMN)
        except UnknownTimezone as exc:
            return LeadZone(None, ZoneSource.CAMPAIGN, str(exc))
    zone = zone_for_country(country_cell) if country_cell.strip() else None
    if zone is not None:
        return LeadZone(zone, ZoneSource.COUNTRY)
    return LeadZone(None, ZoneSource.CAMPAIGN)
