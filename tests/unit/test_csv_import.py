"""Unit tests for engine.leads.csv_import: one behaviour each."""

from __future__ import annotations

import pytest

import engine.leads.lead_file.rows as lead_rows
from engine.errors import UserInputError
from engine.leads.csv_import import (
    MAX_FILE_BYTES,
    MAX_ROWS,
    InvalidRow,
    LeadRow,
    normalise_email_key,
    parse_leads_csv,
)


def _csv(*lines: str, newline: str = "\n") -> bytes:
    return (newline.join(lines) + newline).encode("utf-8")


def _error(data: bytes, **kwargs: int) -> str:
    with pytest.raises(UserInputError) as info:
        parse_leads_csv(data, **kwargs)
    return str(info.value)


# --------------------------------------------------------------------------- defaults / API


def test_it_exposes_telegram_sized_defaults() -> None:
    assert MAX_FILE_BYTES == 20 * 1024 * 1024
    assert MAX_ROWS == 200_000


def test_it_parses_a_plain_file_into_lead_rows() -> None:
    parsed = parse_leads_csv(
        _csv("email,first_name,last_name,company", "ada@example.com,Ada,Lovelace,Analytical")
    )
    assert parsed.rows == [
        LeadRow(
            line=2,
            email="ada@example.com",
            first_name="Ada",
            last_name="Lovelace",
            company="Analytical",
            custom={},
        )
    ]
    assert parsed.invalid == []
    assert parsed.duplicates_in_file == []
    assert parsed.total_rows == 1
    assert parsed.columns == ["email", "first_name", "last_name", "company"]
    assert parsed.delimiter == ","
    assert parsed.encoding == "utf-8"


def test_it_makes_the_dedupe_key_case_insensitive_and_stripped() -> None:
    assert normalise_email_key("  Bob.Smith@Example.COM \n") == "bob.smith@example.com"


# --------------------------------------------------------------------------- encodings


def test_it_reads_utf8_with_bom_without_polluting_the_first_header() -> None:
    data = b"\xef\xbb\xbf" + _csv("Email,Name", "ann@example.com,Zoë Ärger")
    parsed = parse_leads_csv(data)
    assert parsed.encoding == "utf-8-sig"
    assert parsed.columns[0] == "email"
    assert parsed.rows[0].first_name == "Zoë"


def test_it_reads_cp1252_from_excel_with_accented_names() -> None:
    data = "email;Prénom;Nom\r\nrene@example.fr;René;Dupré\r\n".encode("cp1252")
    parsed = parse_leads_csv(data)
    assert parsed.encoding == "cp1252"
    assert (parsed.rows[0].first_name, parsed.rows[0].last_name) == ("René", "Dupré")


def test_it_prefers_utf8_when_the_bytes_are_valid_utf8() -> None:
    parsed = parse_leads_csv("email,first name\njose@example.es,José\n".encode())
    assert parsed.encoding == "utf-8"
    assert parsed.rows[0].first_name == "José"


def test_it_falls_back_to_latin1_for_bytes_cp1252_cannot_decode() -> None:
    # 0x81 is undefined in cp1252 but is a (control) character in Latin-1.
    parsed = parse_leads_csv(b"email,first name\nann@example.com,An\x81n\n")
    assert parsed.encoding == "latin-1"
    assert parsed.rows[0].first_name == "An n"


def test_it_reads_utf16_with_bom_as_excel_unicode_text() -> None:
    data = "Email\tFirst Name\r\nzoe@example.com\tZoë\r\n".encode("utf-16")
    parsed = parse_leads_csv(data)
    assert parsed.encoding == "utf-16"
    assert parsed.delimiter == "\t"
    assert parsed.rows[0].first_name == "Zoë"


def test_it_reads_utf16_le_without_bom() -> None:
    data = "email,first name\r\nzoe@example.com,Zoë\r\n".encode("utf-16-le")
    parsed = parse_leads_csv(data)
    assert parsed.encoding == "utf-16-le"
    assert parsed.rows[0].email == "zoe@example.com"


