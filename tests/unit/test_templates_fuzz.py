"""Property tests for engine.templates: rendering never raises, and the syntax is consistent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import UserInputError
from engine.template_syntax import placeholders, render, syntax_errors
from engine.templates import Template, render_template, validate_template

FAST = settings(max_examples=200, deadline=None)

template_pieces = st.sampled_from(
    [
        "{",
        "}",
        "{{",
        "}}",
        "|",
        "\n",
        "\r\n",
        "{first_name}",
        "{first_name|there}",
        "{Company|}",
        "{ email }",
        "{nope|x}",
        "{1bad}",
        "{a b}",
        "{}",
        "{|x}",
        "{|}",
        "{{a|b}}",
        "{{Hi {first_name|there}|Hello}}",
        "Hi ",
        "é",
        "\x00",
    ]
)
template_text = st.lists(st.one_of(template_pieces, st.text(max_size=6)), max_size=20).map("".join)
field_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
values_strategy = st.dictionaries(st.one_of(field_names, st.text(max_size=8)), st.text(max_size=20))
plain_text = st.text(max_size=40).filter(lambda s: "{" not in s and "}" not in s)


@FAST
@given(text=st.one_of(template_text, st.text()), values=values_strategy)
def test_it_never_raises_when_rendering(text: str, values: dict[str, str]) -> None:
    assert isinstance(render(text, values), str)


@FAST
@given(subject=template_text, body=template_text, values=values_strategy)
def test_it_always_renders_a_one_line_subject(
    subject: str, body: str, values: dict[str, str]
) -> None:
    rendered_subject, rendered_body = render_template(Template("initial", subject, body), values)
    assert not any(c in rendered_subject for c in "\r\n\x00\t\x0b\x0c\x85\u2028\u2029")
    assert rendered_subject == rendered_subject.strip()
    assert "\r" not in rendered_body


@FAST
@given(text=plain_text)
def test_it_renders_text_without_braces_unchanged(text: str) -> None:
    assert render(text, {"first_name": "x"}) == text


@FAST
@given(text=st.text(max_size=40).filter(lambda s: "|" not in s))
def test_it_renders_doubled_braces_as_the_original_text(text: str) -> None:
    # Text with a | between braces needs {|} too (tests/unit/test_spintax.py).
    escaped = text.replace("{", "{{").replace("}", "}}")
    assert syntax_errors(escaped) == []
    assert render(escaped, {}) == text


@FAST
@given(
    name=field_names,
    value=st.text(max_size=20),
    fallback=plain_text.filter(lambda s: "\n" not in s and "\r" not in s and "|" not in s),
)
def test_it_renders_value_or_fallback(name: str, value: str, fallback: str) -> None:
    rendered = render("{" + name + "|" + fallback + "}", {name.upper(): value})
    assert rendered == (value.strip() or fallback.strip())


@FAST
@given(text=template_text, known=st.sets(field_names, max_size=3))
def test_it_validates_only_by_raising_user_input_error(text: str, known: set[str]) -> None:
    try:
        validate_template(Template("initial", "Subject", text), known)
    except UserInputError as exc:
        assert str(exc).startswith("Template 'initial' has ")


@FAST
@given(text=template_text)
def test_it_accepts_every_placeholder_it_lists_when_the_syntax_is_clean(text: str) -> None:
    if syntax_errors(text) or not text.strip():
        return
    validate_template(Template("initial", "Subject", text), placeholders(text))
