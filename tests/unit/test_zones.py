"""engine.zones: a lead's own timezone from a timezone cell, a country cell, or neither."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import pytest

from engine.errors import UserInputError
from engine.zones import (
    COUNTRY_ALIASES,
    MOST_POPULOUS_ZONE,
    LeadZone,
    UnknownTimezone,
    ZoneSource,
    _country_index,
    _country_zones,
    _iana_index,
    _tzdata_table,
    canonical_zone,
    lead_tz,
    parse_zone,
    resolve_lead_zone,
    zone_for_country,
    zone_from_stored,
    zone_name,
)

# --------------------------------------------------------------------------- timezone cells


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("  AMERICA/NEW_YORK ", "America/New_York"),
        ("America/New York", "America/New_York"),
        ("america/argentina/buenos_aires", "America/Argentina/Buenos_Aires"),
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("GMT", "UTC"),
        ("Z", "UTC"),
        ("Etc/UTC", "UTC"),
        ("UTC+00:00", "UTC"),
        ("UTC+02:00", "UTC+02:00"),
        ("UTC+2", "UTC+02:00"),
        ("utc + 2", "UTC+02:00"),
        ("GMT-5", "UTC-05:00"),
        ("+05:30", "UTC+05:30"),
        ("+0530", "UTC+05:30"),
        ("-3", "UTC-03:00"),
        ("UTC\u221203:00", "UTC-03:00"),  # a Unicode minus, as word processors write it
        ("UTC+14:00", "UTC+14:00"),
        ("UTC-14", "UTC-14:00"),
        ("Etc/GMT-3", "Etc/GMT-3"),  # IANA's own name keeps POSIX's inverted sign
    ],
)
def test_it_reads_iana_names_and_offsets(value: str, stored: str) -> None:
    assert canonical_zone(value) == stored


def test_an_offset_is_a_fixed_zone() -> None:
    assert parse_zone("UTC+05:45") == timezone(timedelta(hours=5, minutes=45))
    assert parse_zone("GMT-5") == timezone(-timedelta(hours=5))


def test_an_iana_name_is_a_zoneinfo() -> None:
    assert parse_zone("asia/tokyo") is ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    "value",
    ["", "  ", "Berlin", "Europe/Berlinn", "CEST+", "UTC+15", "UTC+14:30", "+05:60", "UTC+2:3",
     "+123", "12:00", "UTC++2", "Factory", "localtime", "x" * 500],
)  # fmt: skip
def test_it_refuses_anything_else_saying_what_it_accepts(value: str) -> None:
    with pytest.raises(UnknownTimezone) as info:
        parse_zone(value)
    assert isinstance(info.value, UserInputError)
    message = str(info.value)
    assert "is not a timezone" in message
    assert "Europe/Berlin" in message and "UTC+02:00" in message and "14:00" in message
    assert len(message) < 300


def test_it_suggests_the_iana_name_for_a_bare_city() -> None:
    with pytest.raises(UnknownTimezone) as info:
        parse_zone("new york")
    assert info.value.suggestion == "America/New_York"
    assert "did you mean America/New_York?" in str(info.value)


def test_the_stored_form_reads_back_as_the_same_zone() -> None:
    for value in ("Europe/Berlin", "UTC", "UTC+05:30", "UTC-03:00"):
        assert zone_name(zone_from_stored(value)) == value


def test_a_fixed_zone_has_a_canonical_name() -> None:
    assert zone_name(UTC) == "UTC"
    assert zone_name(timezone(timedelta(hours=-9, minutes=-30))) == "UTC-09:30"


def test_the_case_insensitive_index_loses_no_iana_name() -> None:
    index = _iana_index()
    names = available_timezones() - {"Factory", "localtime", "posixrules"}
    assert set(index.values()) == names
    assert all(ZoneInfo(name) for name in index.values())


# --------------------------------------------------------------------------- countries


@pytest.mark.parametrize(
    ("value", "zone"),
    [
        ("US", "America/New_York"),
        ("usa", "America/New_York"),
        ("United States", "America/New_York"),
        ("United States of America", "America/New_York"),
        ("U.S.A.", "America/New_York"),
        ("RU", "Europe/Moscow"),
        ("Russia", "Europe/Moscow"),
        ("Russian Federation", "Europe/Moscow"),
        ("BR", "America/Sao_Paulo"),
        ("Brazil", "America/Sao_Paulo"),
        ("CA", "America/Toronto"),
        ("CAN", "America/Toronto"),
        ("AU", "Australia/Sydney"),
        ("MX", "America/Mexico_City"),
        ("ID", "Asia/Jakarta"),
        ("CN", "Asia/Shanghai"),
        ("KZ", "Asia/Almaty"),
        ("IN", "Asia/Kolkata"),
        ("India", "Asia/Kolkata"),
        ("DE", "Europe/Berlin"),
        ("DEU", "Europe/Berlin"),
        ("germany", "Europe/Berlin"),
        ("ES", "Europe/Madrid"),
        ("PT", "Europe/Lisbon"),
        ("AR", "America/Argentina/Buenos_Aires"),
        ("CL", "America/Santiago"),
        ("UA", "Europe/Kyiv"),
        ("Ukraine", "Europe/Kyiv"),
        ("UK", "Europe/London"),
        ("GB", "Europe/London"),
        ("United Kingdom", "Europe/London"),
        ("Great Britain", "Europe/London"),
        ("South Korea", "Asia/Seoul"),
        ("Korea, Republic of", "Asia/Seoul"),
        ("Republic of Korea", "Asia/Seoul"),
        ("Czech Republic", "Europe/Prague"),
        ("Czechia", "Europe/Prague"),
        ("Türkiye", "Europe/Istanbul"),
        ("turkiye", "Europe/Istanbul"),
        ("Turkey", "Europe/Istanbul"),
        ("Viet Nam", "Asia/Ho_Chi_Minh"),
        ("Vietnam", "Asia/Ho_Chi_Minh"),
        ("UAE", "Asia/Dubai"),
        ("United Arab Emirates", "Asia/Dubai"),
        ("Côte d'Ivoire", "Africa/Abidjan"),
        ("COTE D’IVOIRE", "Africa/Abidjan"),
        ("Ivory Coast", "Africa/Abidjan"),
        ("the Netherlands", "Europe/Amsterdam"),
        ("Bosnia & Herzegovina", "Europe/Sarajevo"),
        ("Iran, Islamic Republic of", "Asia/Tehran"),
        ("Iran", "Asia/Tehran"),
        ("Britain", "Europe/London"),
        ("Japan", "Asia/Tokyo"),
        ("jpn", "Asia/Tokyo"),
        (" new zealand ", "Pacific/Auckland"),
        ("Democratic Republic of the Congo", "Africa/Kinshasa"),
        ("Congo", "Africa/Brazzaville"),
    ],
)
def test_a_country_gives_its_most_populous_zone(value: str, zone: str) -> None:
    assert zone_for_country(value) == zone


@pytest.mark.parametrize("value", ["", " ", "Narnia", "Korea", "XX", "ZZZ", "Europe"])
def test_a_value_that_names_no_country_gives_none(value: str) -> None:
    assert zone_for_country(value) is None


def test_every_country_zone_exists_in_zoneinfo() -> None:
    zones = set(_country_zones().values()) | set(MOST_POPULOUS_ZONE.values())
    assert zones <= available_timezones()
    assert len(_country_zones()) >= 240


def test_every_country_with_several_zones_has_its_most_populous_one_chosen() -> None:
    per_country: dict[str, set[str]] = {}
    for fields in _tzdata_table("zone.tab"):
        per_country.setdefault(fields[0], set()).add(fields[2])
    several = {code for code, zones in per_country.items() if len(zones) > 1}
    assert several == set(MOST_POPULOUS_ZONE)
    for code, zone in MOST_POPULOUS_ZONE.items():
        assert zone in per_country[code], code


def test_every_alias_names_a_country_with_a_zone() -> None:
    zones = _country_zones()
    assert all(code in zones for code in COUNTRY_ALIASES.values())
    assert all(code in zones for code in set(_country_index().values()) - {"BV", "HM"})


def test_the_country_names_load_only_when_a_country_is_looked_up() -> None:
    code = (
        "import sys, engine.zones as z; z.parse_zone('Europe/Berlin'); "
        "assert 'pycountry' not in sys.modules; z.zone_for_country('FR'); "
        "assert 'pycountry' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- a lead's cells


def test_the_timezone_cell_comes_first() -> None:
    assert resolve_lead_zone("asia/tokyo", "US") == LeadZone("Asia/Tokyo", ZoneSource.COLUMN)


def test_without_a_timezone_the_country_gives_the_zone() -> None:
    assert resolve_lead_zone("", "Japan") == LeadZone("Asia/Tokyo", ZoneSource.COUNTRY)
    assert resolve_lead_zone("  ", "jp") == ("Asia/Tokyo", "country", None)


def test_without_either_the_campaign_zone_applies() -> None:
    assert resolve_lead_zone("", "") == LeadZone(None, ZoneSource.CAMPAIGN)
    assert resolve_lead_zone("", "Narnia") == LeadZone(None, ZoneSource.CAMPAIGN)


def test_a_bad_timezone_falls_back_to_the_campaign_zone_with_a_message() -> None:
    zone, source, error = resolve_lead_zone("Mars/Olympus", "DE")
    assert (zone, source) == (None, ZoneSource.CAMPAIGN)
    assert error is not None and "'Mars/Olympus' is not a timezone" in error


def test_a_zone_from_a_cell_is_usable_for_local_time() -> None:
    zone, _, _ = resolve_lead_zone("UTC+09:00", "")
    assert zone is not None
    noon = datetime(2026, 6, 1, 3, 0, tzinfo=UTC).astimezone(zone_from_stored(zone))
    assert noon.hour == 12


def test_a_lead_without_a_zone_is_timed_in_the_campaigns() -> None:
    campaign = ZoneInfo("Europe/Berlin")
    assert lead_tz(None, campaign) is campaign
    assert lead_tz("", campaign) is campaign
    assert lead_tz("Asia/Tokyo", campaign) is ZoneInfo("Asia/Tokyo")