# --------------------------------------------------------------------------- delimiters & lines


@pytest.mark.parametrize(
    ("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe"), (",", "comma")]
)
def test_it_detects_the_delimiter_from_the_header_line(delimiter: str, name: str) -> None:
    data = _csv(
        delimiter.join(["email", "first name", "company"]),
        delimiter.join(["ann@example.com", "Ann", '"Acme, Inc."']),
    )
    parsed = parse_leads_csv(data)
    assert parsed.delimiter == delimiter, name
    assert parsed.rows[0].company == "Acme, Inc."


def test_it_counts_delimiters_outside_quotes_only() -> None:
    data = _csv('"Name, full, really";email', '"Lovelace, Ada";ada@example.com')
    parsed = parse_leads_csv(data)
    assert parsed.delimiter == ";"
    assert parsed.rows[0].email == "ada@example.com"


def test_it_honours_excels_sep_hint_line() -> None:
    parsed = parse_leads_csv(_csv("sep=|", "email|first name", "ann@example.com|Ann"))
    assert parsed.delimiter == "|"
    assert parsed.rows[0].line == 3
    assert parsed.rows[0].first_name == "Ann"


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_it_accepts_any_line_ending(newline: str) -> None:
    data = _csv("email,first name", "a@example.com,Ann", "b@example.com,Bob", newline=newline)
    parsed = parse_leads_csv(data)
    assert [(r.line, r.first_name) for r in parsed.rows] == [(2, "Ann"), (3, "Bob")]


def test_it_numbers_lines_physically_after_a_quoted_embedded_newline() -> None:
    data = _csv(
        "email,notes",
        'a@example.com,"first line',
        'second line, with comma"',
        "not-an-email,x",
    )
    parsed = parse_leads_csv(data)
    assert parsed.rows[0].line == 2
    assert parsed.rows[0].custom["notes"] == "first line second line, with comma"
    assert parsed.invalid[0].line == 4


def test_it_counts_skipped_blank_lines_in_line_numbers() -> None:
    parsed = parse_leads_csv(_csv("email", "", "a@example.com", ",", "bad"))
    assert parsed.rows[0].line == 3
    assert parsed.invalid[0].line == 5


def test_it_rejects_an_unclosed_quote_that_would_swallow_the_rest_of_the_file() -> None:
    data = _csv("email,notes", 'a@example.com,"oops', "b@example.com,x", "c@example.com,y")
    message = _error(data)
    assert "Line 2" in message
    assert "quote" in message


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    "header",
    [
        "email",
        "Email",
        "E-Mail",
        "email address",
        "E-mail Address",
        "MAIL",
        "emailaddress",
        "email_address",
        "Work Email",
        "business-email",
        ' "Email" ',
    ],
)
def test_it_recognises_email_header_spellings(header: str) -> None:
    data = _csv(f"{header};x", "ann@example.com;1")
    assert parse_leads_csv(data).rows[0].email == "ann@example.com"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("First Name", "first_name"),
        ("firstname", "first_name"),
        ("first_name", "first_name"),
        ("First", "first_name"),
        ("Given Name", "first_name"),
        ("Vorname", "first_name"),
        ("Prénom", "first_name"),
        ("prenom", "first_name"),
        ("Nombre", "first_name"),
        ("Last Name", "last_name"),
        ("LASTNAME", "last_name"),
        ("last-name", "last_name"),
        ("Surname", "last_name"),
        ("Family Name", "last_name"),
        ("Nachname", "last_name"),
        ("Nom", "last_name"),
        ("Apellido", "last_name"),
        ("Company", "company"),
        ("Company Name", "company"),
        ("Organization", "company"),
        ("Organisation", "company"),
        ("Account", "company"),
        ("Firma", "company"),
        ("Empresa", "company"),
        ("Société", "company"),
        ("societe", "company"),
    ],
)
def test_it_maps_name_and_company_header_spellings(header: str, field: str) -> None:
    parsed = parse_leads_csv(_csv(f"email;{header}", "ann@example.com;Value"))
    assert getattr(parsed.rows[0], field) == "Value"
    assert parsed.rows[0].custom == {}
    assert parsed.columns == ["email", field]


