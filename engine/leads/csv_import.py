"""Pure parsing of uploaded lead lists: CSV bytes in, a :class:`ParsedFile` out.

No database and no Telegram here. Everything an operator can get wrong about the file as a
whole (empty, binary, an Excel workbook, too big, no email column) is a
:class:`~engine.errors.UserInputError` whose message says what was wrong and what to do.
Problems with single rows never raise: they are reported in ``ParsedFile.invalid`` (with the
physical line number a spreadsheet user can find) or ``ParsedFile.duplicates_in_file``.

Every data row that is not entirely empty ends up in exactly one of ``rows``, ``invalid`` and
``duplicates_in_file``; ``total_rows`` is their sum.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from engine.errors import UserInputError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "MAX_COLUMNS",
    "MAX_VALUE_CHARS",
    "EMAIL_HEADER_NAMES",
    "LeadRow",
    "InvalidRow",
    "ParsedFile",
    "parse_leads_csv",
    "normalise_email_key",
]

MAX_FILE_BYTES = 20 * 1024 * 1024  # Telegram's bot download limit
MAX_ROWS = 200_000
MAX_COLUMNS = 1_000
MAX_VALUE_CHARS = 1_000

# Header spellings, compared after _alias_key(): lowercase, accents dropped, and
# spaces / underscores / dashes removed ("E-Mail Address" -> "emailaddress").
_EMAIL_ALIASES = frozenset(
    {"email", "emailaddress", "mail", "workemail", "businessemail", "emails", "emailid"}
)
_FIRST_ALIASES = frozenset(
    {"firstname", "first", "givenname", "vorname", "prenom", "nombre", "forename"}
)
_LAST_ALIASES = frozenset({"lastname", "surname", "familyname", "nachname", "nom", "apellido"})
_COMPANY_ALIASES = frozenset(
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
_FULL_NAME_ALIASES = frozenset({"name", "fullname"})

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

_CANONICAL = ("email", "first_name", "last_name", "company")
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SNIFF_ROWS = 20  # rows looked at when guessing an unnamed email column

# C0 controls except tab, DEL, C1 controls, and the Unicode line/paragraph separators:
# everything str.splitlines() or a mail header parser could treat as a line break.
_CONTROL_RUN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]+")
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WHITESPACE_RUN = re.compile(r"\s+")
_HEADER_SEPARATORS = re.compile(r"[\s\-]+")
_HEADER_DROP = re.compile(r"[^a-z0-9_]")
_SEP_HINT = re.compile(r"sep=(.)[ \t]*\Z", re.IGNORECASE)
_QUOTE_OR_NEWLINE = re.compile(r'["\r\n]')
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
#: Characters a spreadsheet may read as the start of a formula. The export prefixes a cell that
#: starts with one of them with ``'``; the import removes exactly that prefix from the email.
FORMULA_START = "=+-@\t\r"

# A plain ASCII address that validate_email() is certain to accept unchanged except for the
# domain being lowercased. Anything else (IDN, quoted, odd characters) goes to validate_email.
_FAST_EMAIL = re.compile(
    r"([A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*)"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})\Z"
)
_ASCII_LOCAL = re.compile(r"[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*\Z")
_SPECIAL_TLDS = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_LOWERCASED_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)


@dataclass(frozen=True, slots=True)
class LeadRow:
    """One accepted lead. ``line`` is the physical line in the file where the record starts."""

    line: int
    email: str
    first_name: str
    last_name: str
    company: str
    custom: dict[str, str]


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
            f"Couldn't read this file as CSV ({type(exc).__name__}: {_one_line(str(exc), 120)}). "
            "Open it in your spreadsheet app, save it as CSV (UTF-8) and send it again."
        ) from exc


# --------------------------------------------------------------------------- whole-file steps


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
    _reject_known_binary(data)
    text, encoding = _decode(data)
    if not text.strip(" \t\r\n\ufeff"):
        raise UserInputError(
            "The file has no content, only blank lines. Export your lead list as CSV with a "
            "header row (for example: email,first_name,last_name,company) and send it again."
        )

    text = text.rstrip("\r\n")  # trailing blank lines carry nothing
    skip_first_line, delimiter = _excel_sep_hint(text)
    if delimiter is None:
        delimiter = _detect_delimiter(text)

    records = _records(text, delimiter)
    if skip_first_line:
        next(records, None)
    header_line, header = _first_nonempty(records)
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

    head = list(islice(records, _SNIFF_ROWS))
    layout = _layout(header, header_line, head, delimiter)
    if layout.headerless:
        head.insert(0, (header_line, header))

    result = ParsedFile(
        encoding=encoding, delimiter=delimiter, columns=list(layout.columns), total_rows=0
    )
    _fill(result, chain(head, records), layout, max_rows, check_deliverability)
    return result


def _reject_known_binary(data: bytes) -> None:
    if data.startswith(b"PK\x03\x04"):
        raise UserInputError(
            "That looks like an Excel file (.xlsx) or another zip archive; save it as CSV. "
            "In Excel or Google Sheets use File > Save as / Download > CSV, and send that file."
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UserInputError(
            "That looks like an old Excel file (.xls); save it as CSV. "
            "In Excel use File > Save as > CSV (UTF-8), and send that file."
        )
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise UserInputError(
                f"That looks like {what}, not a CSV file. "
                "Export your lead list from your spreadsheet app as CSV and send that file."
            )


def _binary_error() -> UserInputError:
    return UserInputError(
        "That doesn't look like a text/CSV file (it contains binary data). "
        "If it is a spreadsheet, save it as CSV (UTF-8) and send that file instead."
    )


def _decode(data: bytes) -> tuple[str, str]:
    """Decode with BOM detection, then strict UTF-8, then cp1252, then Latin-1."""
    encoding: str
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    elif b"\x00" in data:
        guess = _utf16_without_bom(data)
        if guess is None:
            raise _binary_error()
        candidates = [guess]
    else:
        candidates = ["utf-8", "cp1252", "latin-1"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        break
    else:
        raise _binary_error()
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise _binary_error()
    sample = text[:65_536]
    if sample and len(_BINARY_CHARS.findall(sample)) > max(2, len(sample) // 50):
        raise _binary_error()
    return text, encoding


def _utf16_without_bom(data: bytes) -> str | None:
    """Excel/Windows sometimes write UTF-16 without a BOM: ASCII text with NULs interleaved."""
    if len(data) % 2:
        return None
    sample = data[:4096]
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls >= 0.9 * half and even_nuls < 0.1 * half:
        return "utf-16-le"
    if even_nuls >= 0.9 * half and odd_nuls < 0.1 * half:
        return "utf-16-be"
    return None


def _excel_sep_hint(text: str) -> tuple[bool, str | None]:
    """Excel's ``sep=;`` first line names the delimiter; it is not the header."""
    first = text[:64].splitlines()[0] if text[:64] else ""
    match = _SEP_HINT.match(first.strip().strip('"'))
    if match is None:
        return False, None
    sep = match.group(1)
    return True, sep if sep not in '\r\n"' else ","


