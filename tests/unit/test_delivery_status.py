"""One table of delivery status codes: a code means the same at RCPT and in a DSN."""

from __future__ import annotations

import smtplib

import pytest

from engine import delivery_status
from engine.delivery_status import Meaning
from engine.errors import ContentBlocked, RecipientRejected, TryLater
from engine.inbox.bounces import parse_bounce
from engine.sending.smtp_errors import classify_smtp_error
from tests import mailshapes as ms

ORIG = "<cold-1.1705312920@ourdomain.com>"
DEAD = "nobody@acme.example"

# code, 3-digit reply, meaning, hard
CODES = [
    ("5.1.1", 550, Meaning.BAD_MAILBOX, True),
    ("5.1.10", 550, Meaning.BAD_MAILBOX, True),
    ("5.2.1", 550, Meaning.MAILBOX_DISABLED, True),
    ("5.2.2", 552, Meaning.MAILBOX_FULL, True),
    ("4.2.2", 452, Meaning.MAILBOX_FULL, False),
    ("4.4.1", 451, Meaning.ROUTING, False),
    ("5.7.1", 550, Meaning.POLICY, True),
]


@pytest.mark.parametrize(("code", "reply", "meaning", "hard"), CODES)
def test_the_table_says_what_a_code_means(
    code: str, reply: int, meaning: Meaning, hard: bool
) -> None:
    status = delivery_status.of(code)
    assert status is not None
    assert (status.meaning, status.hard, status.failed) == (meaning, hard, True)


@pytest.mark.parametrize(("code", "reply", "meaning", "hard"), CODES)
def test_the_same_code_has_the_same_meaning_at_rcpt_and_in_a_dsn(
    code: str, reply: int, meaning: Meaning, hard: bool
) -> None:
    bounce = parse_bounce(ms.postfix_bounce(DEAD, ORIG, code))
    assert bounce is not None and bounce.status == code
    err = classify_smtp_error(
        smtplib.SMTPRecipientsRefused({DEAD: (reply, f"{code} said the server".encode())}),
        stage="rcpt",
    )
    # Hard for the lead on both paths exactly when the table says hard and about the recipient.
    lead_bounces = hard and meaning in delivery_status.RECIPIENT
    assert isinstance(err, RecipientRejected) is lead_bounces
    if meaning in delivery_status.RECIPIENT:
        assert bounce.hard is hard
    if not hard:
        assert isinstance(err, TryLater) and bounce.hard is False
    if meaning is Meaning.POLICY:
        assert isinstance(err, ContentBlocked)


def test_5_2_2_mailbox_full_is_hard_on_both_paths() -> None:
    bounce = parse_bounce(ms.gmail_dsn(DEAD, ORIG, "5.2.2"))
    assert bounce is not None and bounce.hard is True
    err = classify_smtp_error(
        smtplib.SMTPRecipientsRefused({DEAD: (552, b"5.2.2 The email account is over quota")}),
        stage="rcpt",
    )
    assert isinstance(err, RecipientRejected)


def test_the_basic_code_is_the_fallback() -> None:
    full = delivery_status.of(552)
    busy = delivery_status.of("421")
    assert full is not None and (full.meaning, full.hard) == (Meaning.MAILBOX_FULL, True)
    assert busy is not None and busy.hard is False
    assert delivery_status.of("not a code") is None
    assert delivery_status.of(None) is None


def test_only_one_regex_finds_enhanced_codes() -> None:
    assert delivery_status.find_enhanced("550 5.1.1 <a@x>: user unknown") == "5.1.1"
    assert delivery_status.find_enhanced("version 5.1.1.2 and 2.0.0 ok 4.2.2") == "2.0.0"
    assert delivery_status.find_enhanced("2.0.0 then 4.2.2", failures_only=True) == "4.2.2"
    assert delivery_status.find_basic("host said: 552-5.2.2 full") == "552"