def test_it_splits_a_full_name_column_and_keeps_the_original() -> None:
    parsed = parse_leads_csv(_csv("Full Name,email", "Ada King Lovelace,ada@example.com"))
    row = parsed.rows[0]
    assert (row.first_name, row.last_name) == ("Ada", "King Lovelace")
    assert row.custom == {"name": "Ada King Lovelace"}


def test_it_splits_a_last_comma_first_name() -> None:
    row = parse_leads_csv(_csv("name,email", '"Lovelace, Ada",ada@example.com')).rows[0]
    assert (row.first_name, row.last_name) == ("Ada", "Lovelace")


def test_it_does_not_split_name_when_first_name_column_exists() -> None:
    row = parse_leads_csv(_csv("name,first name,email", "Team Ada,Ada,ada@example.com")).rows[0]
    assert row.first_name == "Ada"
    assert row.last_name == ""
    assert row.custom == {"name": "Team Ada"}


def test_it_keeps_custom_columns_under_normalised_names() -> None:
    data = _csv(
        "Email,Job Title,LinkedIn-URL,Città,# of Employees", "a@example.com,CTO,l.in/a,Roma,50"
    )
    parsed = parse_leads_csv(data)
    assert parsed.rows[0].custom == {
        "job_title": "CTO",
        "linkedin_url": "l.in/a",
        "citta": "Roma",
        "of_employees": "50",
    }
    assert parsed.columns == ["email", "job_title", "linkedin_url", "citta", "of_employees"]


def test_it_names_empty_and_duplicate_headers_by_position() -> None:
    parsed = parse_leads_csv(_csv("email,city,,City,%%%", "a@example.com,Rome,x,Milan,y"))
    assert parsed.columns == ["email", "city", "column_3", "column_4", "column_5"]
    assert parsed.rows[0].custom == {
        "city": "Rome",
        "column_3": "x",
        "column_4": "Milan",
        "column_5": "y",
    }


def test_it_keeps_a_second_email_column_as_custom() -> None:
    parsed = parse_leads_csv(_csv("Email,Work Email", "a@example.com,b@example.com"))
    assert parsed.rows[0].email == "a@example.com"
    assert parsed.rows[0].custom == {"work_email": "b@example.com"}


def test_it_keeps_non_empty_cells_beyond_the_header_as_positional_custom() -> None:
    parsed = parse_leads_csv(_csv("email,city", "a@example.com,Rome,extra,", "b@example.com,Oslo"))
    assert parsed.rows[0].custom == {"city": "Rome", "column_3": "extra"}
    assert parsed.rows[1].custom == {"city": "Oslo"}


def test_it_fills_missing_trailing_cells_with_empty_strings() -> None:
    row = parse_leads_csv(_csv("email,first name,city", "a@example.com")).rows[0]
    assert row.first_name == ""
    assert row.custom == {"city": ""}


def test_it_uses_the_one_column_that_is_mostly_emails_when_no_header_matches() -> None:
    parsed = parse_leads_csv(_csv("Contact,Who", "a@example.com,Ann", "b@example.com,Bob"))
    assert [r.email for r in parsed.rows] == ["a@example.com", "b@example.com"]
    assert parsed.columns == ["email", "who"]


def test_it_reads_a_bare_list_of_addresses_without_header() -> None:
    parsed = parse_leads_csv(_csv("a@example.com", "b@example.com"))
    assert [(r.line, r.email) for r in parsed.rows] == [(1, "a@example.com"), (2, "b@example.com")]


