"""engine.templates and engine.template_syntax: names, defaults, placeholder syntax, validation,
rendering, chat parsing."""

from __future__ import annotations

import random
import re

import pytest

from engine.errors import UserInputError
from engine.template_syntax import placeholders, render, syntax_errors
from engine.templates import (
    BASE_FIELDS,
    BODY_MAX_CHARS,
    DEFAULT_TEMPLATES,
    Template,
    default_template,
    is_template_name,
    parse_template_message,
    render_template,
    sample_values,
    template_names,
    validate_template,
)

LEAD = {
    "email": "jane@example.com",
    "first_name": "Jane",
    "last_name": "Doe",
    "company": "Example Ltd",
    "sender_name": "Sam",
    "sender_email": "sam@acme.io",
    "calendar_link": "https://cal.example/sam",
}


def problems_of(t: Template, known: set[str] | None = None) -> str:
    with pytest.raises(UserInputError) as info:
        validate_template(t, known or set())
    return str(info.value)


# --------------------------------------------------------------------------- names


def test_it_names_templates_in_sending_order() -> None:
    assert template_names(3) == ["initial", "followup_1", "followup_2", "followup_3", "calendar"]


def test_it_names_only_initial_and_calendar_without_follow_ups() -> None:
    assert template_names(0) == ["initial", "calendar"]


def test_it_refuses_a_negative_follow_up_count() -> None:
    with pytest.raises(ValueError):
        template_names(-1)


@pytest.mark.parametrize("name", ["initial", "calendar", "followup_1", "followup_12", " Initial "])
def test_it_recognises_template_names(name: str) -> None:
    assert is_template_name(name)


@pytest.mark.parametrize("name", ["followup_0", "followup_", "followup_01", "intro", ""])
def test_it_rejects_other_template_names(name: str) -> None:
    assert not is_template_name(name)


# --------------------------------------------------------------------------- defaults


def test_it_ships_defaults_for_initial_two_follow_ups_and_calendar() -> None:
    assert set(DEFAULT_TEMPLATES) == {"initial", "followup_1", "followup_2", "calendar"}
    assert all(t.name == name for name, t in DEFAULT_TEMPLATES.items())


@pytest.mark.parametrize("name", sorted(DEFAULT_TEMPLATES))
def test_it_ships_defaults_that_validate(name: str) -> None:
    validate_template(DEFAULT_TEMPLATES[name], set())


@pytest.mark.parametrize("name", sorted(DEFAULT_TEMPLATES))
def test_it_personalises_defaults_with_fallbacks(name: str) -> None:
    body = DEFAULT_TEMPLATES[name].body
    assert "{first_name|there}" in body
    assert all(
        "|" in m or m == "{sender_name}" or m == "{calendar_link}"
        for m in re.findall(r"\{[^}]*\}", body)
    )


def test_it_ships_a_calendar_default_with_the_link() -> None:
    assert "{calendar_link}" in DEFAULT_TEMPLATES["calendar"].body


@pytest.mark.parametrize("name", sorted(DEFAULT_TEMPLATES))
def test_it_ships_short_defaults_without_spammy_words(name: str) -> None:
    t = DEFAULT_TEMPLATES[name]
    text = (t.subject + " " + t.body).lower()
    assert len(t.body) < 600
    for word in ("free", "guarantee", "act now", "limited time", "click here", "!!", "$", "winner"):
        assert word not in text


def test_it_synthesises_a_default_for_later_follow_ups() -> None:
    t = default_template("followup_5")
    assert t.name == "followup_5"
    validate_template(t, set())


def test_it_returns_the_shipped_default_by_name() -> None:
    assert default_template("Followup_1") is DEFAULT_TEMPLATES["followup_1"]


def test_it_refuses_a_default_for_an_unknown_name() -> None:
    with pytest.raises(UserInputError, match="initial"):
        default_template("intro")


def test_it_renders_the_defaults_without_leftover_braces() -> None:
    for name in template_names(4):
        subject, body = render_template(default_template(name), LEAD)
        assert "{" not in subject + body and "}" not in subject + body


# --------------------------------------------------------------------------- syntax


def test_it_lists_placeholders_lower_cased() -> None:
    assert placeholders("Hi {First_Name|there} at {COMPANY} {{literal}}") == {
        "first_name",
        "company",
    }


def test_it_allows_spaces_around_the_field_name() -> None:
    assert render("Hi { first_name | there }!", {}) == "Hi there!"


def test_it_renders_a_value() -> None:
    assert render("Hi {first_name},", LEAD) == "Hi Jane,"


def test_it_renders_the_fallback_for_a_missing_value() -> None:
    assert render("Hi {first_name|there},", {}) == "Hi there,"


