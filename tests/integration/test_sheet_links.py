"""Downloading a lead list from a link, against a local HTTP server: CSV and XLSX served,
redirects (3 followed, a 4th refused, never to another scheme), a sheet that is not shared,
a web page, a response too slow and a body too big."""

from __future__ import annotations

import time

import pytest

from engine.errors import UserInputError
from engine.leads.sheet_links import download
from tests.servers import files
from tests.servers.files import FilesServer

files_server = files.files_server


def test_a_csv_link_is_downloaded(files_server: FilesServer) -> None:
    got = download(files_server.url + "/leads.csv")
    assert (got.data, got.name, got.host) == (files.CSV, "leads.csv", "127.0.0.1")


def test_an_xlsx_link_is_downloaded(files_server: FilesServer) -> None:
    got = download(files_server.url + "/leads.xlsx")
    assert got.data == files.XLSX


def test_a_file_named_only_by_its_header_is_a_list(files_server: FilesServer) -> None:
    got = download(files_server.url + "/export?id=7")
    assert (got.data, got.name) == (files.CSV, "my leads.csv")


def test_three_redirects_are_followed(files_server: FilesServer) -> None:
    got = download(files_server.url + "/r/3")
    assert got.data == files.CSV
    assert files_server.paths == ["/r/3", "/r/2", "/r/1", "/leads.csv"]


def test_a_fourth_redirect_is_refused(files_server: FilesServer) -> None:
    with pytest.raises(UserInputError, match="redirects more than 3 times"):
        download(files_server.url + "/r/4")
    assert "/leads.csv" not in files_server.paths


def test_only_http_and_https_are_spoken(files_server: FilesServer) -> None:
    for url in ("ftp://127.0.0.1/leads.csv", "file:///etc/passwd", "gopher://127.0.0.1/"):
        with pytest.raises(UserInputError, match="Only http:// and https://"):
            download(url)
    with pytest.raises(UserInputError, match="Only http:// and https://"):
        download(files_server.url + "/to-ftp")


def test_a_sign_in_redirect_says_how_to_share_the_sheet(files_server: FilesServer) -> None:
    with pytest.raises(UserInputError, match='"Anyone with the link"') as caught:
        download(files_server.url + "/private")
    assert "Share" in str(caught.value) and "Viewer" in str(caught.value)
    assert not any(p.startswith("/accounts") for p in files_server.paths)


@pytest.mark.parametrize("path", ["/page", "/untyped-page"])
def test_a_web_page_is_not_a_list(files_server: FilesServer, path: str) -> None:
    with pytest.raises(UserInputError, match="serves a web page, not a CSV or Excel file"):
        download(files_server.url + path)


def test_another_type_is_named(files_server: FilesServer) -> None:
    with pytest.raises(UserInputError, match="serves application/json, not a CSV"):
        download(files_server.url + "/data.json")


def test_a_missing_file_says_what_the_server_answered(files_server: FilesServer) -> None:
    with pytest.raises(UserInputError, match="404"):
        download(files_server.url + "/nothing.csv")


def test_a_slow_response_ends_at_the_timeout(files_server: FilesServer) -> None:
    started = time.monotonic()
    with pytest.raises(UserInputError, match="didn't send the file within 0.5 s"):
        download(files_server.url + "/slow", total_timeout=0.5)
    assert time.monotonic() - started < 5


def test_a_body_over_the_cap_stops_being_read(files_server: FilesServer) -> None:
    with pytest.raises(UserInputError, match="over 10,000 bytes, the limit"):
        download(files_server.url + "/big/5000000", max_bytes=10_000)


def test_a_declared_length_over_the_cap_is_refused_before_reading(
    files_server: FilesServer,
) -> None:
    with pytest.raises(UserInputError, match="over 20 MB, the limit"):
        download(files_server.url + f"/declared/{30 * 1024 * 1024}")


def test_an_unreachable_host_is_named(files_server: FilesServer) -> None:
    port = files_server.httpd.server_address[1]
    files_server.close()
    with pytest.raises(UserInputError, match="Couldn't download from 127.0.0.1"):
        download(f"http://127.0.0.1:{port}/leads.csv", connect_timeout=1)


def test_the_log_names_the_host_never_the_query(
    files_server: FilesServer, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx's own request log (with the URL) is held at WARNING by ``engine.logs``."""
    caplog.set_level("DEBUG", logger="engine")
    download(files_server.url + "/leads.csv?token=s3cret")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("engine"))
    assert "127.0.0.1" in ours
    assert "s3cret" not in ours and "/leads.csv" not in ours
