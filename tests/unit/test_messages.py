"""engine.sending.messages: RFC 5322 messages, threading headers, and header-injection safety."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.message_ids import ThreadHeaders, reply_headers
from engine.message_ids import parse_ids as parse_message_ids
from engine.sending.messages import (
    Outgoing,
    build_message,
    header_safe,
    make_message_id,
    normalise_address,
    reply_subject,
)

SENDER = "founder@acme.io"
DATE = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
FIRST_ID = "<1111aaaa@acme.io>"
SECOND_ID = "<2222bbbb@acme.io>"

BASE_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-unsubscribe",
    "content-type",
    "content-transfer-encoding",
    "mime-version",
}


def outgoing(**changes: object) -> Outgoing:
    fields: dict[str, object] = {
        "message_id": FIRST_ID,
        "to_email": "jane@example.com",
        "to_name": "Jane Doe",
        "subject": "Quick question for Example",
        "body": "Hi Jane,\n\nShort note.\n\nBest,\nSam\n",
    }
    fields.update(changes)
    return Outgoing(**fields)  # type: ignore[arg-type]


def build(o: Outgoing | None = None, **kwargs: object) -> EmailMessage:
    options: dict[str, object] = {
        "sender_email": SENDER,
        "sender_name": "Sam Founder",
        "date": DATE,
    }
    options.update(kwargs)
    return build_message(o or outgoing(), **options)  # type: ignore[arg-type]


def content(msg: EmailMessage) -> str:
    text = msg.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")


def reparse(msg: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def header_names(msg: EmailMessage) -> list[str]:
    return [k.lower() for k in msg.keys()]


def header_block(msg: EmailMessage) -> list[bytes]:
    raw = msg.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    return head.split(b"\r\n")


# --------------------------------------------------------------------------- Message-ID


def test_it_makes_message_ids_with_the_sender_domain_in_angle_brackets() -> None:
    msg_id = make_message_id("Founder@Acme.IO", rng_bytes=b"\x01\xab")
    assert msg_id == "<01ab@acme.io>"


def test_it_makes_a_32_hex_random_token_by_default() -> None:
    token = make_message_id(SENDER)[1:].split("@")[0]
    assert len(token) == 32
    assert re.fullmatch(r"[0-9a-f]{32}", token), token  # lower-case hex and nothing else
    others = {make_message_id(SENDER)[1:].split("@")[0] for _ in range(20)}
    assert len(others | {token}) == 21, "the token repeats: it is not random"


def test_it_makes_a_different_message_id_every_time() -> None:
    assert len({make_message_id(SENDER) for _ in range(50)}) == 50


def test_it_idna_encodes_a_unicode_sender_domain_in_message_ids() -> None:
    assert make_message_id("me@Bücher.de", rng_bytes=b"\x00") == "<00@xn--bcher-kva.de>"


def test_it_refuses_a_sender_without_domain_for_message_ids() -> None:
    with pytest.raises(ValueError):
        make_message_id("no-at-sign")


# --------------------------------------------------------------------------- first email


def test_it_builds_the_first_email_with_exactly_the_intended_headers() -> None:
    parsed = reparse(build())
    assert sorted(header_names(parsed)) == sorted(BASE_HEADERS)


def test_it_sets_from_with_the_sender_display_name() -> None:
    parsed = reparse(build())
    (addr,) = parsed["From"].addresses
    assert (addr.display_name, addr.addr_spec) == ("Sam Founder", SENDER)


def test_it_sets_to_with_the_lead_name() -> None:
    parsed = reparse(build())
    (addr,) = parsed["To"].addresses
    assert (addr.display_name, addr.addr_spec) == ("Jane Doe", "jane@example.com")


def test_it_omits_the_display_name_when_the_lead_has_no_name() -> None:
    parsed = reparse(build(outgoing(to_name="  ")))
    assert str(parsed["To"]) == "jane@example.com"


def test_it_keeps_the_message_id_exactly() -> None:
    parsed = reparse(build())
    assert parsed["Message-ID"] == FIRST_ID


def test_it_never_encodes_a_long_message_id() -> None:
    long_id = "<" + "A1b2" * 30 + "@DM6PR12MB3456.namprd12.prod.outlook.com>"
    raw = build(outgoing(message_id=long_id)).as_bytes()
    assert b"Message-ID: " + long_id.encode() + b"\r\n" in raw


def test_it_sets_subject_and_rfc5322_date() -> None:
    parsed = reparse(build())
    assert parsed["Subject"] == "Quick question for Example"
    assert parsed["Date"] == "Mon, 05 Jan 2026 09:30:00 +0000"


def test_it_keeps_every_space_in_a_long_non_ascii_subject() -> None:
    subject = "Kurze Frage zu Müller & Söhne GmbH in München — beste Grüße aus Köln und Düsseldorf"
    msg = build(outgoing(subject=subject))
    assert msg.as_bytes().isascii()
    assert reparse(msg)["Subject"] == subject


def test_it_folds_a_long_ascii_subject_without_losing_words() -> None:
    subject = " ".join(f"word{i}" for i in range(40))
    raw_lines = header_block(build(outgoing(subject=subject)))
    assert all(len(line) <= 78 for line in raw_lines)
    assert reparse(build(outgoing(subject=subject)))["Subject"] == subject


def test_it_keeps_the_timezone_offset_of_the_date() -> None:
    date = datetime(2026, 1, 5, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert reparse(build(date=date))["Date"] == "Mon, 05 Jan 2026 10:30:00 +0100"


def test_it_treats_a_naive_date_as_utc() -> None:
    assert reparse(build(date=datetime(2026, 1, 5, 9, 30)))["Date"].endswith("+0000")


def test_it_adds_a_mailto_list_unsubscribe_header() -> None:
    parsed = reparse(build())
    assert parsed["List-Unsubscribe"] == "<mailto:founder@acme.io?subject=unsubscribe>"


def test_it_can_leave_out_list_unsubscribe() -> None:
    parsed = reparse(build(unsubscribe_mailto=False))
    assert "List-Unsubscribe" not in parsed


def test_it_sends_a_plain_text_utf8_body() -> None:
    parsed = reparse(build(outgoing(body="Grüße, Zoë — 10€\n")))
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert content(parsed) == "Grüße, Zoë — 10€\n"


def test_it_keeps_the_wire_format_7bit_even_for_a_non_ascii_body() -> None:
    raw = build(outgoing(body="Grüße\n")).as_bytes()
    assert raw.isascii()


def test_it_uses_crlf_line_endings_everywhere() -> None:
    raw = build(outgoing(body="one\ntwo\rthree\r\nfour")).as_bytes()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")


def test_it_drops_nul_and_other_control_characters_from_the_body() -> None:
    parsed = reparse(build(outgoing(body="a\x00b\x1bc\tok\n")))
    assert content(parsed) == "abc\tok\n"


# --------------------------------------------------------------------------- follow-up thread


def test_it_builds_follow_ups_with_in_reply_to_and_references() -> None:
    thread = reply_headers([FIRST_ID, SECOND_ID])
    in_reply_to, references = thread.in_reply_to, thread.references
    o = outgoing(
        message_id="<3333cccc@acme.io>",
        subject=reply_subject("Quick question for Example"),
        in_reply_to=in_reply_to,
        references=references,
    )
    parsed = reparse(build(o))
    assert parsed["In-Reply-To"] == SECOND_ID
    assert parse_message_ids(parsed["References"]) == [FIRST_ID, SECOND_ID]
    assert parsed["Subject"] == "Re: Quick question for Example"
    assert sorted(header_names(parsed)) == sorted(BASE_HEADERS | {"in-reply-to", "references"})


def test_it_does_not_encode_long_references_and_folds_between_ids() -> None:
    ids = tuple(f"<{i:02d}{'x' * 60}@DM6PR12MB3456.namprd12.prod.outlook.com>" for i in range(4))
    raw = build(outgoing(in_reply_to=ids[-1], references=ids)).as_bytes()
    assert b"=?" not in raw.split(b"\r\n\r\n", 1)[0]
    parsed = reparse(build(outgoing(in_reply_to=ids[-1], references=ids)))
    assert parse_message_ids(parsed["References"]) == list(ids)
    assert parsed["In-Reply-To"] == ids[-1]


def test_it_refuses_a_malformed_message_id() -> None:
    with pytest.raises(ValueError):
        build(outgoing(message_id="<a@b>\r\nBcc: evil@x.com"))


def test_it_refuses_a_malformed_reference() -> None:
    with pytest.raises(ValueError):
        build(outgoing(references=("<a@b> <c@d>",)))


def test_it_gives_no_thread_headers_for_no_previous_ids() -> None:
    assert reply_headers([]) == ThreadHeaders(None, ())
    assert reply_headers([" ", ""]) == ThreadHeaders(None, ())


def test_it_threads_on_the_last_id_and_references_all_in_order() -> None:
    assert reply_headers(["<a@x>", "<b@x>", "<c@x>"]) == ThreadHeaders(
        "<c@x>", ("<a@x>", "<b@x>", "<c@x>")
    )


def test_it_answers_the_last_id_and_references_each_id_once() -> None:
    thread = reply_headers(["<a@x>", "<b@x>", "<a@x>", " <c@x> "])
    assert thread == ThreadHeaders("<c@x>", ("<a@x>", "<b@x>", "<c@x>"))
    assert thread.references_value == "<a@x> <b@x> <c@x>"
    assert reply_headers([]).references_value is None


# --------------------------------------------------------------------------- reply subject


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ("Quick question", "Re: Quick question"),
        ("Re: Quick question", "Re: Quick question"),
        ("RE: re:Quick question", "Re: Quick question"),
        ("AW: Quick question", "Re: Quick question"),
        ("Fwd: Quick question", "Re: Fwd: Quick question"),
        ("Regarding Quick question", "Re: Regarding Quick question"),
    ],
)
def test_it_prefixes_re_exactly_once(first: str, expected: str) -> None:
    assert reply_subject(first) == expected


def test_it_keeps_reply_subject_on_one_line() -> None:
    assert reply_subject("Hi\r\nBcc: evil@x.com") == "Re: Hi Bcc: evil@x.com"


# --------------------------------------------------------------------------- non-ASCII names


def test_it_encodes_a_non_ascii_display_name_and_round_trips_it() -> None:
    msg = build(outgoing(to_name="Zoë Ångström 山田"), sender_name="Jörg Müller")
    assert msg.as_bytes().isascii()
    parsed = reparse(msg)
    assert parsed["To"].addresses[0].display_name == "Zoë Ångström 山田"
    assert parsed["From"].addresses[0].display_name == "Jörg Müller"


def test_it_quotes_a_display_name_with_commas_and_quotes() -> None:
    parsed = reparse(build(outgoing(to_name='Doe, Jane "JD" <boss@x.com>')))
    (addr,) = parsed["To"].addresses
    assert (addr.display_name, addr.addr_spec) == (
        'Doe, Jane "JD" <boss@x.com>',
        "jane@example.com",
    )


def test_it_idna_encodes_a_unicode_recipient_domain() -> None:
    parsed = reparse(build(outgoing(to_email="anna@bücher.de")))
    assert parsed["To"].addresses[0].addr_spec == "anna@xn--bcher-kva.de"


# --------------------------------------------------------------------------- injection


def test_it_collapses_a_crlf_in_the_lead_name_instead_of_adding_a_header() -> None:
    parsed = reparse(build(outgoing(to_name="Jane\r\nBcc: evil@x.com")))
    assert "Bcc" not in parsed
    assert [a.addr_spec for a in parsed["To"].addresses] == ["jane@example.com"]
    assert parsed["To"].addresses[0].display_name == "Jane Bcc: evil@x.com"


def test_it_collapses_a_crlf_in_the_subject_instead_of_adding_a_header() -> None:
    parsed = reparse(build(outgoing(subject="Hello Acme\r\nBcc: evil@x.com\r\n\r\nbody")))
    assert "Bcc" not in parsed
    assert parsed["Subject"] == "Hello Acme Bcc: evil@x.com body"


@pytest.mark.parametrize(
    "encoded",
    ["=?utf-8?q?a=0D=0ABcc:_evil@x.com?=", "=?utf-8?b?DQpCY2M6IGV2aWxAeC5jb20=?="],
)
def test_it_never_decodes_an_encoded_word_into_a_new_header(encoded: str) -> None:
    for text in (encoded, "é " + encoded):
        msg = build(outgoing(to_name=text, subject=text), sender_name=text)
        parsed = reparse(msg)
        assert "Bcc" not in parsed
        assert [a.addr_spec for a in parsed["To"].addresses] == ["jane@example.com"]
        assert [a.addr_spec for a in parsed["From"].addresses] == [SENDER]


def test_it_refuses_to_build_a_message_whose_bytes_would_gain_a_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        "engine.sending.messages._mailbox_tokens",
        lambda mailbox, room: ["x", f"<{mailbox.addr_spec}>\r\nX-Evil: 1"],
    )
    with pytest.raises(ValueError, match="refusing a message"):
        build()


def test_it_refuses_to_build_a_message_whose_to_would_gain_a_recipient(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        "engine.sending.messages._mailbox_tokens",
        lambda mailbox, room: ["evil@x.com,", f"<{mailbox.addr_spec}>"],
    )
    with pytest.raises(ValueError, match="refusing a message whose From would not be"):
        build()


def test_it_writes_a_long_display_name_with_specials_without_losing_its_quoting() -> None:
    name = "x" * 60 + " Bcc: evil@x.com, y"
    parsed = reparse(build(outgoing(to_name=name)))
    (addr,) = parsed["To"].addresses
    assert addr.addr_spec == "jane@example.com"
    assert "".join(addr.display_name.split()) == "".join(name.split())


def test_it_collapses_a_crlf_in_the_sender_name() -> None:
    parsed = reparse(build(sender_name="Sam\nCc: evil@x.com"))
    assert "Cc" not in parsed
    assert [a.addr_spec for a in parsed["From"].addresses] == [SENDER]


@pytest.mark.parametrize(
    "bad",
    [
        "jane@example.com, evil@x.com",
        "jane@example.com\r\nBcc: evil@x.com",
        "Jane <jane@example.com>",
        "<jane@example.com>",
        "jane @example.com",
        "jane@exa mple.com",
        "jane@example.com\x00",
        "jane\t@example.com",
        "jane@example.com;evil@x.com",
        '"jane doe"@example.com',
        "jane@@example.com",
        "jane@",
        "@example.com",
        "",
        "jöe@example.com",
        "a..b@example.com",
    ],
)
def test_it_refuses_a_recipient_that_is_not_one_plain_address(bad: str) -> None:
    with pytest.raises(ValueError):
        build(outgoing(to_email=bad))


def test_it_refuses_a_bad_sender_address() -> None:
    with pytest.raises(ValueError):
        build(sender_email="founder@acme.io, evil@x.com")


def test_it_accepts_ordinary_addresses() -> None:
    assert (
        normalise_address("first.last+tag@Sub.Example.CO.uk") == "first.last+tag@sub.example.co.uk"
    )


def test_it_collapses_control_characters_in_header_text() -> None:
    assert header_safe("  a\r\n\tb\x00\x85c\u2028d  ") == "a b c d"


def test_it_breaks_up_encoded_word_starters_in_header_text() -> None:
    assert header_safe("=?utf-8?q?x?= ==??") == "= ?utf-8?q?x?= == ??"


HOSTILE_PIECES = [
    "\r\n",
    "\n",
    "\r",
    "\r\n\r\n",
    "Bcc: evil@x.com",
    "\r\nBcc: evil@x.com",
    "\nTo: other@x.com",
    "evil@x.com",
    ",",
    ";",
    ":",
    "<",
    ">",
    '"',
    "\\",
    "(",
    ")",
    " ",
    "\t",
    "\x00",
    "\x0b",
    "\x85",
    "\u2028",
    "é",
    "Zoë",
    "山田",
    "🙂",
    "=?utf-8?q?x?=",
    "=?utf-8?q?a=0D=0ABcc:_evil@x.com?=",
    "=?utf-8?b?DQpCY2M6IGV2aWxAeC5jb20=?=",
    "=?",
    "?=",
]
hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=8)), max_size=12
).map("".join)


def assert_only_intended(msg: EmailMessage, to_email: str) -> EmailMessage:
    for line in header_block(msg):
        assert line.strip(), "whitespace-only header line"
        assert line[:1] in (b" ", b"\t") or line.split(b":", 1)[0].lower().decode() in (
            BASE_HEADERS | {"in-reply-to", "references"}
        ), line
    parsed = reparse(msg)
    assert sorted(header_names(parsed)) == sorted(BASE_HEADERS)
    assert [a.addr_spec for a in parsed["To"].addresses] == [to_email]
    assert [a.addr_spec for a in parsed["From"].addresses] == [SENDER]
    return parsed


@settings(max_examples=200, deadline=None)
@given(name=hostile_text, sender_name=hostile_text, subject=hostile_text, body=hostile_text)
def test_it_never_lets_hostile_names_or_subjects_add_headers_or_recipients(
    name: str, sender_name: str, subject: str, body: str
) -> None:
    msg = build(outgoing(to_name=name, subject=subject, body=body), sender_name=sender_name)
    assert_only_intended(msg, "jane@example.com")


@settings(max_examples=200, deadline=None)
@given(name=hostile_text, subject=hostile_text)
def test_it_round_trips_names_and_subjects_as_their_one_line_form(name: str, subject: str) -> None:
    parsed = assert_only_intended(
        build(outgoing(to_name=name, subject=subject)), "jane@example.com"
    )
    # Python's address parser keeps the folding space between two adjacent encoded-words that
    # RFC 2047 says to drop (mail clients drop it), so compare names ignoring whitespace.
    got = parsed["To"].addresses[0].display_name
    assert "".join(got.split()) == "".join(header_safe(name).split())
    # A subject word too long for the first line is folded onto the next one, and Python's
    # parser keeps that fold's space at the start of the value.
    assert parsed["Subject"].strip() == header_safe(subject)


@settings(max_examples=200, deadline=None)
@given(to_email=st.text(max_size=40))
def test_it_either_refuses_a_recipient_or_sends_to_exactly_it(to_email: str) -> None:
    try:
        msg = build(outgoing(to_email=to_email))
    except ValueError:
        return
    assert_only_intended(msg, normalise_address(to_email))


# --------------------------------------------------------------------------- parse_message_ids


def test_it_parses_whitespace_separated_ids() -> None:
    assert parse_message_ids("<a@x> <b@x>\t<c@x>") == ["<a@x>", "<b@x>", "<c@x>"]


def test_it_parses_comma_separated_ids() -> None:
    assert parse_message_ids("<a@x>,<b@x>, <c@x>") == ["<a@x>", "<b@x>", "<c@x>"]


def test_it_parses_folded_ids() -> None:
    assert parse_message_ids("<a@x>\r\n <b@x>\r\n\t<c@x>") == ["<a@x>", "<b@x>", "<c@x>"]


def test_it_parses_adjacent_ids_without_separator() -> None:
    assert parse_message_ids("<a@x><b@x>") == ["<a@x>", "<b@x>"]


def test_it_adds_missing_angle_brackets() -> None:
    assert parse_message_ids("a@x, <b@x> c@x") == ["<a@x>", "<b@x>", "<c@x>"]


def test_it_preserves_message_id_case_and_strips_spaces() -> None:
    assert parse_message_ids("  < AbC@X.com >  ") == ["<AbC@X.com>"]


def test_it_ignores_old_style_prose_around_ids() -> None:
    value = "Jane's message of Mon, 5 Jan 2026 <a@x>"
    assert parse_message_ids(value) == ["<a@x>"]


def test_it_decodes_rfc2047_encoded_ids() -> None:
    assert parse_message_ids("=?utf-8?q?=3Ca=40x=3E?=") == ["<a@x>"]


def test_it_returns_no_ids_for_none_or_empty() -> None:
    assert parse_message_ids(None) == []
    assert parse_message_ids("  \r\n ") == []


def test_it_drops_duplicate_ids_keeping_the_first() -> None:
    assert parse_message_ids("<a@x> <b@x> <a@x>") == ["<a@x>", "<b@x>"]


def test_it_round_trips_references_it_wrote() -> None:
    ids = [make_message_id(SENDER) for _ in range(12)]
    parsed = reparse(build(outgoing(in_reply_to=ids[-1], references=tuple(ids))))
    assert parse_message_ids(parsed["References"]) == ids


def test_it_drops_comments_and_quotes_around_ids() -> None:
    assert parse_message_ids("<a@x> (Jane's message, sent to b@y)") == ["<a@x>"]
    assert parse_message_ids('"<b@x>" "c@x"') == ["<b@x>", "<c@x>"]