def test_it_renders_the_fallback_for_a_blank_value() -> None:
    assert render("Hi {first_name|there},", {"first_name": " \t "}) == "Hi there,"


def test_it_renders_nothing_for_a_missing_value_without_fallback() -> None:
    assert render("Hi {first_name},", {}) == "Hi ,"


def test_it_strips_values() -> None:
    assert render("[{company}]", {"company": "  Acme  "}) == "[Acme]"


def test_it_renders_literal_braces() -> None:
    assert render("{{first_name}} is {first_name}; }}{{", LEAD) == "{first_name} is Jane; }{"


def test_it_matches_fields_case_insensitively() -> None:
    assert render("{FIRST_NAME} {First_name}", {"First_Name": "Jane"}) == "Jane Jane"


def test_it_does_not_interpret_braces_inside_values() -> None:
    assert render("{company}", {"company": "{first_name} {{x}}"}) == "{first_name} {{x}}"


def test_it_renders_an_unknown_field_as_its_fallback() -> None:
    assert render("{nope|fine}", LEAD) == "fine"


def test_it_copies_invalid_brace_syntax_through_when_rendering() -> None:
    assert render("a { } {1x} {a b} {", LEAD) == "a { } {1x} {a b} {"


def test_it_reports_a_lone_open_brace_with_its_position() -> None:
    (error,) = syntax_errors("Hi\nthere { friend")
    assert error.startswith("line 2, column 7:")
    assert "never closed" in error


def test_it_reports_a_lone_close_brace_with_its_position() -> None:
    (error,) = syntax_errors("Hi } there")
    assert error.startswith("line 1, column 4:")
    assert "without a matching" in error


def test_it_reports_an_invalid_field_name() -> None:
    (error,) = syntax_errors("Hi {first name}")
    assert "{first name} is not a valid placeholder" in error


def test_it_reports_an_empty_placeholder() -> None:
    (error,) = syntax_errors("Hi {}")
    assert "no field name" in error


def test_it_finds_no_syntax_errors_in_valid_text() -> None:
    assert syntax_errors("Hi {a|b c, d!} {{ }} {_x9}") == []


# --------------------------------------------------------------------------- validation


def test_it_refuses_an_unknown_placeholder_and_lists_available_fields() -> None:
    message = problems_of(Template("initial", "Hello {compnay}", "Hi {first_name}"))
    assert "Unknown placeholder {compnay}" in message
    assert "Did you mean {company}?" in message
    assert "add a 'compnay' column to your CSV" in message
    assert "Available fields: " + ", ".join(sorted(BASE_FIELDS)) in message


def test_it_lists_every_unknown_placeholder() -> None:
    message = problems_of(Template("initial", "Hi {aaa}", "{bbb} {ccc|x} {aaa}"))
    assert [m for m in re.findall(r"Unknown placeholder \{(\w+)\}", message)] == [
        "aaa",
        "bbb",
        "ccc",
    ]


def test_it_accepts_custom_csv_columns_as_fields() -> None:
    validate_template(Template("initial", "Re {Industry}", "Hi {industry|folks}"), {"Industry"})


def test_it_accepts_fields_in_any_case() -> None:
    validate_template(Template("initial", "Hi {FIRST_NAME}", "{Company|you}"), set())


def test_it_refuses_an_initial_template_without_subject() -> None:
    assert "needs a subject" in problems_of(Template("initial", "  ", "Hi"))


def test_it_allows_an_empty_subject_for_follow_ups() -> None:
    validate_template(Template("followup_1", "", "Just checking in."), set())


def test_it_refuses_a_multi_line_subject() -> None:
    assert "single line" in problems_of(Template("initial", "Hi\nthere", "Body"))


def test_it_refuses_a_subject_over_200_characters() -> None:
    validate_template(Template("initial", "x" * 200, "Body"), set())
    assert "201 characters" in problems_of(Template("initial", "x" * 201, "Body"))


def test_it_refuses_an_empty_body() -> None:
    assert "body is empty" in problems_of(Template("initial", "Hi", " \n "))


def test_it_refuses_a_body_over_the_limit() -> None:
    validate_template(Template("initial", "Hi", "x" * BODY_MAX_CHARS), set())
    assert "limit is 20000" in problems_of(Template("initial", "Hi", "x" * (BODY_MAX_CHARS + 1)))


def test_it_refuses_brace_errors_naming_subject_or_body() -> None:
    message = problems_of(Template("initial", "Hi {", "Body }"))
    assert "Subject, line 1, column 4:" in message
    assert "Body, line 1, column 6:" in message


def test_it_refuses_a_calendar_template_without_the_link() -> None:
    assert "{calendar_link}" in problems_of(Template("calendar", "", "Thanks, let's talk."))