def test_it_rejects_a_file_without_email_column_listing_found_columns() -> None:
    message = _error(_csv("Name,Phone,City", "Ann,123,Rome"))
    assert "No email column" in message
    assert '"Name", "Phone", "City"' in message
    assert '"email"' in message
    assert '"e-mail address"' in message


def test_it_rejects_a_file_whose_rows_are_all_empty_as_having_no_header() -> None:
    message = _error(b",,,\r\n,,\r\n")
    assert "no header row" in message


# --------------------------------------------------------------------------- emails


def test_it_reports_invalid_emails_with_line_and_reason() -> None:
    parsed = parse_leads_csv(_csv("email", "ok@example.com", "bob@", "no-at-sign", "x@localhost"))
    assert [(i.line, i.value) for i in parsed.invalid] == [
        (3, "bob@"),
        (4, "no-at-sign"),
        (5, "x@localhost"),
    ]
    assert parsed.invalid[0].reason.startswith("'bob@' is not a valid email address: ")
    assert "after the @-sign" in parsed.invalid[0].reason
    assert all("\n" not in i.reason for i in parsed.invalid)


def test_it_reports_an_empty_email_cell_as_missing_email() -> None:
    parsed = parse_leads_csv(_csv("email,first name", "  ,Ann"))
    assert parsed.invalid == [InvalidRow(line=2, value="", reason="missing email")]
    assert parsed.total_rows == 1


def test_it_skips_entirely_empty_rows_without_counting_them() -> None:
    parsed = parse_leads_csv(_csv("email,first name", ",", " , ", "a@example.com,Ann", ""))
    assert parsed.total_rows == 1
    assert parsed.invalid == []


def test_it_lowercases_the_domain_but_keeps_the_local_part() -> None:
    parsed = parse_leads_csv(_csv("email", "  Bob.Smith@EXAMPLE.Com  "))
    assert parsed.rows[0].email == "Bob.Smith@example.com"


def test_it_normalises_internationalised_domains_like_email_validator() -> None:
    parsed = parse_leads_csv(_csv("email", "ann@EXÄMPLE.de", "bob@xn--exmple-cua.de"))
    assert [r.email for r in parsed.rows] == ["ann@exämple.de", "bob@exämple.de"]


@pytest.mark.parametrize(
    "cell",
    [
        "<ann@example.com>",
        "mailto:ann@example.com",
        "MAILTO:ann@example.com",
        "\u200bann@example.com",
    ],
)
def test_it_strips_angle_brackets_mailto_and_invisible_characters(cell: str) -> None:
    assert parse_leads_csv(_csv("email", cell)).rows[0].email == "ann@example.com"


def test_it_deduplicates_case_insensitively_keeping_the_first() -> None:
    parsed = parse_leads_csv(
        _csv(
            "email,first name",
            "Ann@Example.com,First",
            "ann@example.COM,Second",
            "ANN@EXAMPLE.COM,3rd",
        )
    )
    assert [(r.line, r.first_name) for r in parsed.rows] == [(2, "First")]
    assert parsed.duplicates_in_file == [3, 4]
    assert parsed.total_rows == 3


def test_it_passes_check_deliverability_to_email_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = lead_rows.validate_email

    def spy(value: str, *, check_deliverability: bool) -> object:
        seen.append(check_deliverability)
        return real(value, check_deliverability=False)

    monkeypatch.setattr(lead_rows, "validate_email", spy)
    parse_leads_csv(_csv("email", "ann@example.com"), check_deliverability=True)
    assert seen == [True]


# --------------------------------------------------------------------------- cell values


def test_it_neutralises_cr_lf_in_names_so_they_cannot_inject_headers() -> None:
    data = _csv("email,first name,company", 'a@example.com,"Ann\r\nBcc: evil@x.com","Acme\n\nLtd"')
    row = parse_leads_csv(data).rows[0]
    assert row.first_name == "Ann Bcc: evil@x.com"
    assert row.company == "Acme Ltd"


