"""A lead list sent as a link: a Google Sheets link read from the sheet's CSV export, or any
``http(s)://`` link that serves a CSV or an Excel workbook.

:func:`export_url` (pure) turns a Google Sheets link - as the browser's address bar shows it,
with the tab's ``gid`` in its query or fragment - into that tab's CSV export; every other link
is fetched as it is. :func:`download` streams the body with httpx and returns its bytes for
``engine.leads.service.import_csv``, which tells a CSV from a workbook by its first bytes.

Limits, so one message cannot hang or flood the bot: the body is capped at the upload limit
(20 MB; reading stops past it), the whole download has a deadline (and the connection its own
timeout), at most 3 redirects are followed, each checked before it is followed, and only
``http`` and ``https`` are spoken, on the first request and on every redirect.

**Addresses.** Only admins can send the bot messages (``bot.handlers.access``), and a
self-hoster may well keep lead lists on a machine in their own network, so private and
loopback addresses are allowed on purpose; the downloader refuses other schemes (``file:``,
``ftp:`` …) and never sends credentials, cookies or the bot's own tokens. Proxies from the
environment are not used (``trust_env=False``), so a download goes where its link says.

A sheet that is not shared answers with Google's sign-in page (a redirect to
``accounts.google.com``, or an HTML page); the operator is told how to share it. Logs name
the link's host only: a link's query may hold an access token.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from email.message import Message
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import httpx

from engine.errors import UserInputError
from engine.leads.csv_import import MAX_FILE_BYTES

__all__ = ["Download", "download", "export_url", "find_url", "is_google_sheet"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
TOTAL_TIMEOUT = 60.0
MAX_REDIRECTS = 3

# The first http(s) link in a message. Linear: one character class, no nesting.
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}»”’"

# /spreadsheets[/u/N]/d/ID/... or the published form /spreadsheets/d/e/PUBID/...
_SHEET_PATH = re.compile(r"/spreadsheets(?:/u/\d{1,3})?/d/(e/)?([A-Za-z0-9_-]{10,200})(?:/|\Z)")
_GID = re.compile(r"\d{1,12}")

_CSV_TYPES = ("text/csv", "application/csv", "text/comma-separated-values", "text/plain")
_XLSX_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel.sheet.macroenabled.12",
    "application/vnd.ms-excel",  # often sent for .xls and .csv alike: the content decides
)
_LIST_NAMES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls")


@dataclass(frozen=True)
class Download:
    """A downloaded list: its bytes, a name for the import ledger, and the host it came from."""

    data: bytes
    name: str
    host: str


def find_url(text: str) -> str | None:
    """The first ``http(s)://`` link in a message, without the punctuation that ends a
    sentence around it."""
    match = _URL_IN_TEXT.search(text)
    if match is None:
        return None
    url = match.group().rstrip(_TRAILING)
    return url if len(url) > len("https://") else None


def is_google_sheet(url: str) -> bool:
    parts = urlsplit(url)
    return (parts.hostname or "") == "docs.google.com" and bool(_SHEET_PATH.match(parts.path))


def export_url(url: str) -> str:
    """A Google Sheets link as its CSV export (the tab of its ``gid``, else the first);
    any other link unchanged."""
    parts = urlsplit(url)
    match = _SHEET_PATH.match(parts.path)
    if (parts.hostname or "") != "docs.google.com" or match is None:
        return url
    published, sheet_id = bool(match.group(1)), match.group(2)
    if parts.path.rstrip("/").endswith(("/export", "/pub")) and "csv" in parts.query:
        return url  # already an export of CSV
    gid = _gid(parts.query, parts.fragment)
    tail = f"&gid={gid}" if gid else ""
    if published:
        return f"https://docs.google.com/spreadsheets/d/e/{sheet_id}/pub?output=csv{tail}"
    return f"https://docs.google.com/spreadsheets/d/{sheet_id}/export?format=csv{tail}"


def _gid(query: str, fragment: str) -> str | None:
    for source in (parse_qs(fragment), parse_qs(query)):
        for value in source.get("gid", []):
            if _GID.fullmatch(value):
                return value
    return None


def download(
    url: str,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    connect_timeout: float = CONNECT_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
    max_redirects: int = MAX_REDIRECTS,
) -> Download:
    """The list a link serves. Raises :class:`UserInputError` saying what was wrong (not
    shared, a web page, too big, too slow, unreachable …)."""
    google = is_google_sheet(url)
    current = export_url(url)
    deadline = time.monotonic() + total_timeout
    timeout = httpx.Timeout(total_timeout, connect=connect_timeout)
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for hop in range(max_redirects + 1):
            host = _check_scheme(current)
            log.info("downloading a lead list from %s", host)
            try:
                with client.stream("GET", current) as response:
                    if response.is_redirect:
                        target = urljoin(current, response.headers.get("location", ""))
                        if _sign_in(target):
                            raise UserInputError(_not_shared_text())
                        if hop == max_redirects:
                            raise UserInputError(
                                f"That link redirects more than {max_redirects} times; "
                                "send the link the file is finally served from."
                            )
                        current = target
                        continue
                    return _body(response, current, host, google, max_bytes, deadline)
            except httpx.TimeoutException as exc:
                raise UserInputError(
                    f"{host} didn't send the file within {total_timeout:g} s. Try again later, "
                    "or download the file and send it here as a document."
                ) from exc
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                log.info("download from %s failed: %s", host, type(exc).__name__)
                raise UserInputError(
                    f"Couldn't download from {host} ({type(exc).__name__}). Check the link, or "
                    "download the file and send it here as a document."
                ) from exc
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _check_scheme(url: str) -> str:
    """The link's host; refuses anything but http(s)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UserInputError(
            "Only http:// and https:// links can be imported (a link to a CSV or Excel file, "
            "or a Google Sheets link)."
        )
    return parts.hostname