def _detect_delimiter(text: str) -> str:
    """Pick the delimiter that occurs most often outside quotes in the header line."""
    counts = _count_outside_quotes(_header_text(text))
    best = max(_DELIMITERS, key=lambda d: counts[d])  # ties: earliest in _DELIMITERS wins
    if counts[best] > 0:
        return best
    # A header without any delimiter is a single-column file unless the data says otherwise.
    lines = [ln for ln in text[:65_536].splitlines()[1:_SNIFF_ROWS] if ln.strip()]
    if lines:
        try:
            sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(_DELIMITERS))
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
    counts = dict.fromkeys(_DELIMITERS, 0)
    # Quoted parts are the odd-numbered chunks when splitting on '"' ("" escapes cancel out).
    for outside in line.split('"')[0::2]:
        for d in _DELIMITERS:
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


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
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
                f"Line {previous_end + 1} can't be read as CSV ({_one_line(str(exc), 120)}). "
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


def _first_nonempty(
    records: Iterator[tuple[int, list[str]]],
) -> tuple[int, list[str] | None]:
    for line, cells in records:
        if any(c.strip(" \t\r\n\ufeff") for c in cells):
            return line, cells
    return 0, None


# --------------------------------------------------------------------------- header mapping


@dataclass
class _Layout:
    columns: list[str]
    email: int
    first: int | None
    last: int | None
    company: int | None
    full_name: int | None
    custom: list[tuple[int, str]]
    headerless: bool


def _clean_header(raw: str) -> str:
    return raw.strip().strip("\ufeff").strip().strip("\"'`").strip()


def _normalise_header(raw: str) -> str:
    """Lowercase, accents dropped, spaces/dashes to underscores, anything not [a-z0-9_] removed."""
    text = unicodedata.normalize("NFKD", _clean_header(raw))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _HEADER_SEPARATORS.sub("_", text)
    return _HEADER_DROP.sub("", text).strip("_")


