"""Fields are capped before parsing; a bounce reports every Message-ID it cites."""

from __future__ import annotations

from engine.inbox import limits
from engine.inbox.bounces import parse_bounce
from engine.inbox.classify import parse_inbound
from tests import mailshapes


def test_it_leaves_an_ordinary_message_untouched() -> None:
    raw = mailshapes.gmail_dsn("ana@acme.io", "<ours@example.com>")
    assert limits.cap_raw(raw) == raw


def test_it_caps_a_header_and_keeps_the_newest_references() -> None:
    refs = " ".join(f"<id{i}@example.com>" for i in range(2000))
    raw = (
        f"From: a@b.io\r\nX-Junk: {'x' * 50_000}\r\nReferences: {refs}\r\n"
        "Subject: hi\r\n\r\nbody\r\n"
    ).encode()

    inb = parse_inbound(raw)

    assert len(inb.headers["x-junk"]) < limits.HEADER_MAX
    assert inb.references[-1] == "<id1999@example.com>"
    assert "<id0@example.com>" not in inb.references
    assert inb.subject == "hi" and inb.text == "body"


def test_it_reads_at_most_the_body_prefix() -> None:
    raw = b"From: a@b.io\r\nSubject: hi\r\n\r\n" + b"word " * 100_000
    assert len(parse_inbound(raw).text) <= limits.BODY_TEXT_MAX


def test_a_bounce_cites_its_original_a_message_id_line_and_its_threading_headers() -> None:
    raw = mailshapes.postfix_bounce("ana@acme.io", "<ours@example.com>", with_dsn_part=False)
    raw = raw.replace(b"Subject:", b"References: <earlier@example.com>\r\nSubject:", 1)

    bounce = parse_bounce(raw)

    assert bounce is not None
    assert bounce.original_message_id == "<ours@example.com>"
    assert set(bounce.cited_ids) == {"<ours@example.com>", "<earlier@example.com>"}