def test_it_refuses_a_calendar_template_with_the_link_in_only_some_versions() -> None:
    message = problems_of(Template("calendar", "", "{{Book: {calendar_link}|Reply with a time}}"))
    assert "{calendar_link} in every version" in message
    validate_template(Template("calendar", "", "{{Book|Pick}}: {calendar_link}"), set())
    validate_template(Template("calendar", "", "{{A {calendar_link}|B {calendar_link}}}"), set())


def test_it_refuses_spintax_errors_naming_subject_or_body_and_position() -> None:
    message = problems_of(Template("initial", "{{Hi|}} there", "Body\n  {{a|b"))
    assert "- Subject, line 1, column 6: option 2 of spintax {{Hi|}} is empty" in message
    assert "- Body, line 2, column 3: spintax {{a|b is never closed on this line" in message


def test_it_refuses_an_unknown_placeholder_inside_spintax() -> None:
    message = problems_of(Template("initial", "Hi", "{{Hi {frist_name}|Hello}}"))
    assert "Unknown placeholder {frist_name}. Did you mean {first_name}?" in message


def test_it_accepts_spintax_with_known_placeholders() -> None:
    t = Template("initial", "{{Quick|Short}} question", "{{Hi {first_name|there}|Hello}},\nBye")
    validate_template(t, set())


def test_it_refuses_an_unknown_template_name() -> None:
    assert "no template called 'intro'" in problems_of(Template("intro", "Hi", "Body"))


def test_it_counts_the_problems_it_found() -> None:
    message = problems_of(Template("initial", "", ""))
    assert message.startswith("Template 'initial' has 2 problems:")


# --------------------------------------------------------------------------- render_template


def test_it_renders_subject_and_body() -> None:
    t = Template("initial", "Question for {company|you}", "Hi {first_name|there},\nBye")
    assert render_template(t, LEAD) == ("Question for Example Ltd", "Hi Jane,\nBye")


def test_it_collapses_line_breaks_and_control_characters_in_the_rendered_subject() -> None:
    t = Template("initial", "Hi {company}!", "Body")
    values = {"company": "Acme\r\nBcc: evil@x.com\x00\t\x1b  Inc"}
    assert render_template(t, values)[0] == "Hi Acme Bcc: evil@x.com Inc!"


def test_it_renders_spintax_in_subject_and_body_with_the_given_rng() -> None:
    t = Template("initial", "{{Quick|Short}} question", "{{Hi|Hello}} {first_name},\nBye")
    seen = {render_template(t, LEAD, random.Random(seed)) for seed in range(40)}
    assert {subject for subject, _ in seen} == {"Quick question", "Short question"}
    assert {body for _, body in seen} == {"Hi Jane,\nBye", "Hello Jane,\nBye"}
    assert render_template(t, LEAD, random.Random(5)) == render_template(t, LEAD, random.Random(5))


def test_it_normalises_body_line_endings() -> None:
    t = Template("initial", "S", "a\r\nb\rc {company}")
    assert render_template(t, {"company": "x\r\ny"})[1] == "a\nb\nc x\ny"


# --------------------------------------------------------------------------- chat input


def test_it_parses_subject_and_body_from_a_chat_message() -> None:
    text = "Subject: Hello {first_name}\n\nHi there,\nthanks\n\n"
    assert parse_template_message(text) == ("Hello {first_name}", "Hi there,\nthanks")


def test_it_parses_a_body_without_subject_line() -> None:
    assert parse_template_message("Just checking in.\n") == ("", "Just checking in.")


def test_it_accepts_a_lower_case_subject_prefix() -> None:
    assert parse_template_message("subject:Hi\nBody")[0] == "Hi"


def test_it_skips_a_leading_template_command() -> None:
    text = "/template initial\nSubject: Hi\nBody"
    assert parse_template_message(text) == ("Hi", "Body")


def test_it_keeps_a_subject_word_inside_the_body() -> None:
    assert parse_template_message("Hi\nSubject: not a header")[1] == "Hi\nSubject: not a header"


def test_it_refuses_an_empty_template_message_with_an_example() -> None:
    with pytest.raises(UserInputError, match=r"for example:\n\n/template initial\nSubject: "):
        parse_template_message("  \n ")


def test_it_refuses_a_subject_without_body() -> None:
    with pytest.raises(UserInputError):
        parse_template_message("Subject: Hi\n\n")


# --------------------------------------------------------------------------- sample values


def test_it_gives_sample_values_for_every_base_field() -> None:
    values = sample_values("Sam", "sam@acme.io", "https://cal.example/sam")
    assert set(values) == BASE_FIELDS
    assert values["sender_name"] == "Sam"
    assert values["sender_email"] == "sam@acme.io"
    assert values["calendar_link"] == "https://cal.example/sam"
    assert all(values[f].strip() for f in ("first_name", "last_name", "company", "email"))