def _alias_key(normalised: str) -> str:
    return normalised.replace("_", "")


def _layout(
    header: list[str],
    header_line: int,
    head: list[tuple[int, list[str]]],
    delimiter: str,
) -> _Layout:
    normalised = [_normalise_header(h) for h in header]
    keys = [_alias_key(n) for n in normalised]

    def find(aliases: frozenset[str]) -> int | None:
        return next((i for i, k in enumerate(keys) if k in aliases), None)

    email = find(_EMAIL_ALIASES)
    headerless = False
    if email is None:
        # A bare list of addresses without a header row: the "header" is itself an address.
        in_header = [i for i, h in enumerate(header) if _quick_valid(h)]
        if len(in_header) == 1:
            headerless = True
            email = in_header[0]
            normalised = [""] * len(header)
            keys = [""] * len(header)
        else:
            email = _guess_email_column(len(header), head)
    if email is None:
        raise UserInputError(_no_email_message(header, delimiter, header_line))

    first = find(_FIRST_ALIASES)
    last = find(_LAST_ALIASES)
    company = find(_COMPANY_ALIASES)
    full_name = find(_FULL_NAME_ALIASES) if first is None and last is None else None

    used = {email: "email"}
    if first is not None:
        used[first] = "first_name"
    if last is not None:
        used[last] = "last_name"
    if company is not None:
        used[company] = "company"
    reserved = set(_CANONICAL)
    if full_name is not None:
        used[full_name] = "name"
        reserved.add("name")

    columns: list[str] = []
    custom: list[tuple[int, str]] = []
    for i, name in enumerate(normalised):
        if i in used:
            columns.append(used[i])
            if used[i] == "name":
                custom.append((i, "name"))
            continue
        if not name or name in reserved:
            name = f"column_{i + 1}"
        while name in reserved:  # a literal "column_3" header elsewhere
            name = f"{name}_"
        reserved.add(name)
        columns.append(name)
        custom.append((i, name))
    return _Layout(columns, email, first, last, company, full_name, custom, headerless)


def _guess_email_column(width: int, head: list[tuple[int, list[str]]]) -> int | None:
    """Exactly one column whose first cells are mostly valid addresses is the email column."""
    rows = [cells for _, cells in head if any(c.strip() for c in cells)]
    if not rows:
        return None
    candidates = []
    for col in range(width):
        valid = sum(1 for cells in rows if col < len(cells) and _quick_valid(cells[col]))
        if valid and valid >= 0.8 * len(rows):
            candidates.append(col)
    return candidates[0] if len(candidates) == 1 else None


def _no_email_message(header: list[str], delimiter: str, line: int) -> str:
    found = [_one_line(_clean_header(h), 40) for h in header[:30]]
    shown = ", ".join(f'"{h}"' for h in found if h) or "(none: the header row is empty)"
    if len(header) > 30:
        shown += f", … ({len(header)} in total)"
    accepted = ", ".join(f'"{n}"' for n in EMAIL_HEADER_NAMES)
    hint = ""
    if len(header) == 1 and any(d in header[0] for d in _DELIMITERS if d != delimiter):
        hint = " The columns may be separated by something unusual; use commas or semicolons."
    return (
        f"No email column found in the header row (line {line}). Columns found: {shown}. "
        f"Name the column that holds the addresses one of: {accepted} "
        "(any upper/lower case), then send the file again." + hint
    )


# --------------------------------------------------------------------------- rows


def _fill(
    result: ParsedFile,
    records: Iterator[tuple[int, list[str]]],
    layout: _Layout,
    max_rows: int,
    check_deliverability: bool,
) -> None:
    seen: set[str] = set()
    domains: dict[str, tuple[str, str] | None] = {}
    width = len(layout.columns)
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
        candidate = _strip_email(raw_email)
        if not candidate:
            result.invalid.append(InvalidRow(line, "", "missing email"))
            continue
        email, error = _validate(candidate, check_deliverability, domains)
        if email is None:
            shown = _clean_value(raw_email)
            result.invalid.append(
                InvalidRow(
                    line,
                    shown,
                    f"'{_one_line(shown, 80)}' is not a valid email address: {error}",
                )
            )
            continue
        key = normalise_email_key(email)
        if key in seen:
            result.duplicates_in_file.append(line)
            continue
        seen.add(key)

        first = _cell(cells, layout.first)
        last = _cell(cells, layout.last)
        custom = {name: _cell(cells, i) for i, name in layout.custom}
        if layout.full_name is not None:
            first, last = _split_name(custom["name"])
        if len(cells) > width:
            for i in range(width, min(len(cells), MAX_COLUMNS)):
                value = _clean_value(cells[i])
                if value:
                    custom[f"column_{i + 1}"] = value
        rows_append(LeadRow(line, email, first, last, _cell(cells, layout.company), custom))
    result.total_rows = total


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return _clean_value(cells[index])