def test_it_replaces_other_control_characters_but_keeps_tabs() -> None:
    data = _csv("email;notes;city", "a@example.com;a\x0bb\x1fc\u2028d;x\ty")
    row = parse_leads_csv(data).rows[0]
    assert row.custom == {"notes": "a b c d", "city": "x\ty"}


def test_it_strips_whitespace_around_values() -> None:
    row = parse_leads_csv(_csv("email,first name", "a@example.com,   Ann  ")).rows[0]
    assert row.first_name == "Ann"


def test_it_caps_each_value_at_1000_characters() -> None:
    row = parse_leads_csv(_csv("email,notes", "a@example.com," + "x" * 5000)).rows[0]
    assert row.custom["notes"] == "x" * 1000


# --------------------------------------------------------------------------- whole-file errors


@pytest.mark.parametrize("data", [b"", b"   \r\n\n  \t"])
def test_it_rejects_an_empty_file(data: bytes) -> None:
    assert "empty" in _error(data)


def test_it_rejects_a_file_with_only_a_bom() -> None:
    assert "no content" in _error(b"\xef\xbb\xbf\r\n")


def test_it_rejects_binary_data_with_nul_bytes() -> None:
    message = _error(b"email\n\x00\x01\x02\x03\xff\xfe\x00garbage")
    assert "binary" in message
    assert "CSV" in message


def test_it_rejects_control_character_soup_as_binary() -> None:
    assert "binary" in _error(bytes(range(1, 32)) * 20)


def test_it_rejects_xlsx_bytes_saying_to_save_as_csv() -> None:
    message = _error(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100 + b"[Content_Types].xml")
    assert "Excel" in message
    assert "save it as CSV" in message


def test_it_rejects_legacy_xls_bytes() -> None:
    assert "Excel" in _error(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)


def test_it_rejects_too_many_rows_naming_the_limit_and_suggesting_a_split() -> None:
    data = _csv("email", *(f"u{i}@example.com" for i in range(4)))
    message = _error(data, max_rows=3)
    assert "3" in message
    assert "Split" in message


def test_it_accepts_exactly_max_rows() -> None:
    data = _csv("email", "", *(f"u{i}@example.com" for i in range(3)))
    assert parse_leads_csv(data, max_rows=3).total_rows == 3


def test_it_rejects_a_too_large_file_naming_the_limit() -> None:
    message = _error(_csv("email", "a@example.com"), max_bytes=10)
    assert "10 bytes" in message
    assert "limit" in message


def test_it_states_the_default_size_limit_in_megabytes() -> None:
    assert "20 MB" in _error(b"x" * (MAX_FILE_BYTES + 1))


def test_it_raises_only_user_input_error_for_non_bytes() -> None:
    with pytest.raises(UserInputError):
        parse_leads_csv("email\na@example.com\n")  # type: ignore[arg-type]


def test_it_rejects_a_cell_over_the_csv_field_limit_with_its_line() -> None:
    message = _error(_csv("email,notes", "a@example.com,ok", "b@example.com," + "x" * 200_000))
    assert "Line 3" in message
    assert "quote" in message


def test_it_rejects_more_than_1000_columns() -> None:
    message = _error(_csv(",".join(["email", *(f"c{i}" for i in range(1000))])))
    assert "1,001 columns" in message


def test_it_returns_no_rows_for_a_header_only_file() -> None:
    parsed = parse_leads_csv(_csv("email,first name", "", "", newline="\r\n"))
    assert (parsed.rows, parsed.invalid, parsed.total_rows) == ([], [], 0)
    assert parsed.columns == ["email", "first_name"]


@pytest.mark.parametrize(
    "address", ["Postmaster@Example.COM", "INFO@example.com", "Sales@exämple.de"]
)
def test_it_lowercases_role_mailboxes_like_email_validator(address: str) -> None:
    from email_validator import validate_email

    expected = validate_email(address, check_deliverability=False).normalized
    assert parse_leads_csv(_csv("email", address)).rows[0].email == expected
