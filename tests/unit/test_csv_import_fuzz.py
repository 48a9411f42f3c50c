"""Property tests for engine.leads.csv_import: it never crashes, and every row is accounted for."""

from __future__ import annotations

import io
import re

from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.errors import UserInputError
from engine.leads.csv_import import ParsedFile, parse_leads_csv
from engine.leads.lead_file import aliases
from engine.leads.lead_file.aliases import alias_key
from engine.leads.lead_file.rows import validate

# The message of parse_leads_csv's last-resort wrapper: seeing it means an unexpected crash.
_CRASH_PREFIX = "Couldn't read this file as CSV ("

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Printable text plus the line breaks and tabs spreadsheets put in cells; no other control
# characters (those are covered by the arbitrary-bytes property) and no "@", which the
# unclosed-quote detector looks for.
_CELL_CHARS = st.one_of(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="@"),
    st.sampled_from(["\r", "\n", "\t", '"', ",", ";", "|"]),
)
_cell_text = st.text(_CELL_CHARS, max_size=30)

_LOCAL_CHARS = "abcXYZ019_+-"
_ascii_local = st.lists(st.text(_LOCAL_CHARS, min_size=1, max_size=8), min_size=1, max_size=3).map(
    ".".join
)
_domain = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(st.text("abcxyz019", min_size=1, max_size=8), min_size=1, max_size=3),
    st.sampled_from(["com", "org", "de", "io", "co.uk", "xn--exmple-cua.de", "exämple.de"]),
)
_valid_email = st.builds(
    lambda local, dom, upper: f"{local}@{dom.upper() if upper else dom}",
    _ascii_local,
    _domain,
    st.booleans(),
)
_any_email = st.one_of(
    _valid_email,
    st.emails(),
    st.just(""),
    _cell_text,
    st.text(alphabet="aZ0.-_+@äx <>", max_size=20),
)

_ALIASES = (
    aliases.EMAIL_ALIASES
    | aliases.FIRST_ALIASES
    | aliases.LAST_ALIASES
    | aliases.COMPANY_ALIASES
    | aliases.FULL_NAME_ALIASES
)
_custom_name = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
    st.text("abcnz019_", max_size=8),
).filter(
    lambda n: (
        alias_key(n) not in _ALIASES
        and not n.startswith("column_")
        and n not in {"first_name", "last_name"}
        and not n.endswith("_")
    )
)


def _format(row: list[str], delimiter: str, quote_all: bool) -> str:
    """Quote like spreadsheet apps do: any cell with a delimiter, quote, CR or LF (or all)."""
    cells = []
    for cell in row:
        if (
            quote_all
            or any(ch in cell for ch in (delimiter, '"', "\r", "\n"))
            or cell != cell.strip()
        ):
            cell = '"' + cell.replace('"', '""') + '"'
        cells.append(cell)
    return delimiter.join(cells)


def _write(
    rows: list[list[str]], delimiter: str, terminator: str, quote_all: bool = False
) -> tuple[bytes, list[int]]:
    """CSV bytes plus the physical start line of every record (header = line 1)."""
    parts = []
    starts = []
    line = 1
    for row in rows:
        starts.append(line)
        record = _format(row, delimiter, quote_all) + terminator
        line += len(io.StringIO(record, newline="").readlines())
        parts.append(record)
    return "".join(parts).encode("utf-8"), starts


@FAST
@given(st.binary(max_size=2000))
@example(b"\xff\xfe\x00")
@example(b"\xfe\xff\xd8\x00")
@example(b'"' * 50)
@example(b'email\n"')
@example(b"sep=\n")
def test_it_returns_a_result_or_user_input_error_for_any_bytes(data: bytes) -> None:
    try:
        result = parse_leads_csv(data)
    except UserInputError as exc:
        assert str(exc)
        assert not str(exc).startswith(_CRASH_PREFIX), repr(exc.__cause__)
    else:
        assert isinstance(result, ParsedFile)
        assert result.total_rows == (
            len(result.rows) + len(result.invalid) + len(result.duplicates_in_file)
        )


