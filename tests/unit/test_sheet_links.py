"""Links in a message: the first http(s) link found, and a Google Sheets link rewritten to its
tab's CSV export (pure functions, no network)."""

from __future__ import annotations

import pytest

from engine.leads.sheet_links import export_url, find_url, is_google_sheet

ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789-abcd"


@pytest.mark.parametrize(
    ("url", "export"),
    [
        (
            f"https://docs.google.com/spreadsheets/d/{ID}/edit#gid=0",
            f"https://docs.google.com/spreadsheets/d/{ID}/export?format=csv&gid=0",
        ),
        (
            f"https://docs.google.com/spreadsheets/d/{ID}/edit?usp=sharing",
            f"https://docs.google.com/spreadsheets/d/{ID}/export?format=csv",
        ),
        (
            f"https://docs.google.com/spreadsheets/d/{ID}/edit?gid=123456789#gid=123456789",
            f"https://docs.google.com/spreadsheets/d/{ID}/export?format=csv&gid=123456789",
        ),
        (
            f"https://docs.google.com/spreadsheets/d/{ID}/edit?usp=sharing&gid=42",
            f"https://docs.google.com/spreadsheets/d/{ID}/export?format=csv&gid=42",
        ),
        (
            f"https://docs.google.com/spreadsheets/d/{ID}",
            f"https://docs.google.com/spreadsheets/d/{ID}/export?format=csv",
        ),
        (
            f"https://docs.google.com/spreadsheets/u/1/d/{ID}/htmlview#gid=7",
            f"https://docs.google.com/spreadsheets/d/{ID}/export?format=csv&gid=7",
        ),
        (
            f"https://docs.google.com/spreadsheets/d/e/2PACX-{ID}/pubhtml?gid=5",
            f"https://docs.google.com/spreadsheets/d/e/2PACX-{ID}/pub?output=csv&gid=5",
        ),
        (  # a gid that is not a number is dropped, never copied into the URL
            f"https://docs.google.com/spreadsheets/d/{ID}/edit#gid=1&x=<script>",
            f"https://docs.google.com/spreadsheets/d/{ID}/export?format=csv&gid=1",
        ),
        (
            f"https://docs.google.com/spreadsheets/d/{ID}/edit#gid=abc",
            f"https://docs.google.com/spreadsheets/d/{ID}/export?format=csv",
        ),
        (  # already the export
            f"https://docs.google.com/spreadsheets/d/{ID}/export?format=csv&gid=3",
            f"https://docs.google.com/spreadsheets/d/{ID}/export?format=csv&gid=3",
        ),
    ],
)
def test_a_google_sheets_link_becomes_its_tabs_csv_export(url: str, export: str) -> None:
    assert is_google_sheet(url)
    assert export_url(url) == export


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/leads.csv",
        f"https://docs.google.com/document/d/{ID}/edit",
        f"https://docs.google.com.evil.io/spreadsheets/d/{ID}/edit",
        f"https://evil.io/spreadsheets/d/{ID}/edit?x=docs.google.com",
        "http://192.168.1.5:8080/export/leads.xlsx?token=abc",
    ],
)
def test_any_other_link_is_fetched_as_it_is(url: str) -> None:
    assert not is_google_sheet(url)
    assert export_url(url) == url


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("https://example.com/a.csv", "https://example.com/a.csv"),
        ("here: https://example.com/a.csv.", "https://example.com/a.csv"),
        ("(see https://example.com/a.csv)", "https://example.com/a.csv"),
        ("HTTP://EXAMPLE.com/x?y=1&z=2, thanks", "HTTP://EXAMPLE.com/x?y=1&z=2"),
        ("two: http://a.io/1 https://b.io/2", "http://a.io/1"),
        ("no link here", None),
        ("ftp://example.com/a.csv", None),
        ("https://", None),
    ],
)
def test_the_first_http_link_of_a_message_is_found(text: str, url: str | None) -> None:
    assert find_url(text) == url
