"""Text to CSV records: the delimiter, Excel's ``sep=`` line, and records with their line numbers.

The delimiter is the one of :data:`DELIMITERS` seen most often outside quotes in the header
line (``csv.Sniffer`` only for a header without any). :func:`read_records` yields every
record with the physical line it starts on, and refuses a quote that is opened and never closed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from engine.errors import UserInputError
from engine.leads.lead_file.cells import one_line

__all__ = [
    "DELIMITERS",
    "SNIFF_ROWS",
    "detect_delimiter",
    "excel_sep_hint",
    "first_nonempty",
    "read_records",
]

DELIMITERS = (",", ";", "\t", "|")

SNIFF_ROWS = 20  # rows looked at when guessing an unnamed email column

_SEP_HINT = re.compile(r"sep=(.)[ \t]*\Z", re.IGNORECASE)

_QUOTE_OR_NEWLINE = re.compile(r'["\r\n]')


def excel_sep_hint(text: str) -> tuple[bool, str | None]:
    """Excel's ``sep=;`` first line names the delimiter; it is not the header."""
    first = text[:64].splitlines()[0] if text[:64] else ""
    match = _SEP_HINT.match(first.strip().strip('"'))
    if match is None:
        return False, None
    sep = match.group(1)
    return True, sep if sep not in '\r\n"' else ","


def detect_delimiter(text: str) -> str:
    """Pick the delimiter that occurs most often outside quotes in the header line."""
    counts = _count_outside_quotes(_header_text(text))
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: earliest in DELIMITERS wins
    if counts[best] > 0:
        return best
    # A header without any delimiter is a single-column file unless the data says otherwise.
    lines = [ln for ln in text[:65_536].splitlines()[1:SNIFF_ROWS] if ln.strip()]
    if lines:
        try:
            sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS))
            if all(sniffed.delimiter in ln for ln in lines):
                return sniffed.delimiter
        except csv.Error:
            pass
    return ","


def _header_text(text: str) -> str:
    """The first non-blank logical line (an embedded newline inside quotes does not end it)."""
    start = len(text) - len(text.lstrip("\r\n \t"))
    window = text[start : start + 262_144]
    in_quotes = False
    for match in _QUOTE_OR_NEWLINE.finditer(window):
        if match.group() == '"':
            in_quotes = not in_quotes
        elif not in_quotes:
            return window[: match.start()]
    return window


def _count_outside_quotes(line: str) -> dict[str, int]:
    counts = dict.fromkeys(DELIMITERS, 0)
    # Quoted parts are the odd-numbered chunks when splitting on '"' ("" escapes cancel out).
    for outside in line.split('"')[0::2]:
        for d in DELIMITERS:
            counts[d] += outside.count(d)
    return counts


_LONE_CR = re.compile(r"\r(?!\n)")


def _physical_lines(text: str) -> Iterator[str]:
    """The text's lines, ends kept, one at a time. (``io.StringIO`` would first copy the whole
    text into a buffer of 4 bytes per character: 28 MB for a 7 MB upload.) Files whose lines
    end in a lone CR fall back to StringIO, which splits on it."""
    if _LONE_CR.search(text):
        yield from io.StringIO(text, newline="")
        return
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def read_records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(physical start line, cells)`` for every CSV record, blank ones included."""
    reader = csv.reader(
        _physical_lines(text),
        delimiter=delimiter,
        quotechar='"',
        doublequote=True,
        skipinitialspace=False,
        strict=False,
    )
    previous_end = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UserInputError(
                f"Line {previous_end + 1} can't be read as CSV ({one_line(str(exc), 120)}). "
                'This usually means a stray quote (") or a huge cell; fix that line in your '
                "spreadsheet, save as CSV and send it again."
            ) from exc
        start = previous_end + 1
        previous_end = reader.line_num
        if not cells:
            continue  # a blank line
        if previous_end - start > 1:
            _check_unclosed_quote(cells, start, delimiter)
        yield start, cells


def _check_unclosed_quote(cells: list[str], line: int, delimiter: str) -> None:
    """A multi-line cell that itself contains several CSV-looking lines with '@' in them is
    almost certainly an opening quote that is never closed, swallowing the rest of the file."""
    for cell in cells:
        if "\n" not in cell and "\r" not in cell:
            continue
        swallowed = sum(1 for ln in cell.splitlines() if delimiter in ln and "@" in ln)
        if swallowed >= 2:
            raise UserInputError(
                f'Line {line}: a quote (") is opened but never closed, so the lines after it '
                "would be read as one cell and those leads lost. Remove or close that quote, "
                "save as CSV and send it again."
            )


def first_nonempty(
    records: Iterator[tuple[int, list[str]]],
) -> tuple[int, list[str] | None]:
    for line, cells in records:
        if any(c.strip(" \t\r\n\ufeff") for c in cells):
            return line, cells
    return 0, None
