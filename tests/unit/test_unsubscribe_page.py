"""The unsubscribe endpoint's pure parts: reading RFC 8058's form body, the page, the per-address
rate limit with its bounded table, and the admins' line."""

from __future__ import annotations

import pytest

from bot.messages import render
from bot.ratelimit import RequestLimiter
from bot.unsubscribe import ASK, one_click, page
from engine.notify import Notification
from engine.states import NoticeKind

URLENCODED = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "content_type, body",
    [
        (URLENCODED, b"List-Unsubscribe=One-Click"),
        (URLENCODED + "; charset=utf-8", b"List-Unsubscribe=One-Click"),
        ("", b"List-Unsubscribe=One-Click"),
        (URLENCODED, b"other=1&List-Unsubscribe=One-Click"),
        (URLENCODED, b"list-unsubscribe=one-click"),
    ],
)
def test_it_reads_the_one_click_pair_form_encoded(content_type: str, body: bytes) -> None:
    assert one_click(content_type, body)


def test_it_reads_the_one_click_pair_from_multipart_form_data() -> None:
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        b"One-Click\r\n"
        b"--XyZ--\r\n"
    )
    assert one_click("multipart/form-data; boundary=XyZ", body)
    assert one_click('multipart/form-data; boundary="XyZ"', body)


@pytest.mark.parametrize(
    "content_type, body",
    [
        (URLENCODED, b""),
        (URLENCODED, b"List-Unsubscribe=Yes"),
        (URLENCODED, b"Unsubscribe=One-Click"),
        ("application/json", b'{"List-Unsubscribe": "One-Click"}'),
        ("multipart/form-data; boundary=XyZ", b"--XyZ\r\nnonsense"),
        ("multipart/form-data", b"List-Unsubscribe=One-Click"),
        (URLENCODED, b"\xff\xfe\x00junk"),
        (URLENCODED, b"&".join([b"a=b"] * 30) + b"&List-Unsubscribe=One-Click"),
    ],
)
def test_it_refuses_any_other_body(content_type: str, body: bytes) -> None:
    assert not one_click(content_type, body)


def test_its_page_is_plain_html_for_a_phone_with_one_button_that_posts() -> None:
    html = page(200, ASK, button=True).body.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert html.count("<form") == 1 and 'method="post"' in html
    assert 'name="List-Unsubscribe" value="One-Click"' in html
    assert "<script" not in html and "http" not in html  # no script, no external asset


def test_its_page_escapes_its_text() -> None:
    html = page(200, ("<b>&", '"x"')).body.decode()
    assert "<b>&" not in html and "&lt;b&gt;&amp;" in html


def test_its_page_stays_out_of_caches_search_engines_and_frames() -> None:
    headers = page(200, ASK).headers
    assert headers["Cache-Control"] == "no-store"
    assert "noindex" in headers["X-Robots-Tag"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_it_limits_each_address_to_n_requests_a_window() -> None:
    clock = Ticks()
    limiter = RequestLimiter(limit=3, window=60, clock=clock)
    assert [limiter.allow("1.2.3.4") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("5.6.7.8")  # another address has its own count
    assert 1 <= limiter.retry_after("1.2.3.4") <= 60
    clock.now = 60.0
    assert limiter.allow("1.2.3.4")  # a new window


def test_it_remembers_a_bounded_number_of_addresses_forgetting_the_least_recent() -> None:
    limiter = RequestLimiter(limit=1, window=60, max_clients=100, clock=Ticks())
    assert limiter.allow("keep")
    for i in range(99):
        limiter.allow(f"10.0.0.{i}")
    assert not limiter.allow("keep")  # seen again: now the most recent
    for i in range(99, 10_000):
        limiter.allow(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter) == 100
    assert limiter.allow("keep")  # forgotten long ago: counted afresh


def test_the_admins_read_one_grouped_line() -> None:
    payload = {"lead_id": 7, "email": "ana@acme.io", "name": "Ana Diaz", "company": "Acme"}
    r = render(Notification(1, NoticeKind.UNSUBSCRIBE_LINK, "", payload))
    assert r.line == r.text
    assert not r.standalone and r.buttons is None
    assert r.line.startswith("🔕 Ana Diaz <ana@acme.io> unsubscribed with the link in the email")
    bare = render(Notification(2, NoticeKind.UNSUBSCRIBE_LINK, "", {"email": "bob@b.io"}))
    assert bare.line.startswith("🔕 bob@b.io unsubscribed")
