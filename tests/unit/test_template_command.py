"""engine.template_command: /template STEP [VARIANT] [delete], then Subject: and the body."""

from __future__ import annotations

import pytest

from engine.errors import UserInputError
from engine.template_command import TemplateCommand, parse_template_command
from engine.templates import normalise_variant


def refusal(text: str) -> str:
    with pytest.raises(UserInputError) as info:
        parse_template_command(text)
    return str(info.value)


# --------------------------------------------------------------------------- good input


def test_it_reads_variant_a_without_a_variant() -> None:
    text = "/template initial\nSubject: Hi {first_name}\n\nHello,\nthere\n"
    assert parse_template_command(text) == TemplateCommand(
        "initial", "A", False, "Hi {first_name}", "Hello,\nthere"
    )


def test_it_reads_a_variant_letter() -> None:
    text = "/template initial B\nSubject: {{Hi|Hey}}\nHello"
    assert parse_template_command(text) == TemplateCommand(
        "initial", "B", False, "{{Hi|Hey}}", "Hello"
    )


def test_it_reads_a_follow_up_variant_without_subject() -> None:
    command = parse_template_command("/template followup_1 c\nJust checking in.")
    assert (command.name, command.variant, command.subject, command.body) == (
        "followup_1",
        "C",
        "",
        "Just checking in.",
    )


@pytest.mark.parametrize(
    "first_line",
    [
        "/template@OutreachBot initial B",
        "/TEMPLATE Initial b",
        "  /template \t initial \t B  ",
        "/template@outreach_bot initial\tB",
    ],
)
def test_it_reads_the_command_line_in_any_spelling(first_line: str) -> None:
    command = parse_template_command(first_line + "\nBody")
    assert (command.name, command.variant, command.body) == ("initial", "B", "Body")


def test_it_reads_crlf_line_endings() -> None:
    command = parse_template_command("/template initial B\r\nSubject: S\r\n\r\nBody\r\n")
    assert (command.variant, command.subject, command.body) == ("B", "S", "Body")


def test_it_reads_a_deletion() -> None:
    assert parse_template_command("/template followup_2 B delete") == TemplateCommand(
        "followup_2", "B", True, "", ""
    )
    assert parse_template_command("/template initial z DELETE\n\n").variant == "Z"


def test_it_keeps_text_on_the_first_line_as_the_email_as_before_variants() -> None:
    command = parse_template_command("/template followup_1 Just checking in.")
    assert (command.variant, command.body) == ("A", "Just checking in.")


def test_a_letter_followed_by_text_is_the_start_of_the_email() -> None:
    command = parse_template_command("/template followup_1 I wanted to follow up\nBest, Sam")
    assert (command.variant, command.body) == ("A", "I wanted to follow up\nBest, Sam")


def test_it_normalises_variants() -> None:
    assert normalise_variant(" b ") == "B"
    assert normalise_variant("Z") == "Z"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("variant", ["B2", "AB", "1", "É", "ı"])
def test_it_refuses_a_bad_variant_saying_what_is_allowed(variant: str) -> None:
    message = refusal(f"/template initial {variant}\nBody")
    assert f"{variant!r} is not a variant" in message
    assert "single letters, A to Z" in message


@pytest.mark.parametrize("variant", ["", "-", "BB", "ß"])
def test_it_refuses_a_bad_variant_name(variant: str) -> None:
    with pytest.raises(UserInputError, match="A to Z"):
        normalise_variant(variant)


def test_it_refuses_a_bad_variant_in_a_deletion() -> None:
    assert "'BB' is not a variant" in refusal("/template initial BB delete")


@pytest.mark.parametrize("text", ["/template calendar B\nBody", "/template calendar B delete"])
def test_it_refuses_variants_of_the_calendar_answer(text: str) -> None:
    assert "calendar answer has no variants" in refusal(text)


def test_it_reads_the_calendar_answer_as_variant_a() -> None:
    command = parse_template_command("/template calendar\nBook here: {calendar_link}")
    assert (command.name, command.variant) == ("calendar", "A")


@pytest.mark.parametrize("text", ["/template initial delete", "/template initial A delete"])
def test_it_refuses_to_delete_variant_a(text: str) -> None:
    assert "Variant A is initial's main template and cannot be deleted" in refusal(text)


def test_it_refuses_text_after_delete() -> None:
    assert "nothing was deleted" in refusal("/template initial B delete\nHi there")
    assert "Nothing may follow 'delete'" in refusal("/template initial B delete now")


def test_it_refuses_a_missing_step() -> None:
    assert refusal("/template\nSubject: Hi\nBody").startswith("Which template?")


def test_it_refuses_an_unknown_step() -> None:
    message = refusal("/template intro B\nBody")
    assert "no template called 'intro'" in message
    assert "followup_1" in message


def test_it_refuses_a_message_that_is_not_the_command() -> None:
    assert refusal("/templates").startswith("Start the message with /template")


def test_it_refuses_a_variant_without_text() -> None:
    with pytest.raises(UserInputError, match="for example:"):
        parse_template_command("/template initial B\n\n")
