"""Authentication-Results (RFC 8601): the topmost header's verdict on the From domain."""

from __future__ import annotations

import pytest

from engine.inbox import authres
from engine.inbox.classify import parse_inbound
from tests import hostile

GMAIL = (
    "mx.google.com; dkim=pass header.i=@acme.io header.s=s1 header.b=abc; "
    "spf=pass (google.com: domain of ana@acme.io designates 1.2.3.4 as permitted sender) "
    "smtp.mailfrom=ana@acme.io; dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=acme.io"
)


def test_it_parses_a_gmail_header_with_comments() -> None:
    parsed = authres.parse(GMAIL)
    assert parsed is not None and parsed.authserv_id == "mx.google.com"
    assert [(m.name, m.result) for m in parsed.methods] == [
        ("dkim", "pass"),
        ("spf", "pass"),
        ("dmarc", "pass"),
    ]
    assert parsed.methods[1].props["smtp.mailfrom"] == "ana@acme.io"


def test_it_reads_spaces_around_equals_and_nested_comments() -> None:
    parsed = authres.parse("mx.example 1; dmarc = fail (x (nested ; y) z) header.from = acme.io")
    assert parsed is not None
    assert [(m.name, m.result, dict(m.props)) for m in parsed.methods] == [
        ("dmarc", "fail", {"header.from": "acme.io"})
    ]


@pytest.mark.parametrize(
    ("header", "failed"),
    [
        ("mx; dmarc=fail header.from=acme.io", True),
        ("mx; spf=fail smtp.mailfrom=acme.io; dkim=fail header.d=acme.io", True),
        ("mx; spf=fail smtp.mailfrom=bounce.acme.io; dkim=fail header.i=@mail.acme.io", True),
        (
            "mx; spf=fail smtp.mailfrom=acme.io; dkim=fail header.d=acme.io; dkim=pass header.d=acme.io",
            False,
        ),
        ("mx; spf=fail smtp.mailfrom=acme.io; dkim=fail header.d=other.example", False),
        ("mx; spf=fail smtp.mailfrom=other.example; dkim=fail header.d=acme.io", False),
        ("mx; spf=fail smtp.mailfrom=acme.io", False),
        ("mx; dmarc=pass", False),
        ("mx; none", False),
    ],
)
def test_it_holds_only_a_dmarc_fail_or_spf_and_dkim_failing_for_the_from_domain(
    header: str, failed: bool
) -> None:
    v = authres.verdict([header], "ana@acme.io")
    assert v is not None and v.failed is failed


def test_only_the_topmost_header_counts() -> None:
    fail, forged_pass = "mx.a; dmarc=fail", "mx.a; dmarc=pass"
    assert authres.verdict([fail, forged_pass], "ana@acme.io").failed  # type: ignore[union-attr]
    assert not authres.verdict([forged_pass, fail], "ana@acme.io").failed  # type: ignore[union-attr]
    assert authres.verdict([], "ana@acme.io") is None


def test_authserv_id_selects_the_topmost_header_with_that_id() -> None:
    headers = ["evil.example; dmarc=pass", "mx.ours; dmarc=fail", "mx.ours; dmarc=pass"]
    assert authres.verdict(headers, "ana@acme.io", "MX.ours").failed  # type: ignore[union-attr]
    assert authres.verdict(headers, "ana@acme.io", "other.example") is None


def test_parse_inbound_keeps_the_headers_in_order() -> None:
    raw = hostile.spoofed("ana@acme.io", "hi", auth_results=["a; dmarc=fail", "b; dmarc=pass"])
    assert parse_inbound(raw).auth_results == ("a; dmarc=fail", "b; dmarc=pass")
