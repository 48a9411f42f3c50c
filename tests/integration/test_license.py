"""The optional license check against a published CSV, served by a real local HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.license import check_license
from tests.e2e.proc import BotProcess, bot_env

SHEET = "key,status,customer\nGOOD-KEY,active,Acme\nOLD-KEY,expired,Beta\n"


@pytest.fixture
def sheet_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            body = SHEET.encode()
            self.send_response(200 if self.path == "/sheet.csv" else 404)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sheet.csv"
    server.shutdown()
    server.server_close()


def test_it_accepts_an_active_key(sheet_url: str) -> None:
    check_license(sheet_url, "GOOD-KEY")


def test_it_refuses_an_inactive_key(sheet_url: str) -> None:
    with pytest.raises(ConfigError, match="not active"):
        check_license(sheet_url, "OLD-KEY")


def test_it_refuses_an_unknown_key(sheet_url: str) -> None:
    with pytest.raises(ConfigError, match="not found"):
        check_license(sheet_url, "NO-SUCH-KEY")


def test_it_says_when_the_sheet_cannot_be_fetched(sheet_url: str) -> None:
    with pytest.raises(ConfigError, match="LICENSE_SHEET_URL"):
        check_license(sheet_url.replace("sheet.csv", "missing.csv"), "GOOD-KEY")


def test_it_skips_the_check_without_a_sheet_url() -> None:
    check_license("", "")


def test_the_process_stops_with_exit_2_on_an_inactive_key(sheet_url: str, tmp_path: Path) -> None:
    env = bot_env(
        telegram_url="http://127.0.0.1:1",
        smtp_port=1,
        db_url=f"sqlite:///{tmp_path / 'x.db'}",
        LICENSE_SHEET_URL=sheet_url,
        LICENSE_KEY="OLD-KEY",
    )
    p = BotProcess(tmp_path, env).start(wait_healthy=False)
    code = p.proc.wait(30) if p.proc else None
    p.stop()
    assert code == 2
    assert "LICENSE_KEY is not active" in p.logs()
    assert "Traceback" not in p.logs()