def _sign_in(url: str) -> bool:
    """A redirect to a sign-in page: the file is not shared with everyone who has the link."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return host == "accounts.google.com" or "ServiceLogin" in parts.path


def _not_shared_text() -> str:
    return (
        "That Google Sheet isn't shared, so it can't be read without signing in. In the sheet, "
        'click Share → under "General access" choose "Anyone with the link" → role Viewer → '
        "Done, then send the link again. (Or use File → Download → CSV and send the file.)"
    )


def _body(
    response: httpx.Response, url: str, host: str, google: bool, max_bytes: int, deadline: float
) -> Download:
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if response.status_code in (401, 403) and google:
        raise UserInputError(_not_shared_text())
    if response.status_code >= 400:
        raise UserInputError(
            f"{host} answered {response.status_code} {response.reason_phrase} for that link. "
            "Check the link, or download the file and send it here as a document."
        )
    if ctype == "text/html" or ctype == "application/xhtml+xml":
        raise UserInputError(_not_shared_text() if google else _web_page_text())
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise UserInputError(_too_big_text(max_bytes))
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise UserInputError(_too_big_text(max_bytes))
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the download's deadline passed")
    data = b"".join(chunks)
    name = _file_name(response, url, google)
    if data[:1024].lstrip().lower().startswith((b"<!doctype html", b"<html")):
        raise UserInputError(_not_shared_text() if google else _web_page_text())
    if not _is_list(data, ctype, name, google):
        shown = ctype or "an unknown type"
        raise UserInputError(
            f"That link serves {shown}, not a CSV or Excel file. Send a link to a .csv or "
            ".xlsx file, or a Google Sheets link."
        )
    return Download(data, name, host)


def _is_list(data: bytes, ctype: str, name: str, google: bool) -> bool:
    """A CSV or a workbook, by content type or file name (a workbook also by its magic)."""
    if google or data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return True
    if ctype in _CSV_TYPES or ctype in _XLSX_TYPES:
        return True
    return name.lower().endswith(_LIST_NAMES)


def _file_name(response: httpx.Response, url: str, google: bool) -> str:
    """The name the import ledger shows: the server's, else the link's last path segment."""
    disposition = response.headers.get("content-disposition", "")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        given = message.get_filename()
        if given:
            return given[:200]
    if google:
        return "Google Sheet"
    segment = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return segment[:200] or (urlsplit(url).hostname or "link")


def _web_page_text() -> str:
    return (
        "That link serves a web page, not a CSV or Excel file. Send a direct link to the "
        ".csv or .xlsx file (or a Google Sheets link), or send the file itself."
    )


def _too_big_text(max_bytes: int) -> str:
    mb = 1024 * 1024
    limit = f"{max_bytes // mb} MB" if max_bytes >= mb else f"{max_bytes:,} bytes"
    return (
        f"The file behind that link is over {limit}, the limit. Split "
        "the list into smaller files and send them one at a time."
    )
