"""Excel workbooks for tests, written with openpyxl (and patched where openpyxl cannot write
what a spreadsheet app would: cached formula values, a macro part, an encrypted container)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

import openpyxl


def workbook(
    sheets: dict[str, Iterable[Sequence[Any]]], formats: dict[tuple[str, str], str] | None = None
) -> bytes:
    """An .xlsx with these sheets (in order) and rows; ``formats``: (sheet, cell) -> number
    format."""
    book = openpyxl.Workbook(write_only=False)
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    for (title, ref), fmt in (formats or {}).items():
        book[title][ref].number_format = fmt
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def big_workbook(rows: Iterable[Sequence[Any]]) -> bytes:
    """A large one-sheet .xlsx, written in openpyxl's streaming mode."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Sheet1")
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rewrite(data: bytes, change: dict[str, bytes | None], add: dict[str, bytes]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename in change:
                replaced = change[info.filename]
                if replaced is None:
                    continue
                body = replaced
            dst.writestr(info.filename, body)
        for name, body in add.items():
            dst.writestr(name, body)
    return out.getvalue()


def with_cached_values(data: bytes, sheet_part: str, values: Sequence[str]) -> bytes:
    """Give the formulas of ``sheet_part``, in order, the cached values a spreadsheet app
    saves with them (openpyxl writes ``<v />``)."""
    xml = zipfile.ZipFile(io.BytesIO(data)).read(sheet_part)
    found = iter(values)

    def cached(m: re.Match[bytes]) -> bytes:
        value = next(found)
        numeric = value.replace(".", "", 1).lstrip("-").isdigit()
        kind = b"" if numeric else b' t="str"'
        return m.group(1) + kind + b">" + m.group(2) + b"<v>" + value.encode() + b"</v>"

    patched = re.sub(rb'(<c [^>]*?)(?: t="\w+")?>(<f>[^<]*</f>)<v ?/>', cached, xml)
    return _rewrite(data, {sheet_part: patched}, {})


def with_macros(data: bytes) -> bytes:
    """The workbook as an .xlsm with a VBA project part (whose code must never run)."""
    return _rewrite(data, {}, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 Sub AutoOpen() Shell"})


def encrypted() -> bytes:
    """What Excel writes for a password-protected workbook: an OLE container holding the
    ``EncryptionInfo`` and ``EncryptedPackage`` streams (the directory, UTF-16LE names)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    directory = b"".join(
        name.encode("utf-16-le").ljust(64, b"\x00") + b"\x00" * 64
        for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage")
    )
    return header + directory + b"\x5a" * 4096


def old_xls() -> bytes:
    """An old binary Excel file (BIFF8 in OLE): a ``Workbook`` stream, no encryption."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    directory = b"".join(
        name.encode("utf-16-le").ljust(64, b"\x00") + b"\x00" * 64
        for name in ("Root Entry", "Workbook", "\x05SummaryInformation")
    )
    return header + directory + b"\x09\x08\x10\x00" * 512
