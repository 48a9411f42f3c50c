"""Excel workbooks: which bytes are one, and an .xlsx sheet read as UTF-8 CSV for the CSV steps.

People keep lead lists in Excel more than in CSV files, so an ``.xlsx`` (or ``.xlsm``) document
is read like a CSV: the sheet named ``leads`` (any case), else the first one. It is turned into
CSV text in memory and then goes through exactly the same steps as an uploaded CSV (header
aliases, names, validation), so both kinds of file give the same leads and the same report.

* The kind of a file is decided by its first bytes, never by its name alone: a zip (``PK``) is
  a workbook, an OLE container (``D0 CF 11 E0``) is either a password-protected workbook
  (Excel encrypts into OLE, with an ``EncryptedPackage`` stream) or an old binary ``.xls``.
  Both OLE kinds are refused with what to do; openpyxl cannot read either.
* openpyxl is imported only when a workbook arrives (it costs memory at idle), in read-only
  streaming mode with cached values (``data_only``): a 100,000-row sheet is never held as
  cell objects, and a formula reads as the value the spreadsheet app saved with it. A formula
  saved without a value (files written by scripts, never opened in a spreadsheet app) reads
  as empty, and :class:`Workbook` counts them so the report can say so.
* Macros (``.xlsm``) are never run: openpyxl does not run anything, and the macro part is not
  even loaded; the report says they were ignored.
* Cells become text as a person reads them: whole numbers without ``.0`` (a phone number is
  never ``4.9151e+12``), fixed decimals as the cell's format asks, percentages with ``%``,
  dates ISO ``YYYY-MM-DD`` (with ``HH:MM`` when the format shows a time), booleans
  ``TRUE``/``FALSE``. Line breaks inside a cell become spaces, so CSV line N is sheet row N and
  the report's line numbers are the sheet's row numbers.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from engine.errors import UserInputError

__all__ = [
    "FileKind",
    "Workbook",
    "file_kind",
    "read_workbook",
]

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
# The stream name of an encrypted OOXML package, as an OLE directory stores it (UTF-16LE).
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")

#: The most CSV text one sheet may become: a zip of 20 MB can inflate a lot (a zip bomb), and
#: the row limit alone does not bound a sheet of very wide or very long cells.
MAX_TEXT_BYTES = 200 * 1024 * 1024
#: Rows read at most (Excel's own limit); blank rows count, so a sheet of a million empty rows
#: ends here instead of running on.
MAX_SHEET_ROWS = 1_048_576
#: Columns read at most (one past the CSV steps' limit, so they still say there are too many).
MAX_COLUMNS_READ = 1_001

_MACRO_PART = "xl/vbaProject.bin"

# A formula cell saved without its value: ``<f>…</f>`` then ``<v></v>``, ``<v/>`` or the end
# of the cell. Counted on the sheet's XML; linear (fixed strings, no nested quantifiers).
_UNCACHED_FORMULA = re.compile(rb"(?:</f>|<f(?: [^<>/]*)?/>)(?:<v ?/>|<v></v>|</c>)")

_DECIMALS = re.compile(r"0\.(0+)")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


class FileKind(StrEnum):
    """What an upload is, by its first bytes."""

    CSV = "csv"  # anything that is not a workbook: the CSV steps judge it
    XLSX = "xlsx"  # a zip: .xlsx / .xlsm (or a zip that is not a workbook at all)
    ENCRYPTED = "encrypted"  # a password-protected Excel workbook
    XLS = "xls"  # an old binary Excel file (or another OLE document)


def file_kind(data: bytes) -> FileKind:
    """The kind of ``data`` by its content (a file's name can lie)."""
    if data.startswith(ZIP_MAGIC):
        return FileKind.XLSX
    if data.startswith(OLE_MAGIC):
        return FileKind.ENCRYPTED if _ENCRYPTED_STREAM in data else FileKind.XLS
    return FileKind.CSV


@dataclass(frozen=True)
class Workbook:
    """One sheet of a workbook as UTF-8 CSV bytes, and what the report says about where it
    came from."""

    csv: bytes
    sheet: str
    sheets: int  # how many sheets the workbook has
    macros_ignored: bool
    formulas_without_value: int


def refuse(kind: FileKind) -> None:
    """Raise the answer for a file that cannot be read (an OLE container)."""
    if kind is FileKind.ENCRYPTED:
        raise UserInputError(
            "That Excel file is password-protected, so it can't be read. Open it in Excel, "
            "remove the password (File → Info → Protect Workbook → Encrypt with Password, "
            "clear it) or save a copy as .xlsx or CSV without one, and send that file."
        )
    if kind is FileKind.XLS:
        raise UserInputError(
            "That is an old Excel file (.xls), which can't be read here. Open it in Excel or "
            "Google Sheets and save it as .xlsx or CSV (File → Save as), then send that file."
        )


def read_workbook(data: bytes, *, max_rows: int) -> Workbook:
    """The ``leads`` sheet (any case), else the first sheet, as CSV bytes. Raises
    :class:`UserInputError` for anything that is not a readable workbook."""
    kind = file_kind(data)
    refuse(kind)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _corrupt() from exc
    if "xl/workbook.xml" not in names and not any(n.startswith("xl/") for n in names):
        raise UserInputError(
            "That is a zip archive, not an Excel workbook. Send the lead list itself, as "
            ".xlsx or CSV."
        )
    try:
        return _read(data, archive, names, max_rows)
    except UserInputError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise _corrupt() from exc
    finally:
        archive.close()


def _corrupt() -> UserInputError:
    return UserInputError(
        "That Excel file is damaged and can't be read (it is not a complete .xlsx). Open it in "
        "Excel or Google Sheets, save it again as .xlsx or CSV, and send that file."
    )


def _read(data: bytes, archive: zipfile.ZipFile, names: set[str], max_rows: int) -> Workbook:
    """openpyxl's reader, run up to the styles: its ``load_workbook(read_only=True)`` would
    also open every sheet, and parse each whole sheet that does not state its size (files
    written by scripts) before a single row is read."""
    # Imported lazily: only an Excel upload pays for openpyxl (see bench/RESULTS.md).
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = ExcelReader(
        io.BytesIO(data), read_only=True, keep_vba=False, data_only=True, keep_links=False
    )
    try:
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = [
            (sheet.name, rel.target)
            for sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        ]
        if not sheets:
            raise UserInputError("That Excel file has no sheets. Add the leads and send it again.")
        title, path = next((s for s in sheets if s[0].strip().casefold() == "leads"), sheets[0])
        text = _sheet_csv(reader.wb, reader.shared_strings, reader.archive, path, max_rows)
        return Workbook(
            csv=text,
            sheet=title,
            sheets=len(sheets),
            macros_ignored=_MACRO_PART in names,
            formulas_without_value=_count_uncached(archive, path),
        )
    finally:
        reader.archive.close()


def _sheet_csv(
    book: Any, strings: Any, archive: zipfile.ZipFile, path: str, max_rows: int
) -> bytes:
    """The sheet as UTF-8 CSV, every cell quoted (so the CSV steps cannot take a comma or a
    semicolon inside a cell for a delimiter). Stops past ``max_rows`` rows that hold
    something, so the CSV steps still see that there are too many.

    The sheet's XML is read by openpyxl's own streaming parser, not ``iter_rows``: that
    trusts the size a sheet states (a wrong one cuts rows off) and makes a cell object per
    cell; this is about twice as fast."""
    out = io.StringIO()
    write = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow
    formats = _number_formats(book)
    filled = 0
    expected = 1  # the next row number: rows the XML leaves out are blank lines
    with archive.open(path) as source:
        for number, cells in _parser(book, strings, source).parse():
            if number > MAX_SHEET_ROWS:
                break
            while expected < number:
                write(())
                expected += 1
            expected = number + 1
            row = _row(cells, formats)
            write(row)
            if row:
                filled += 1
                if filled > max_rows + 1:  # the header and one row past the limit
                    break
            if out.tell() > MAX_TEXT_BYTES:
                raise UserInputError(
                    "That Excel sheet holds far more text than a lead list (over 200 MB as "
                    "CSV). Keep only the lead columns and rows, and send it again."
                )
    return out.getvalue().encode("utf-8")


def _parser(book: Any, strings: Any, source: Any) -> Any:
    """openpyxl's sheet parser, with inline strings (what scripts and openpyxl itself write)
    read without building openpyxl's rich-text objects."""
    from openpyxl.worksheet._reader import INLINE_STRING, WorkSheetParser

    text_tag = INLINE_STRING[: -len("is")] + "t"

    class Parser(WorkSheetParser):
        def parse_cell(self, element: Any) -> dict[str, Any]:
            if element.get("t") != "inlineStr":
                return dict(super().parse_cell(element))
            child = element.find(INLINE_STRING)
            value = None if child is None else "".join(t.text or "" for t in child.iter(text_tag))
            return {"column": element.get("r"), "value": value, "style_id": 0}

    return Parser(
        source,
        strings,
        data_only=True,
        epoch=book.epoch,
        date_formats=book._date_formats,
        timedelta_formats=book._timedelta_formats,
    )


def _number_formats(book: Any) -> list[str]:
    """Each cell style's number format, by the style id a cell carries."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE

    formats = []
    for style in book._cell_styles:
        fid = style.numFmtId
        if fid < BUILTIN_FORMATS_MAX_SIZE:
            formats.append(BUILTIN_FORMATS.get(fid, "General"))
        else:
            formats.append(book._number_formats[fid - BUILTIN_FORMATS_MAX_SIZE])
    return formats


def _row(cells: list[dict[str, Any]], formats: list[str]) -> list[str]:
    """One row's cells as text, in their columns (gaps are empty), trailing blanks dropped."""
    out: list[str] = []
    for position, cell in enumerate(cells, start=1):
        value = cell["value"]
        if value is None:
            continue
        index = _column_index(cell["column"], position)
        if index > MAX_COLUMNS_READ:
            break
        if isinstance(value, str):
            if "\n" in value or "\r" in value or "\u2028" in value or "\u2029" in value:
                value = _LINE_BREAKS.sub(" ", value)
            text = value
        else:
            style = cell["style_id"] or 0
            text = format_value(value, formats[style] if style < len(formats) else "General")
        if not text:
            continue
        while len(out) < index - 1:
            out.append("")
        out.append(text)
    return out


def _column_index(column: Any, position: int) -> int:
    """A cell's 1-based column: openpyxl's number, or the letters of an ``r`` like ``AB12``."""
    if isinstance(column, int):
        return column
    index = 0
    for ch in str(column or ""):
        if "A" <= ch <= "Z":
            index = index * 26 + ord(ch) - 64
        else:
            break
    return index or position


# Excel's built-in short date (id 14) is stored as "mm-dd-yy" but shown in the reader's
# locale: which one cannot be known here, so it (and any format not understood) reads as ISO.
_LOCALE_DATE_FORMATS = frozenset({"mm-dd-yy", "m/d/yy", "m/d/yyyy", "general"})
_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()


def _date_tokens(number_format: str) -> list[str] | None:
    """An explicit date format (``dd.mm.yyyy``, ``d mmm yyyy``, ``yyyy/mm/dd hh:mm``) as tokens:
    letters runs (``yyyy``, ``mm``, ``d``, ``hh``…) and literal text; None when it is not one
    this reader renders (a locale-dependent or numeric format). A plain scan, no regex."""
    fmt = number_format.split(";", 1)[0]
    while fmt.startswith("["):  # [$-409], [Red], [h]…: locale and colour prefixes
        end = fmt.find("]")
        if end < 0 or fmt[1:2] in ("h", "m", "s"):
            return None
        fmt = fmt[end + 1 :]
    if fmt.lower() in _LOCALE_DATE_FORMATS or len(fmt) > 60:
        return None
    tokens: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        low = ch.lower()
        if low in "ymdhs":
            j = i
            while j < len(fmt) and fmt[j].lower() == low:
                j += 1
            tokens.append(fmt[i:j].lower())
            i = j
        elif ch == '"':
            end = fmt.find('"', i + 1)
            if end < 0:
                return None
            tokens.append("'" + fmt[i + 1 : end])
            i = end + 1
        elif ch == "\\" and i + 1 < len(fmt):
            tokens.append("'" + fmt[i + 1])
            i += 2
        elif ch in " ./-,:":
            tokens.append("'" + ch)
            i += 1
        elif fmt[i : i + 5].lower() == "am/pm":
            tokens.append("ampm")
            i += 5
        else:
            return None  # a number format, or something this reader does not know
    if not any(tok[0] in "yd" or tok == "mmm" or tok == "mmmm" for tok in tokens):
        return None
    return tokens


def _render_date(value: datetime, tokens: list[str]) -> str:
    """``value`` by the tokens of its format; ``m``/``mm`` right after an hour or before a
    second is minutes, as in Excel."""
    out: list[str] = []
    twelve = "ampm" in tokens
    kinds = [tok for tok in tokens if not tok.startswith("'")]
    k = -1  # the position of ``tok`` among the non-literal tokens
    for tok in tokens:
        if tok.startswith("'"):
            out.append(tok[1:])
            continue
        k += 1
        before = kinds[k - 1] if k > 0 else ""
        after = kinds[k + 1] if k + 1 < len(kinds) else ""
        minutes = tok in ("m", "mm") and (before.startswith("h") or after.startswith("s"))
        if tok.startswith("y"):
            out.append(f"{value.year:04d}" if len(tok) > 2 else f"{value.year % 100:02d}")
        elif minutes:
            out.append(f"{value.minute:02d}" if tok == "mm" else str(value.minute))
        elif tok.startswith("m"):
            n = len(tok)
            name = _MONTHS[value.month - 1]
            out.append(
                str(value.month)
                if n == 1
                else f"{value.month:02d}"
                if n == 2
                else name[:3]
                if n == 3
                else name[0]
                if n == 5
                else name
            )
        elif tok.startswith("d"):
            n = len(tok)
            day = _DAYS[value.weekday()]
            out.append(
                str(value.day)
                if n == 1
                else f"{value.day:02d}"
                if n == 2
                else day[:3]
                if n == 3
                else day
            )
        elif tok.startswith("h"):
            hour = value.hour % 12 or 12 if twelve else value.hour
            out.append(f"{hour:02d}" if len(tok) > 1 else str(hour))
        elif tok.startswith("s"):
            out.append(f"{value.second:02d}" if len(tok) > 1 else str(value.second))
        elif tok == "ampm":
            out.append("AM" if value.hour < 12 else "PM")
    return "".join(out)


def format_value(value: object, number_format: str) -> str:
    """A non-text cell value as text, by the cell's number format: a date as an explicit date
    format shows it (``dd.mm.yyyy`` → ``05.12.2026``), else as ISO ``YYYY-MM-DD``."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime | date) and (tokens := _date_tokens(number_format)):
        shown = value if isinstance(value, datetime) else datetime.combine(value, time(0))
        return _render_date(shown, tokens)
    if isinstance(value, datetime):
        if value.time() == time(0) and not _shows_time(number_format):
            return value.date().isoformat()
        if value.second or value.microsecond:
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value, number_format)
    return str(value)


def _shows_time(number_format: str) -> bool:
    fmt = number_format.lower()
    return "h" in fmt or "ss" in fmt or "am/pm" in fmt


def _number(value: float, number_format: str) -> str:
    """Whole numbers without ``.0`` and never in scientific notation; a format's fixed decimals,
    thousands separator and percent sign kept, as the sheet shows them."""
    if value != value or value in (float("inf"), float("-inf")):
        return ""
    percent = "%" in number_format
    if percent:
        value *= 100
    decimals = _DECIMALS.search(number_format)
    grouped = "#,##" in number_format or "0,0" in number_format  # thousands shown as 1,234
    comma = "," if grouped else ""
    if decimals is not None:
        text = f"{value:{comma}.{len(decimals.group(1))}f}"
    elif value.is_integer() and abs(value) < 1e21:
        text = f"{int(value):{comma}}"
    else:
        text = repr(value)
        if "e" in text or "E" in text:
            text = f"{value:.15f}".rstrip("0").rstrip(".")
        if percent:
            text = f"{round(value, 10):.10f}".rstrip("0").rstrip(".")
    return text + "%" if percent else text


def _count_uncached(archive: zipfile.ZipFile, path: str) -> int:
    """How many formula cells of the chosen sheet were saved without a value (they read as
    empty). Streams the sheet's XML in chunks."""
    count = 0
    tail = b""
    with archive.open(path) as part:
        while True:
            chunk = part.read(1 << 20)
            if not chunk:
                break
            block = tail + chunk
            # Matches are short; keep the last 64 bytes for one that spans two chunks, and
            # count only the matches that start before them.
            keep = max(0, len(block) - 64)
            count += sum(1 for m in _UNCACHED_FORMULA.finditer(block) if m.start() < keep)
            tail = block[keep:]
    count += sum(1 for _ in _UNCACHED_FORMULA.finditer(tail))
    return count
