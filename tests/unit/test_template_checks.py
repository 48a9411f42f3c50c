"""Template checks at save: warnings that never block — long or shouting subjects, many links or
a shortener, images and attachments, spam-trigger words in our languages, no placeholder."""

from __future__ import annotations

import pytest

from bot.messages.templates import warnings_text
from engine.template_checks import Warn, check_template

GOOD_BODY = "Hi {first_name|there},\n\nquick idea for {company}: … Worth a chat?\n\n{sender_name}"


def kinds(subject: str, body: str = GOOD_BODY) -> list[Warn]:
    return [w.kind for w in check_template(subject, body)]


def test_a_plain_personal_template_gets_no_warning() -> None:
    assert kinds("Quick question, {first_name}") == []
    assert warnings_text(check_template("Quick question", GOOD_BODY)) == ""


def test_a_subject_over_60_characters_as_a_lead_sees_it() -> None:
    # 60 characters as written, but {company} is filled: over 60 as read.
    subject = "An idea to shorten the sales cycle at {company} this quarter"
    assert len(subject) == 60
    [w] = check_template(subject, GOOD_BODY)
    assert w.kind == Warn.LONG_SUBJECT and int(w.detail) > 60
    assert kinds("An idea for {company}") == []
    # spintax counts its first option
    assert kinds("{{Hi|" + "x" * 80 + "}} {first_name}") == []


@pytest.mark.parametrize(
    ("subject", "caps"),
    [
        ("QUICK QUESTION", True),
        ("FREE DEMO FOR {company}", True),
        ("Quick question", False),
        ("CRM + ERP", False),
        ("Re: an idea from ACME", False),
    ],
)
def test_a_subject_in_capitals(subject: str, caps: bool) -> None:
    assert (Warn.CAPS_SUBJECT in kinds(subject)) is caps


def test_more_than_two_links_and_any_shortener() -> None:
    two = GOOD_BODY + "\nhttps://acme.com/a and www.acme.com/b."
    assert kinds("Hi {first_name}", two) == []
    three = two + " https://acme.com/c"
    [w] = check_template("Hi {first_name}", three)
    assert (w.kind, w.detail) == (Warn.MANY_LINKS, "3")
    short = check_template("Hi", GOOD_BODY + "\nhttps://bit.ly/3xYz and http://t.co/q")
    assert [(w.kind, w.detail) for w in short] == [(Warn.SHORTENER, "bit.ly, t.co")]


@pytest.mark.parametrize(
    "line",
    [
        "See attached our deck.",
        "<img src=x>",
        "Check https://acme.com/pic.png",
        "Anbei unsere Preisliste.",
        "Ci-joint notre offre.",
        "Te envío el archivo adjunto.",
        "In allegato il listino.",
        "Во вложении презентация.",
    ],
)
def test_images_and_attachments_in_each_language(line: str) -> None:
    assert Warn.ATTACHMENT in kinds("Hi {first_name}", f"{GOOD_BODY}\n{line}")


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("Click here for a FREE trial!", "click here, free"),
        ("Kostenlos und garantiert.", "garantiert, kostenlos"),
        ("Cliquez ici, c'est gratuit.", "cliquez ici, gratuit"),
        ("Oferta especial, sin compromiso.", "oferta especial, sin compromiso"),
        ("Grátis e garantido.", "garantido, gratis"),
        ("Clicca qui: offerta speciale.", "clicca qui, offerta speciale"),
        ("Бесплатно и срочно!", "бесплатно, срочно"),
    ],
)
def test_spam_trigger_words(line: str, found: str) -> None:
    [w] = check_template("Hi {first_name}", f"{GOOD_BODY}\n{line}")
    assert (w.kind, w.detail) == (Warn.SPAM_PHRASE, found)


def test_words_inside_other_words_do_not_count() -> None:
    assert kinds("Hi {first_name}", GOOD_BODY + "\nFreedom, cashflow and freelancers.") == []


def test_no_placeholder_at_all() -> None:
    assert kinds("Quick question", "Hello,\nwe make CRMs.\n{{Best|Cheers}}") == [
        Warn.NO_PLACEHOLDER
    ]
    text = warnings_text(check_template("Quick question", "Hello"))
    assert text.startswith("⚠️ Saved, but check before sending:") and "{first_name}" in text


def test_hostile_sizes_return() -> None:
    huge = ("{" * 100_000) + ("http://" * 50_000) + ("a." * 100_000)
    assert isinstance(check_template(huge, huge), list)
