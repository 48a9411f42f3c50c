"""engine.template_upgrade: a template saved before spintax renders, after escape_legacy, exactly
what it rendered then (tests/unit/legacy_template_syntax.py is that release's syntax, frozen)."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.template_syntax import has_spintax, render, syntax_errors
from engine.template_upgrade import escape_legacy, legacy_changes
from engine.templates import DEFAULT_TEMPLATES
from tests.unit import legacy_template_syntax as legacy

THOROUGH = settings(max_examples=1000, deadline=None)
FAST = settings(max_examples=300, deadline=None)

old_pieces = st.sampled_from(
    [
        "{",
        "}",
        "{{",
        "}}",
        "|",
        "||",
        "{|}",
        "{|",
        "|}",
        "{{|}}",
        "\n",
        "\r\n",
        "\r",
        " ",
        "a",
        "{first_name}",
        "{first_name|there}",
        "{company|a|b}",
        "{ email }",
        "{1bad}",
        "{a b}",
        "{}",
        "{|x}",
    ]
)
old_text = st.lists(st.one_of(old_pieces, st.text(max_size=4)), max_size=24).map("".join)
field_names = st.sampled_from(["first_name", "company", "email", "x", "First_Name"])
values_strategy = st.dictionaries(field_names, st.text(max_size=6), max_size=3)


@THOROUGH
@given(text=old_text, values=values_strategy, seed=st.integers(0, 2**32))
@example(text="{{a|b}}", values={}, seed=0)
@example(text="{{x {|y", values={}, seed=0)
@example(text="{{{|}}}", values={}, seed=0)
@example(text="{{a|{{b|c}}}}", values={}, seed=0)
def test_an_upgraded_template_renders_what_it_rendered_before(
    text: str, values: dict[str, str], seed: int
) -> None:
    upgraded = escape_legacy(text)
    assert render(upgraded, values, random.Random(seed)) == legacy.render(text, values)
    assert not has_spintax(upgraded)


@FAST
@given(text=old_text)
def test_an_upgraded_template_has_no_new_syntax_problem(text: str) -> None:
    before = legacy.syntax_errors(text)
    after = syntax_errors(escape_legacy(text))
    assert len(after) <= len(before)
    if not before:
        assert after == []


@FAST
@given(text=old_text)
def test_it_changes_only_what_changed_meaning(text: str) -> None:
    changes = legacy_changes(text)
    assert (escape_legacy(text) == text) == (changes == [])
    if "|" not in text:
        assert changes == []
    spintax_problem = any("is never closed on this line: end it" in e for e in syntax_errors(text))
    if "{|}" not in text and not has_spintax(text) and not spintax_problem:
        assert changes == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("{{a|b}}", "{{a{|}b}}"),
        ("Hi {{Jane|Joe}}!", "Hi {{Jane{|}Joe}}!"),
        ("{{a|b", "{{a{|}b"),
        ("{|}", "{{{|}}}"),
        ("{{x {|y", "{{x {{{|}y"),
        ("{{x}} | {{y}}", "{{x}} | {{y}}"),
        ("{{{first_name|there}}}", "{{{first_name|there}}}"),
        ("a | b\n{{c}}", "a | b\n{{c}}"),
        ("{{a\n|b}}", "{{a\n|b}}"),
        ("{{x {{a|b}} y}}", "{{x {{a{|}b}} y}}"),
    ],
)
def test_it_escapes_what_would_change(old: str, new: str) -> None:
    assert escape_legacy(old) == new
    assert render(new, {}) == legacy.render(old, {})


def test_it_says_where_and_what_it_changed() -> None:
    assert legacy_changes("ok\n{{a|b}} {|}") == [
        "line 2, column 4: | between {{ and }} would now separate spintax options: written "
        "{|}, a literal |",
        "line 2, column 9: {|} would now be a literal |: written {{{|}}}, which shows {|} as "
        "it did before",
    ]


@pytest.mark.parametrize("name", sorted(DEFAULT_TEMPLATES))
def test_it_leaves_the_shipped_defaults_alone(name: str) -> None:
    t = DEFAULT_TEMPLATES[name]
    assert legacy_changes(t.subject) == legacy_changes(t.body) == []
