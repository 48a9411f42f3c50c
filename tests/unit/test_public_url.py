"""PUBLIC_URL: https, or http on a loopback host; WEBHOOK_URL by default when SECRET_KEY is
set; refused at start without SECRET_KEY."""

from __future__ import annotations

import pytest

from engine.config import load_settings
from engine.errors import ConfigError
from tests.conftest import BASE_ENV

KEY = "0123456789abcdef-key"


def settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings({**BASE_ENV, **env})


def problems(**env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        settings(**env)
    return "\n".join(caught.value.problems)


@pytest.mark.parametrize(
    "given, kept",
    [
        ("https://outreach.example.com", "https://outreach.example.com"),
        ("https://outreach.example.com/", "https://outreach.example.com"),
        ("https://example.com:8443/outreach/", "https://example.com:8443/outreach"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("  https://out.example.com  ", "https://out.example.com"),
    ],
)
def test_it_accepts_https_and_http_on_a_loopback_host(given: str, kept: str) -> None:
    assert settings(PUBLIC_URL=given, SECRET_KEY=KEY).public_url == kept


@pytest.mark.parametrize(
    "given", ["http://example.com", "http://10.0.0.5:8000", "http://outreach.example.com/"]
)
def test_it_refuses_http_elsewhere_saying_why(given: str) -> None:
    text = problems(PUBLIC_URL=given, SECRET_KEY=KEY)
    assert "PUBLIC_URL" in text and "https://" in text and "127.0.0.1" in text


@pytest.mark.parametrize(
    "given",
    [
        "outreach.example.com",
        "ftp://example.com",
        "https://",
        "https://exa mple.com",
        "https://example.com/a,b",
        "https://example.com/?q=1",
        "https://example.com/#top",
        "https://user:pw@example.com",
        "https://example.com/<x>",
        "https://-bad-.example.com",
        "https://example.com:99999",
        "https://[nonsense]",
        "https://example.com/" + "a" * 300,
    ],
)
def test_it_refuses_what_could_not_stand_in_a_header(given: str) -> None:
    assert "PUBLIC_URL" in problems(PUBLIC_URL=given, SECRET_KEY=KEY)


def test_it_refuses_public_url_without_secret_key_at_start() -> None:
    text = problems(PUBLIC_URL="https://outreach.example.com")
    assert "PUBLIC_URL is set but SECRET_KEY is empty" in text


def test_it_is_off_by_default() -> None:
    assert settings().public_url == ""


def test_it_defaults_to_webhook_url_when_secret_key_is_set() -> None:
    s = settings(WEBHOOK_URL="https://hook.example.com/", WEBHOOK_SECRET="s", SECRET_KEY=KEY)
    assert s.public_url == "https://hook.example.com"


def test_a_webhook_setup_without_secret_key_starts_as_before_without_links() -> None:
    s = settings(WEBHOOK_URL="https://hook.example.com", WEBHOOK_SECRET="s")
    assert s.public_url == ""


def test_its_own_value_wins_over_webhook_url() -> None:
    s = settings(
        WEBHOOK_URL="https://hook.example.com",
        WEBHOOK_SECRET="s",
        SECRET_KEY=KEY,
        PUBLIC_URL="https://mail.example.com",
    )
    assert s.public_url == "https://mail.example.com"


def test_a_webhook_url_that_is_no_valid_public_url_gives_no_links() -> None:
    s = settings(WEBHOOK_URL="http://hook.example.com", WEBHOOK_SECRET="s", SECRET_KEY=KEY)
    assert s.public_url == ""
