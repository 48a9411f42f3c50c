"""The timezone and country columns of an uploaded lead list: read into LeadRow, kept as custom
fields, and resolved to the lead's zone by engine.zones."""

from __future__ import annotations

import pytest

from engine.leads.csv_import import LeadRow, parse_leads_csv
from engine.zones import ZoneSource, resolve_lead_zone


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.mark.parametrize(
    ("timezone_header", "country_header"),
    [
        ("timezone", "country"),
        ("Time Zone", "Country Code"),
        ("TZ", "Country"),
        ("time_zone", "country-code"),
        ("Timezone", "Country Name"),
    ],
)
def test_it_reads_the_timezone_and_country_columns(
    timezone_header: str, country_header: str
) -> None:
    parsed = parse_leads_csv(
        _csv(f"email,{timezone_header},{country_header}", "ada@example.com,Asia/Tokyo,JP")
    )
    row = parsed.rows[0]
    assert (row.timezone, row.country) == ("Asia/Tokyo", "JP")


def test_they_stay_custom_fields_so_templates_can_use_them() -> None:
    parsed = parse_leads_csv(_csv("email,country,timezone", "ada@example.com,Japan,UTC+9"))
    assert parsed.rows[0].custom == {"country": "Japan", "timezone": "UTC+9"}
    assert parsed.columns == ["email", "country", "timezone"]


def test_a_file_without_them_gives_empty_cells() -> None:
    parsed = parse_leads_csv(_csv("email,first_name", "ada@example.com,Ada"))
    assert parsed.rows == [LeadRow(2, "ada@example.com", "Ada", "", "", {})]
    assert (parsed.rows[0].timezone, parsed.rows[0].country) == ("", "")


def test_a_short_row_gives_empty_cells() -> None:
    parsed = parse_leads_csv(_csv("email,timezone,country", "ada@example.com"))
    assert (parsed.rows[0].timezone, parsed.rows[0].country) == ("", "")


def test_a_headerless_list_has_no_zone_columns() -> None:
    parsed = parse_leads_csv(_csv("ada@example.com", "bob@example.com"))
    assert all((r.timezone, r.country) == ("", "") for r in parsed.rows)


def test_each_row_resolves_to_a_zone_and_a_source() -> None:
    parsed = parse_leads_csv(
        _csv(
            "email,timezone,country",
            "a@example.com,europe/berlin,US",
            "b@example.com,,Japan",
            "c@example.com,,",
            "d@example.com,Mars/Olympus,DE",
        )
    )
    resolved = {r.line: resolve_lead_zone(r.timezone, r.country) for r in parsed.rows}
    assert resolved[2][:2] == ("Europe/Berlin", ZoneSource.COLUMN)
    assert resolved[3][:2] == ("Asia/Tokyo", ZoneSource.COUNTRY)
    assert resolved[4][:2] == (None, ZoneSource.CAMPAIGN)
    assert resolved[5][:2] == (None, ZoneSource.CAMPAIGN)
    assert resolved[5].error is not None and "Mars/Olympus" in resolved[5].error
