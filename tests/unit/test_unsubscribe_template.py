"""{unsubscribe_link} in a template: refused at save while PUBLIC_URL is unset (with words that
say what to do), accepted with it, and rendered like any other field."""

from __future__ import annotations

import pytest

from engine.errors import UserInputError
from engine.templates import Template, render_template, sample_values, validate_template

BODY = "Hi {first_name|there},\n\nShort note.\n\nNot interested? {unsubscribe_link}"
T = Template("initial", "Hello", BODY)


def test_it_refuses_the_placeholder_without_public_url_saying_what_to_set() -> None:
    with pytest.raises(UserInputError) as caught:
        validate_template(T, [], unsubscribe_links=False)
    text = str(caught.value)
    assert "{unsubscribe_link} needs PUBLIC_URL" in text and "SECRET_KEY" in text
    assert "Unknown placeholder" not in text


def test_it_accepts_the_placeholder_with_public_url() -> None:
    validate_template(T, [], unsubscribe_links=True)
    validate_template(Template("followup_1", "", BODY), [], unsubscribe_links=True)


def test_it_accepts_a_csv_column_of_that_name_without_public_url() -> None:
    validate_template(T, ["Unsubscribe_Link"], unsubscribe_links=False)


def test_it_still_accepts_templates_without_the_placeholder_when_links_are_off() -> None:
    validate_template(
        Template("initial", "Hello", "Hi {first_name|there}"), [], unsubscribe_links=False
    )


def test_it_renders_the_link() -> None:
    url = "https://out.example.com/u/AblgASCdZVR1CGPbrLmLR6i4km4"
    _, body = render_template(T, {"first_name": "Ana", "unsubscribe_link": url})
    assert body.endswith(f"Not interested? {url}")


def test_test_emails_get_a_sample_link_only_when_links_are_on() -> None:
    assert sample_values("Sam", "sam@x.io", "")["unsubscribe_link"] == ""
    assert (
        sample_values("Sam", "sam@x.io", "", "https://x/u/t")["unsubscribe_link"] == "https://x/u/t"
    )
