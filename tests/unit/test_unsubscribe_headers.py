"""build_message with a one-click unsubscribe URL: RFC 8058's two headers, well-formed and
parseable, folded only between entries; without it, today's mailto header exactly."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime

import pytest

from engine.sending.messages import Outgoing, build_message

URL = "https://outreach.example.com/u/AblgASCdZVR1CGPbrLmLR6i4km4"
DATE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MAIL = Outgoing(
    message_id="<abc@example.com>",
    to_email="ana@acme.io",
    to_name="Ana",
    subject="Hi",
    body="Hello",
)

# RFC 8058: an https URI (and optionally mailto) in angle brackets, comma-separated.
LIST_UNSUBSCRIBE = re.compile(r"<(https://[^<>\s,]+)>(?:,\s*<mailto:[^<>\s,]+>)*")


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_it_offers_one_click_with_the_url_first_and_the_mailto_after() -> None:
    msg = parsed(
        build_message(
            MAIL, sender_email="sam@out.example", sender_name="Sam", date=DATE, unsubscribe_url=URL
        ).as_bytes()
    )
    value = " ".join(str(msg["List-Unsubscribe"]).split())
    assert LIST_UNSUBSCRIBE.fullmatch(value), value
    assert value == f"<{URL}>, <mailto:sam@out.example?subject=unsubscribe>"
    assert str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert len(msg.get_all("List-Unsubscribe")) == len(msg.get_all("List-Unsubscribe-Post")) == 1


def test_it_keeps_todays_mailto_header_without_a_url() -> None:
    raw = build_message(
        MAIL, sender_email="sam@out.example", sender_name="Sam", date=DATE
    ).as_bytes()
    assert b"List-Unsubscribe: <mailto:sam@out.example?subject=unsubscribe>\r\n" in raw
    assert b"List-Unsubscribe-Post" not in raw


def test_it_folds_a_long_url_between_entries_never_inside_it() -> None:
    long_url = "https://outreach.a-rather-long-company-name.example.com/some/prefix/u/" + "A" * 40
    sender = "sam.with.a.long.name@outreach.a-rather-long-company-name.example.com"
    raw = build_message(
        MAIL, sender_email=sender, sender_name="Sam", date=DATE, unsubscribe_url=long_url
    ).as_bytes()
    head = raw.split(b"\r\n\r\n")[0].decode()
    assert "=?" not in head  # no RFC 2047 encoded-word: a provider could not follow it
    assert f" <{long_url}>,\r\n <mailto:{sender}?subject=unsubscribe>" in head
    msg = parsed(raw)
    assert LIST_UNSUBSCRIBE.fullmatch(" ".join(str(msg["List-Unsubscribe"]).split()))


@pytest.mark.parametrize(
    "bad",
    [
        "https://x.example/u/a b",
        "https://x.example/u/a>, <https://evil",
        "https://x/u/a,b",
        "javascript:x",
        "https://x/\r\nBcc: e@x",
        "https://x/é",
    ],
)
def test_it_refuses_a_url_that_could_not_stand_alone_in_brackets(bad: str) -> None:
    with pytest.raises(ValueError):
        build_message(
            MAIL, sender_email="sam@out.example", sender_name="Sam", date=DATE, unsubscribe_url=bad
        )
