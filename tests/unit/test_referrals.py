"""Which addresses a reply names as new contacts: those in its text, not the lead's own, not
ours, not in its signature block (after a sign-off in any of the languages leads write in, or
the "-- " delimiter) and not the company's generic contact lines; at most three, and quickly
whatever the input."""

from __future__ import annotations

import time

import pytest

from engine.inbox.referrals import (
    MAX_REFERRALS,
    guess_name,
    is_sign_off,
    referral_addresses,
)

LEAD = "ana@acme.io"
OURS = ("sam@ourdomain.com",)


def refs(text: str, lead: str = LEAD, own: tuple[str, ...] = OURS) -> list[str]:
    return referral_addresses(text, lead, own)


def test_it_finds_an_address_the_reply_refers_to() -> None:
    text = "Hi Sam,\n\nI'm not the right person; please write to maria.lopez@acme.io instead.\n"
    assert refs(text) == ["maria.lopez@acme.io"]


def test_it_finds_addresses_in_brackets_mailto_and_at_a_sentence_end() -> None:
    text = "Hi,\nTalk to <jon@acme.io>, (pat@partner.com) or mailto:lee@acme.io.\nAlso kim@beta.io."
    assert refs(text) == ["jon@acme.io", "pat@partner.com", "lee@acme.io"]


def test_it_never_offers_the_leads_own_address_or_ours() -> None:
    text = "Hi,\nI am ana@acme.io (ANA@ACME.IO) and you are Sam@OurDomain.com; ask bo@acme.io"
    assert refs(text) == ["bo@acme.io"]


def test_it_offers_each_address_once_and_at_most_three() -> None:
    text = "Hi,\n" + " ".join(f"p{i}@acme.io p{i}@acme.io" for i in range(6))
    assert refs(text) == ["p0@acme.io", "p1@acme.io", "p2@acme.io"]
    assert MAX_REFERRALS == 3


def test_it_leaves_out_addresses_nobody_reads_and_invalid_ones() -> None:
    text = "Hi,\nnoreply@acme.io, postmaster@acme.io, a@b, x@localhost, me@acme.test, ok@acme.io"
    assert refs(text) == ["ok@acme.io"]


def test_it_skips_quoted_lines() -> None:
    text = "Please ask maria@acme.io\n\n> On Monday jon@acme.io wrote:\n> hi"
    assert refs(text) == ["maria@acme.io"]


@pytest.mark.parametrize(
    "sign_off",
    [
        "Best,",
        "Best regards,",
        "Kind regards",
        "Regards",
        "Cheers!",
        "Thanks,",
        "Thank you.",
        "Mit freundlichen Grüßen",
        "Viele Grüße",
        "Cordialement,",
        "Bien à vous",
        "Saludos,",
        "Atentamente",
        "Atenciosamente,",
        "Cordiali saluti",
        "Met vriendelijke groet,",
        "С уважением,",
        "Best, Ana",
        "Thanks, Ana Diaz",
    ],
)
def test_it_ignores_the_signature_after_a_sign_off(sign_off: str) -> None:
    text = (
        "Hi Sam,\n\nMy colleague maria@acme.io handles this.\n\n"
        f"{sign_off}\nAna Diaz\nHead of Sales\nana.diaz@acme.io\nassistant@acme.io\n"
    )
    assert is_sign_off(sign_off)
    assert refs(text) == ["maria@acme.io"]


def test_it_ignores_the_signature_after_the_dash_dash_delimiter() -> None:
    text = "Ask maria@acme.io.\n-- \nAna Diaz | Acme\nsales@acme.io\n"
    assert refs(text) == ["maria@acme.io"]


def test_it_reads_a_postscript_after_the_signature_again() -> None:
    text = "Ask maria@acme.io.\n\nBest,\nAna\nana2@acme.io\n\nP.S. lee@acme.io knows too."
    assert refs(text) == ["maria@acme.io", "lee@acme.io"]


def test_a_sign_off_on_the_first_line_is_a_greeting_not_the_end() -> None:
    text = "Thanks!\n\nPlease loop in maria@acme.io.\n\nCheers,\nAna\nana.d@acme.io"
    assert refs(text) == ["maria@acme.io"]


@pytest.mark.parametrize(
    "line",
    [
        "Thanks, please write to maria@acme.io",
        "Thanks for reaching out.",
        "Best time to call is Monday",
        "Thanks, that works for me",
        "Regards to your team from all of us here at Acme, we loved the demo",
    ],
)
def test_a_sentence_starting_like_a_sign_off_is_not_one(line: str) -> None:
    assert not is_sign_off(line)
    assert refs(f"Hi,\n{line}\nAsk jon@acme.io")[-1] == "jon@acme.io"


@pytest.mark.parametrize(
    "line",
    [
        "T: +1 555 123 4567 | info@acme.io",
        "Tel: +49 (30) 1234-5678, office@acme.io",
        "www.acme.io — hello@acme.io",
        "https://acme.io · contact@acme.io",
        "E-mail: sales@acme.io",
        "Acme Inc | sales@acme.io",
    ],
)
def test_it_ignores_the_leads_domain_on_a_contact_line(line: str) -> None:
    assert refs(f"Hi,\nMaria (maria@acme.io) will answer.\n\nAna\n{line}") == ["maria@acme.io"]


def test_it_keeps_another_domain_on_a_contact_line() -> None:
    assert refs("Hi,\nOur agency: www.agency.com, hello@agency.com") == ["hello@agency.com"]


def test_it_finds_nothing_in_a_reply_without_addresses() -> None:
    assert refs("Sounds good, what times do you have?") == []
    assert refs("") == []


@pytest.mark.parametrize(
    "hostile",
    [
        "a@" * 500_000,
        "a." * 500_000,
        "a" * 1_000_000,
        "x@y.io " * 150_000,
        "@." * 500_000,
        "1 " * 500_000,
        "Best,\n" * 170_000,
        ("a" * 70 + "@acme.io ") * 12_000,
        "b@" + "a-" * 500_000 + ".io",
    ],
    ids=["at", "dots", "letters", "many", "at-dot", "digits", "sign-offs", "long-local", "label"],
)
def test_it_returns_quickly_on_a_megabyte_of_hostile_text(hostile: str) -> None:
    start = time.thread_time()
    out = referral_addresses(hostile, LEAD, OURS)
    assert time.thread_time() - start < 1.0
    assert len(out) <= MAX_REFERRALS


def test_it_guesses_a_name_from_a_first_dot_last_address() -> None:
    assert guess_name("maria.lopez@acme.io") == ("Maria", "Lopez")
    assert guess_name("MARIA_LOPEZ@acme.io") == ("Maria", "Lopez")
    assert guess_name("sales.team@acme.io") == ("", "")
    assert guess_name("maria@acme.io") == ("", "")
    assert guess_name("m.lopez@acme.io") == ("", "")
    assert guess_name("maria.lopez2@acme.io") == ("", "")