@FAST
@given(
    st.lists(st.text(_CELL_CHARS | st.sampled_from(["@", "\x00", "\x0b", "\ufeff"])), max_size=8),
    st.sampled_from([",", ";", "\t", "|"]),
    st.integers(min_value=1, max_value=4),
    st.sampled_from(["utf-8", "utf-16", "cp1252"]),
)
def test_it_returns_a_result_or_user_input_error_for_any_text(
    chunks: list[str], delimiter: str, max_rows: int, encoding: str
) -> None:
    text = (
        "email"
        + delimiter
        + "x\n"
        + "\n".join(delimiter.join(chunks[i : i + 2]) for i in range(0, len(chunks), 2))
    )
    data = text.encode(encoding, errors="replace")
    try:
        parse_leads_csv(data, max_rows=max_rows, max_bytes=4000)
    except UserInputError as exc:
        assert str(exc)
        assert not str(exc).startswith(_CRASH_PREFIX), repr(exc.__cause__)


@FAST
@given(
    st.lists(
        st.tuples(_any_email, _cell_text, _cell_text, _cell_text, st.booleans()),
        max_size=15,
    ),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["\r\n", "\n", "\r"]),
    st.booleans(),
)
def test_it_accounts_for_every_data_row_exactly_once(
    specs: list[tuple[str, str, str, str, bool]], delimiter: str, terminator: str, quote_all: bool
) -> None:
    rows = [["email", "first_name", "last_name", "company"]]
    for email, first, last, company, repeat_previous in specs:
        if repeat_previous and len(rows) > 1:
            email = rows[-1][0].swapcase()  # an in-file duplicate, differently cased
        rows.append([email, first, last, company])
    data, starts = _write(rows, delimiter, terminator, quote_all)

    parsed = parse_leads_csv(data)

    expected = {starts[i] for i, row in enumerate(rows) if i > 0 and any(c.strip() for c in row)}
    seen = (
        [r.line for r in parsed.rows]
        + [i.line for i in parsed.invalid]
        + list(parsed.duplicates_in_file)
    )
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen)) == parsed.total_rows
    keys = [r.email.lower() for r in parsed.rows]
    assert len(keys) == len(set(keys))
    for row in parsed.rows:
        for value in (row.first_name, row.last_name, row.company):
            assert "\r" not in value and "\n" not in value


@FAST
@given(
    st.lists(_custom_name, min_size=1, max_size=5, unique=True),
    st.lists(st.tuples(_valid_email, st.lists(_cell_text, min_size=5, max_size=5)), max_size=10),
    st.sampled_from([",", ";", "\t"]),
)
@example(
    names=["x"],
    leads=[("a@ex\u00e4mple.de", ["1"] * 5), ("a@xn--exmple-cua.de", ["2"] * 5)],
    delimiter=",",
)
def test_it_round_trips_custom_fields(
    names: list[str], leads: list[tuple[str, list[str]]], delimiter: str
) -> None:
    rows = [["email", *names]]
    for email, values in leads:
        rows.append([email, *values[: len(names)]])
    data, starts = _write(rows, delimiter, "\r\n")

    parsed = parse_leads_csv(data)

    assert parsed.columns == ["email", *names]
    by_line = {r.line: r for r in parsed.rows}
    seen: set[str] = set()
    for i, (email, values) in enumerate(leads, start=1):
        # The importer dedupes the normalised address: a@exämple.de and a@xn--exmple-cua.de are
        # one address (the same IDN domain), so the second is a duplicate.
        key = validate_email(email, check_deliverability=False).normalized.lower()
        if key in seen:
            assert starts[i] in parsed.duplicates_in_file
            continue
        seen.add(key)
        row = by_line[starts[i]]
        expected = {
            name: re.sub(r"[\r\n]+", " ", value.strip()).strip()
            for name, value in zip(names, values, strict=False)
        }
        assert row.custom == expected


@FAST
@given(st.one_of(_valid_email, st.emails(), st.text(alphabet="aZ0.-_+@äx", max_size=24)))
def test_it_agrees_with_email_validator_on_every_address(value: str) -> None:
    try:
        expected: str | None = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    for cache in (None, {}):
        assert validate(value, False, cache)[0] == expected