def _strip_email(raw: str) -> str:
    value = raw.strip().strip(_INVISIBLE).strip()
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_START:
        value = value[1:]  # our export's formula protection ('-f3@… is -f3@…)
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    if value[:7].lower() == "mailto:":
        value = value[7:].strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return value


def _validate(
    value: str, check_deliverability: bool, domains: dict[str, tuple[str, str] | None] | None = None
) -> tuple[str | None, str]:
    """Return ``(normalised address, "")`` or ``(None, one-line reason)``.

    ``domains`` caches validated non-ASCII (IDN) domains for the duration of one parse: their
    IDNA check is ~10x slower than everything else, and lists repeat domains a lot.
    """
    if not check_deliverability:
        fast = _fast_normalised(value)
        if fast is not None:
            return fast, ""
        if domains is not None:
            cached = _cached_domain_normalised(value, domains)
            if cached is not None:
                return cached, ""
    if len(value) > 320:
        return None, "it is far too long to be an email address."
    try:
        info = validate_email(value, check_deliverability=check_deliverability)
    except EmailNotValidError as exc:
        return None, _one_line(str(exc), 200)
    return info.normalized, ""


def _cached_domain_normalised(value: str, domains: dict[str, tuple[str, str] | None]) -> str | None:
    local, at, domain = value.rpartition("@")
    if not at or _ASCII_LOCAL.match(local) is None or len(domain) > 255:
        return None
    if domain in domains:
        known = domains[domain]
    else:
        try:
            info = validate_email("a@" + domain, check_deliverability=False)
            known = (info.domain, info.ascii_domain)
        except EmailNotValidError:
            known = None  # let the full validation produce the precise reason
        domains[domain] = known
    if known is None:
        return None
    if local.lower() in _LOWERCASED_MAILBOXES:
        local = local.lower()
    normalised = f"{local}@{known[0]}"
    for form in (value, normalised, f"{local}@{known[1]}"):
        if len(form.encode("utf-8")) > 254:
            return None  # the full validation words the length error
    return normalised


def _fast_normalised(value: str) -> str | None:
    """The normalised form for plain ASCII addresses, without calling validate_email."""
    if len(value) > 254:
        return None
    match = _FAST_EMAIL.match(value)
    if match is None:
        return None
    local, domain = match.group(1), match.group(2).lower()
    if "--" in domain or domain.rsplit(".", 1)[-1] in _SPECIAL_TLDS:
        return None
    if local.lower() in _LOWERCASED_MAILBOXES:
        local = local.lower()
    return f"{local}@{domain}"


def _quick_valid(value: str) -> bool:
    candidate = _strip_email(value)
    if not candidate or "@" not in candidate:
        return False
    return _validate(candidate, False)[0] is not None


def _clean_value(raw: str) -> str:
    """Strip, turn any run of line breaks/control characters into one space, cap the length."""
    value = raw.strip()
    if not value.isprintable():
        value = _CONTROL_RUN.sub(" ", value).strip()
    if len(value) > MAX_VALUE_CHARS:
        value = value[:MAX_VALUE_CHARS].rstrip()
    return value


def _split_name(full: str) -> tuple[str, str]:
    """ "Ada Lovelace" -> ("Ada", "Lovelace"); "Lovelace, Ada" -> ("Ada", "Lovelace")."""
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    parts = full.split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def _one_line(text: str, limit: int) -> str:
    text = _WHITESPACE_RUN.sub(" ", _CONTROL_RUN.sub(" ", text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _size(n: int, *, exact: bool = True) -> str:
    """Human size; ``exact=False`` keeps one decimal so "20.0 MB" never reads like the limit."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= scale:
            value = f"{n / scale:.1f}"
            if exact and value.endswith(".0") and n % scale == 0:
                value = value[:-2]
            return f"{value} {unit}"
    return f"{n} bytes"
