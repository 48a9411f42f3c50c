"""A local HTTP server that serves lead lists the ways the internet does: CSV and XLSX files,
redirect chains, a sign-in redirect and an HTML page (a Google Sheet that is not shared), a
response that never finishes, and bodies over the size limit. stdlib ``http.server`` in a
thread; ``files_server`` is the fixture."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests import xlsx

CSV = b"email,first_name\nana@acme.io,Ana\nbob@beta.io,Bob\n"
XLSX = xlsx.workbook({"leads": [["email", "first_name"], ["cleo@gamma.io", "Cleo"]]})
HTML = b"<!DOCTYPE html><html><body>Sign in - Google Accounts</body></html>"


class FilesServer:
    def __init__(self) -> None:
        self.release = threading.Event()  # set at teardown: the slow responses end
        self.paths: list[str] = []  # every request's path, in order
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.paths.append(self.path)
                server.route(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?")[0]
        if path == "/leads.csv":
            self._send(h, 200, "text/csv; charset=utf-8", CSV)
        elif path == "/leads.xlsx":
            self._send(h, 200, xlsx_type(), XLSX)
        elif path == "/export":  # a server that names its file only in the header
            self._send(h, 200, "application/octet-stream", CSV, name="my leads.csv")
        elif path == "/data.json":
            self._send(h, 200, "application/json", b'{"email": "ana@acme.io"}')
        elif path.startswith("/r/"):  # /r/N: N redirects, then the CSV
            n = int(path[3:])
            self._redirect(h, f"/r/{n - 1}" if n > 1 else "/leads.csv")
        elif path == "/private":  # Google's answer for a sheet that is not shared
            self._redirect(h, "/accounts/ServiceLogin?continue=https://docs.google.com/x")
        elif path == "/to-ftp":
            self._redirect(h, "ftp://127.0.0.1/leads.csv")
        elif path == "/page" or path.startswith("/accounts/"):
            self._send(h, 200, "text/html; charset=utf-8", HTML)
        elif path == "/untyped-page":
            self._send(h, 200, "", HTML)
        elif path == "/slow":  # headers, a few bytes, then nothing until the test ends
            h.send_response(200)
            h.send_header("Content-Type", "text/csv")
            h.end_headers()
            h.wfile.write(b"email\n")
            h.wfile.flush()
            self.release.wait(30)
        elif path.startswith("/big/"):  # /big/N: N bytes of CSV, no Content-Length
            n = int(path[5:])
            h.send_response(200)
            h.send_header("Content-Type", "text/csv")
            h.end_headers()
            line = b"someone@example.com\n"
            sent = 0
            try:
                while sent < n:
                    h.wfile.write(line)
                    sent += len(line)
            except OSError:
                pass  # the client stopped reading at its cap
        elif path.startswith("/declared/"):  # a Content-Length over the cap, no body read
            h.send_response(200)
            h.send_header("Content-Type", "text/csv")
            h.send_header("Content-Length", path[10:])
            h.end_headers()
        else:
            self._send(h, 404, "text/plain", b"not found")

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, ctype: str, body: bytes, name: str = ""
    ) -> None:
        h.send_response(status)
        if ctype:
            h.send_header("Content-Type", ctype)
        if name:
            h.send_header("Content-Disposition", f'attachment; filename="{name}"')
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    @staticmethod
    def _redirect(h: BaseHTTPRequestHandler, location: str) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()


def xlsx_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def files_server() -> Iterator[FilesServer]:
    server = FilesServer()
    try:
        yield server
    finally:
        server.close()
