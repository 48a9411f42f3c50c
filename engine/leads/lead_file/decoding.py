"""Bytes to text: which files are not text at all, and which encoding a text file is in.

Known binary formats (Excel workbooks, PDFs, images, archives) are refused with a message that
says how to save the list as CSV; a reader for .xlsx would take that branch instead. Text is
decoded by its BOM (UTF-8, UTF-16), UTF-16 without a BOM, then strict UTF-8, cp1252 and
Latin-1; charset detection belongs in :func:`decode`'s list of candidates.
"""

from __future__ import annotations

import re

from engine.errors import UserInputError

__all__ = ["decode", "reject_known_binary"]

_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)


def reject_known_binary(data: bytes) -> None:
    """Refuse a workbook, document, image or archive by its first bytes, saying what it is."""
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


def decode(data: bytes) -> tuple[str, str]:
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
