"""The header row to a :class:`Layout`: which column is the email, the names, the company, and
what every other column is called as a custom field. The timezone and country columns are
found too; they stay custom fields as well (a template may say ``{{country}}``).

Without an email header, a header row that is itself one address means a bare list, and
otherwise exactly one column whose first rows are mostly addresses is taken. If none is found
the operator is told which columns were seen and which names are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import UserInputError
from engine.leads.lead_file.aliases import (
    AMBIGUOUS_NAME_ALIASES,
    COMPANY_ALIASES,
    COUNTRY_ALIASES,
    EMAIL_ALIASES,
    EMAIL_HEADER_NAMES,
    FIO_ALIASES,
    FIRST_ALIASES,
    FULL_NAME_ALIASES,
    JAPANESE_NAME_ALIASES,
    LAST_ALIASES,
    TIMEZONE_ALIASES,
    clean_header,
    header_key,
    normalise_header,
)
from engine.leads.lead_file.cells import one_line
from engine.leads.lead_file.dialect import DELIMITERS
from engine.leads.lead_file.rows import quick_valid

__all__ = ["Layout", "map_columns"]

_CANONICAL = ("email", "first_name", "last_name", "company")


@dataclass
class Layout:
    columns: list[str]
    email: int
    first: int | None
    last: int | None
    company: int | None
    full_name: int | None
    custom: list[tuple[int, str]]
    headerless: bool
    timezone: int | None = None
    country: int | None = None
    #: How the full-name column orders its words: "" given name first, "fio" Russian
    #: Фамилия Имя Отчество, "ja" a Japanese name kept whole when written without a space.
    full_name_order: str = ""


def map_columns(
    header: list[str],
    header_line: int,
    head: list[tuple[int, list[str]]],
    delimiter: str,
) -> Layout:
    """The layout of a file whose header row (at ``header_line``) is ``header`` and whose first
    data rows are ``head``. Raises :class:`UserInputError` if no column holds the addresses."""
    normalised = [normalise_header(h) for h in header]
    keys = [header_key(h) for h in header]
    email, headerless = _email_column(header, keys, head)
    if email is None:
        raise UserInputError(_no_email_message(header, delimiter, header_line))
    if headerless:  # the first row is data: none of its cells names a column
        normalised = [""] * len(header)
        keys = [""] * len(header)

    def find(aliases: frozenset[str]) -> int | None:
        return next((i for i, k in enumerate(keys) if k in aliases), None)

    first = find(FIRST_ALIASES)
    last = find(LAST_ALIASES)
    if first is None and last is not None:  # "Name" beside "Surname", 이름 beside 성
        first = find(AMBIGUOUS_NAME_ALIASES)
    company = find(COMPANY_ALIASES)
    full_name = find(FULL_NAME_ALIASES) if first is None and last is None else None
    order = ""
    if full_name is not None:
        if keys[full_name] in FIO_ALIASES:
            order = "fio"
        elif keys[full_name] in JAPANESE_NAME_ALIASES:
            order = "ja"

    used = {email: "email"}
    if first is not None:
        used[first] = "first_name"
    if last is not None:
        used[last] = "last_name"
    if company is not None:
        used[company] = "company"
    if full_name is not None:
        used[full_name] = "name"
    columns, custom = _name_columns(normalised, used)
    return Layout(
        columns,
        email,
        first,
        last,
        company,
        full_name,
        custom,
        headerless,
        timezone=find(TIMEZONE_ALIASES),
        country=find(COUNTRY_ALIASES),
        full_name_order=order,
    )


def _email_column(
    header: list[str], keys: list[str], head: list[tuple[int, list[str]]]
) -> tuple[int | None, bool]:
    """The email column's index (None if not found), and whether the header row is data."""
    email = next((i for i, k in enumerate(keys) if k in EMAIL_ALIASES), None)
    if email is not None:
        return email, False
    # A bare list of addresses without a header row: the "header" is itself an address.
    in_header = [i for i, h in enumerate(header) if quick_valid(h)]
    if len(in_header) == 1:
        return in_header[0], True
    return _guess_email_column(len(header), head), False


def _name_columns(
    normalised: list[str], used: dict[int, str]
) -> tuple[list[str], list[tuple[int, str]]]:
    """Every column's name (``used`` ones canonical, others their normalised header or
    ``column_N``, never twice), and the custom fields as ``(index, name)``."""
    reserved = set(_CANONICAL)
    if "name" in used.values():
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
    return columns, custom


def _guess_email_column(width: int, head: list[tuple[int, list[str]]]) -> int | None:
    """Exactly one column whose first cells are mostly valid addresses is the email column."""
    rows = [cells for _, cells in head if any(c.strip() for c in cells)]
    if not rows:
        return None
    candidates = []
    for col in range(width):
        valid = sum(1 for cells in rows if col < len(cells) and quick_valid(cells[col]))
        if valid and valid >= 0.8 * len(rows):
            candidates.append(col)
    return candidates[0] if len(candidates) == 1 else None


def _no_email_message(header: list[str], delimiter: str, line: int) -> str:
    found = [one_line(clean_header(h), 40) for h in header[:30]]
    shown = ", ".join(f'"{h}"' for h in found if h) or "(none: the header row is empty)"
    if len(header) > 30:
        shown += f", … ({len(header)} in total)"
    accepted = ", ".join(f'"{n}"' for n in EMAIL_HEADER_NAMES)
    hint = ""
    if len(header) == 1 and any(d in header[0] for d in DELIMITERS if d != delimiter):
        hint = " The columns may be separated by something unusual; use commas or semicolons."
    return (
        f"No email column found in the header row (line {line}). Columns found: {shown}. "
        f"Name the column that holds the addresses one of: {accepted} "
        "(any upper/lower case), then send the file again." + hint
    )
