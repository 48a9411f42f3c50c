"""Pure parsing of uploaded lead lists: CSV bytes in, a :class:`ParsedFile` out.

No database and no Telegram here. Everything an operator can get wrong about the file as a
whole (empty, binary, an Excel workbook, too big, no email column) is a
:class:`~engine.errors.UserInputError` whose message says what was wrong and what to do.
Problems with single rows never raise: they are reported in ``ParsedFile.invalid`` (with the
physical line number a spreadsheet user can find) or ``ParsedFile.duplicates_in_file``.

Every data row that is not entirely empty ends up in exactly one of ``rows``, ``invalid`` and
``duplicates_in_file``; ``total_rows`` is their sum.

This module is the entry point, the limits and the report types; the steps live in
``engine.leads.lead_file`` (decoding, dialect, aliases, layout, rows, cells).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice

from engine.errors import UserInputError
from engine.leads.lead_file.cells import clean_value, one_line
from engine.leads.lead_file.decoding import decode_text, reject_known_binary
from engine.leads.lead_file.dialect import (
    SNIFF_ROWS,
    detect_delimiter,
    excel_sep_hint,
    first_nonempty,
    read_records,
)
from engine.leads.lead_file.layout import Layout, map_columns
from engine.leads.lead_file.names import natural_case, split_name, trim_name
from engine.leads.lead_file.rows import cell, strip_email, validate

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "MAX_COLUMNS",
    "LeadRow",
    "InvalidRow",
    "ParsedFile",
    "parse_leads_csv",
    "normalise_email_key",
]

MAX_FILE_BYTES = 20 * 1024 * 1024  # Telegram's bot download limit
MAX_ROWS = 200_000
MAX_COLUMNS = 1_000


@dataclass(frozen=True, slots=True)
class LeadRow:
    """One accepted lead. ``line`` is the physical line in the file where the record starts.

    ``timezone`` and ``country`` are the raw cells of those columns ("" without one), read by
    ``engine.zones.resolve_lead_zone``; they are in ``custom`` too."""

    line: int
    email: str
    first_name: str
    last_name: str
    company: str
    custom: dict[str, str]
    timezone: str = ""
    country: str = ""


@dataclass(frozen=True)
class InvalidRow:
    """A data row that cannot become a lead, with a one-line human reason."""

    line: int
    value: str
    reason: str


@dataclass
class ParsedFile:
    rows: list[LeadRow] = field(default_factory=list)
    invalid: list[InvalidRow] = field(default_factory=list)
    duplicates_in_file: list[int] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","
    columns: list[str] = field(default_factory=list)
    total_rows: int = 0
    #: The code page was a guess another one was about as likely to be right: the operator is
    #: shown ``first_names`` (the first two accepted rows' names, as read) to check.
    encoding_unsure: bool = False
    first_names: list[str] = field(default_factory=list)
    #: First and last name cells stored in natural case (they were all lower/upper case).
    recased: int = 0


def normalise_email_key(email: str) -> str:
    """The case-insensitive key two addresses are considered the same lead by."""
    email = email.strip()
    # Already lower-case (the usual case): keep the same string object; a 100,000-row import
    # would otherwise hold a second copy of every address.
    return email if email.islower() else email.lower()


def parse_leads_csv(
    data: bytes,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    max_rows: int = MAX_ROWS,
    check_deliverability: bool = False,
) -> ParsedFile:
    """Parse an uploaded lead list. Raises only :class:`UserInputError`, for whole-file problems."""
    try:
        return _parse(data, max_bytes, max_rows, check_deliverability)
    except UserInputError:
        raise
    except Exception as exc:  # never let a surprise escape as a crash of the upload handler
        raise UserInputError(
            f"Couldn't read this file as CSV ({type(exc).__name__}: {one_line(str(exc), 120)}). "
            "Open it in your spreadsheet app, save it as CSV (UTF-8) and send it again."
        ) from exc


# --------------------------------------------------------------------------- whole file


def _parse(data: bytes, max_bytes: int, max_rows: int, check_deliverability: bool) -> ParsedFile:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UserInputError("Expected the raw bytes of a CSV file. Send the file as a document.")
    data = bytes(data)
    if len(data) > max_bytes:
        raise UserInputError(
            f"The file is {_size(len(data), exact=False)}, over the {_size(max_bytes)} limit. "
            "Split it into smaller CSV files and send them one at a time."
        )
    if not data.strip():
        raise UserInputError(
            "The file is empty. Export your lead list as CSV with a header row "
            "(for example: email,first_name,last_name,company) and send it again."
        )
    reject_known_binary(data)
    decoded = decode_text(data)
    text, encoding = decoded.text, decoded.encoding
    if not text.strip(" \t\r\n\ufeff"):
        raise UserInputError(
            "The file has no content, only blank lines. Export your lead list as CSV with a "
            "header row (for example: email,first_name,last_name,company) and send it again."
        )

    text = text.rstrip("\r\n")  # trailing blank lines carry nothing
    skip_first_line, delimiter = excel_sep_hint(text)
    if delimiter is None:
        delimiter = detect_delimiter(text)

    records = read_records(text, delimiter)
    if skip_first_line:
        next(records, None)
    header_line, header = first_nonempty(records)
    if header is None:
        raise UserInputError(
            "The file has no header row. Put the column names in the first line "
            "(for example: email,first_name,last_name,company) and send it again."
        )
    if len(header) > MAX_COLUMNS:
        raise UserInputError(
            f"The file has {len(header):,} columns; the limit is {MAX_COLUMNS:,}. "
            "Delete the columns you don't need, save as CSV and send it again."
        )

    head = list(islice(records, SNIFF_ROWS))
    layout = map_columns(header, header_line, head, delimiter)
    if layout.headerless:
        head.insert(0, (header_line, header))

    result = ParsedFile(
        encoding=encoding,
        delimiter=delimiter,
        columns=list(layout.columns),
        total_rows=0,
        encoding_unsure=decoded.unsure,
    )
    _fill(result, chain(head, records), layout, max_rows, check_deliverability)
    shown = (" ".join(p for p in (r.first_name, r.last_name) if p) for r in result.rows)
    result.first_names = list(islice((name for name in shown if name), 2))
    return result


# --------------------------------------------------------------------------- rows


def _fill(
    result: ParsedFile,
    records: Iterator[tuple[int, list[str]]],
    layout: Layout,
    max_rows: int,
    check_deliverability: bool,
) -> None:
    seen: set[str] = set()
    domains: dict[str, tuple[str, str] | None] = {}
    rows_append = result.rows.append
    total = 0
    for line, cells in records:
        if not "".join(cells).strip():
            continue  # blank or ",,,," rows are skipped silently and not counted
        total += 1
        if total > max_rows:
            raise UserInputError(
                f"The file has more than {max_rows:,} rows, the limit per upload. "
                f"Split it into files of at most {max_rows:,} rows and send them one at a time."
            )
        raw_email = cells[layout.email] if layout.email < len(cells) else ""
        candidate = strip_email(raw_email)
        if not candidate:
            result.invalid.append(InvalidRow(line, "", "missing email"))
            continue
        email, error = validate(candidate, check_deliverability, domains)
        if email is None:
            shown = clean_value(raw_email)
            result.invalid.append(
                InvalidRow(
                    line,
                    shown,
                    f"'{one_line(shown, 80)}' is not a valid email address: {error}",
                )
            )
            continue
        key = normalise_email_key(email)
        if key in seen:
            result.duplicates_in_file.append(line)
            continue
        seen.add(key)
        lead, recased = _lead(line, email, cells, layout)
        rows_append(lead)
        result.recased += recased
    result.total_rows = total


def _name(raw: str) -> tuple[str, int]:
    """A name cell trimmed of quotes and in natural case; 1 if it had to be re-cased."""
    name = trim_name(raw) if raw else raw
    if name.islower() or name.isupper():
        cased = natural_case(name)
        return cased, int(cased != name)
    return name, 0


def _lead(line: int, email: str, cells: list[str], layout: Layout) -> tuple[LeadRow, int]:
    """The accepted row at ``line`` with the valid ``email``: names, company and custom fields
    (cells past the header's width become ``column_N``), and how many names were re-cased."""
    first = cell(cells, layout.first)
    last = cell(cells, layout.last)
    custom = {name: cell(cells, i) for i, name in layout.custom}
    if layout.full_name is not None:
        first, last = split_name(custom["name"], layout.full_name_order)
    first, recased_first = _name(first)
    last, recased_last = _name(last)
    width = len(layout.columns)
    if len(cells) > width:
        for i in range(width, min(len(cells), MAX_COLUMNS)):
            value = clean_value(cells[i])
            if value:
                custom[f"column_{i + 1}"] = value
    lead = LeadRow(
        line,
        email,
        first,
        last,
        cell(cells, layout.company),
        custom,
        timezone=cell(cells, layout.timezone),
        country=cell(cells, layout.country),
    )
    return lead, recased_first + recased_last


def _size(n: int, *, exact: bool = True) -> str:
    """Human size; ``exact=False`` keeps one decimal so "20.0 MB" never reads like the limit."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= scale:
            value = f"{n / scale:.1f}"
            if exact and value.endswith(".0") and n % scale == 0:
                value = value[:-2]
            return f"{value} {unit}"
    return f"{n} bytes"
