"""engine.template_syntax's spintax: {{Hi|Hello}} picks one option per email; {{x}} and {|} are
literal; every mistake is refused with its position; rendering never raises."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.template_syntax import (
    SPINTAX_MAX_OPTIONS,
    SPINTAX_OPTION_MAX_CHARS,
    fields_in_every_version,
    has_spintax,
    ordered_fields,
    placeholders,
    render,
    spintax_combinations,
    spintax_options,
    syntax_errors,
)

FAST = settings(max_examples=200, deadline=None)
JANE = {"first_name": "Jane", "company": "Acme"}


def draws(text: str, n: int, seed: int = 7, values: dict[str, str] | None = None) -> Counter[str]:
    rng = random.Random(seed)
    return Counter(render(text, values or {}, rng) for _ in range(n))


# Chi-square critical values at p = 0.001, by degrees of freedom: a fair pick fails one seed in
# a thousand (and the seeds are fixed, so a passing test keeps passing).
CHI2_CRITICAL_001 = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52}


def looks_uniform(counts: Counter[str], options: list[str]) -> bool:
    """Whether ``counts`` over ``options`` pass a chi-square test of uniformity at p = 0.001."""
    total = sum(counts.values())
    expected = total / len(options)
    chi2 = sum((counts[o] - expected) ** 2 / expected for o in options)
    return set(counts) <= set(options) and chi2 < CHI2_CRITICAL_001[len(options) - 1]


class FavoursTheFirst(random.Random):
    """A slightly biased picker: of 4 options, the first 30% of the time instead of 25%."""

    def randrange(self, n: int) -> int:  # type: ignore[override]
        return 0 if self.random() < 1 / 15 else super().randrange(n)


# --------------------------------------------------------------------------- picking


def test_it_picks_every_option() -> None:
    assert set(draws("{{Hi|Hello|Hey}}", 200)) == {"Hi", "Hello", "Hey"}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_it_picks_the_options_uniformly(seed: int) -> None:
    options = ["a", "b", "c", "d"]
    assert looks_uniform(draws("{{a|b|c|d}}", 4000, seed), options)


def test_the_uniformity_check_fails_a_biased_pick() -> None:
    rng = FavoursTheFirst(7)
    counts = Counter(render("{{a|b|c|d}}", {}, rng) for _ in range(4000))
    assert not looks_uniform(counts, ["a", "b", "c", "d"])


def test_it_picks_each_spintax_on_its_own() -> None:
    assert set(draws("{{a|b}}{{a|b}}", 400)) == {"aa", "ab", "ba", "bb"}


def test_the_same_seed_gives_the_same_email() -> None:
    text = "{{Hi|Hello|Hey}} {first_name}, {{quick|short}} question"
    first = render(text, JANE, random.Random("lead 42, step 0"))
    assert render(text, JANE, random.Random("lead 42, step 0")) == first


def test_it_picks_with_the_system_randomness_by_default() -> None:
    assert {render("{{Hi|Hello}}", {}) for _ in range(200)} == {"Hi", "Hello"}


def test_it_uses_options_exactly_as_written() -> None:
    assert set(draws("[{{ a |b  }}]", 200)) == {"[ a ]", "[b  ]"}


@FAST
@given(
    options=st.lists(
        st.text(min_size=1, max_size=8).filter(
            lambda s: s.strip() and not any(c in s for c in "{}|\r\n")
        ),
        min_size=2,
        max_size=5,
    ),
    seed=st.integers(0, 1000),
)
def test_it_renders_one_of_the_options(options: list[str], seed: int) -> None:
    text = "{{" + "|".join(options) + "}}"
    assert syntax_errors(text) == []
    assert render(text, {}, random.Random(seed)) in options
    assert spintax_options(text) == [options]


# --------------------------------------------------------------------------- placeholders inside


def test_it_fills_the_placeholders_inside_the_chosen_option() -> None:
    text = "{{Hi {first_name|there}|Hello {first_name|you}}}!"
    assert set(draws(text, 100, values=JANE)) == {"Hi Jane!", "Hello Jane!"}
    assert set(draws(text, 100)) == {"Hi there!", "Hello you!"}


def test_a_bar_inside_a_placeholder_belongs_to_the_placeholder() -> None:
    assert not has_spintax("{{Hi {first_name|there}}}")
    assert render("{{Hi {first_name|there}}}", {}) == "{Hi there}"
    assert render("{{{company|a|b}}}", {}) == "{a|b}"


def test_it_lists_the_placeholders_of_every_option() -> None:
    text = "{{Hi {first_name}|Hey {last_name|you}}} from {company}"
    assert placeholders(text) == {"first_name", "last_name", "company"}
    assert ordered_fields(text) == ["first_name", "last_name", "company"]


def test_it_knows_which_fields_every_version_contains() -> None:
    text = "{{Hi {first_name}|Hey {first_name} at {company}}} {{{x}|y}} {email}"
    assert fields_in_every_version(text) == {"first_name", "email"}


# --------------------------------------------------------------------------- literal braces


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("{{first_name}} is {first_name}; }}{{", "{first_name} is Jane; }{"),
        ("{{}}", "{}"),
        ("}} alone", "} alone"),
        ("{{ alone", "{ alone"),
        ("{{{first_name}}}", "{Jane}"),
        ("{{ {{x}} }}", "{ {x} }"),
        ("a | b {{x}} | c", "a | b {x} | c"),
        ("{{x}} | {{y}}", "{x} | {y}"),
        ("{{a\n|b}}", "{a\n|b}"),
    ],
)
def test_doubled_braces_without_a_bar_stay_literal(text: str, rendered: str) -> None:
    assert syntax_errors(text) == []
    assert not has_spintax(text)
    assert render(text, JANE) == rendered


def test_a_bar_in_braces_is_a_literal_bar() -> None:
    assert render("a {|} b", {}) == "a | b"
    assert render("{{a{|}b}}", {}) == "{a|b}"
    assert set(draws("{{A {|} B|C}}", 100)) == {"A | B", "C"}
    assert syntax_errors("{{a{|}b}} {|}") == []


def test_spintax_inside_literal_braces_is_spintax() -> None:
    assert set(draws("{{x {{a|b}} y}}", 100)) == {"{x a y}", "{x b y}"}


@FAST
@given(text=st.text(max_size=40))
def test_any_text_is_written_literally_by_doubling_braces_and_escaping_bars(text: str) -> None:
    escaped = text.replace("{", "{{").replace("}", "}}").replace("|", "{|}")
    assert syntax_errors(escaped) == []
    assert render(escaped, {}) == text


# --------------------------------------------------------------------------- errors


def test_it_refuses_an_unclosed_spintax_with_its_position() -> None:
    (error,) = syntax_errors("Hi\nthere {{a|b and more")
    assert error.startswith("line 2, column 7: spintax {{a|b and more is never closed")
    assert "{|}" in error


@pytest.mark.parametrize(
    ("text", "where", "number"),
    [
        ("{{a||b}}", "line 1, column 5", 2),
        ("{{|a}}", "line 1, column 3", 1),
        ("{{a|}}", "line 1, column 5", 2),
        ("x\n{{a| \t |b}}", "line 2, column 5", 2),
    ],
)
def test_it_refuses_an_empty_option_with_its_position(text: str, where: str, number: int) -> None:
    (error,) = syntax_errors(text)
    assert error.startswith(f"{where}: option {number} of spintax ")
    assert "is empty" in error


def test_it_refuses_too_many_options() -> None:
    options = [f"o{n}" for n in range(SPINTAX_MAX_OPTIONS + 1)]
    assert syntax_errors("{{" + "|".join(options[:-1]) + "}}") == []
    (error,) = syntax_errors("Hi {{" + "|".join(options) + "}}")
    assert error.startswith("line 1, column 4: spintax {{o0|o1|")
    assert f"has {SPINTAX_MAX_OPTIONS + 1} options; the limit is {SPINTAX_MAX_OPTIONS}" in error


def test_it_refuses_an_option_too_long() -> None:
    ok = "x" * SPINTAX_OPTION_MAX_CHARS
    assert syntax_errors("{{a|" + ok + "}}") == []
    (error,) = syntax_errors("{{a|" + ok + "y}}")
    assert error.startswith("line 1, column 5: option 2 of spintax {{a|xxx")
    assert f"is {SPINTAX_OPTION_MAX_CHARS + 1} characters long" in error


def test_it_refuses_nested_spintax_and_copies_it_as_written() -> None:
    (error,) = syntax_errors("{{a|b {{c|d}}}}")
    assert error.startswith("line 1, column 7: spintax {{c|d}} inside an option of another")
    assert set(draws("{{a|b {{c|d}}}}", 100)) == {"a", "b {{c|d}}"}


def test_it_refuses_nested_spintax_inside_literal_braces_inside_an_option() -> None:
    (error,) = syntax_errors("{{a|{{ x {{c|d}} }}}}")
    assert "spintax {{c|d}} inside an option" in error


def test_it_renders_an_unclosed_spintax_as_literal_text() -> None:
    assert render("{{a|b", {}) == "{a|b"


def test_it_lists_errors_in_order_of_position() -> None:
    errors = syntax_errors("{{a|b {x y}\n{{c||d}} }")
    assert [e.split(":")[0] for e in errors] == [
        "line 1, column 1",
        "line 1, column 7",
        "line 2, column 5",
        "line 2, column 10",
    ]


def test_it_reports_placeholder_errors_inside_options() -> None:
    (error,) = syntax_errors("{{Hi {first name}|Hello}}")
    assert error.startswith("line 1, column 6: {first name} is not a valid placeholder")


def test_it_shortens_a_long_spintax_in_a_message() -> None:
    (error,) = syntax_errors("{{" + "a" * 100 + "||b}}")
    assert "option 2 of spintax {{" + "a" * 37 + "… is empty" in error


# --------------------------------------------------------------------------- for the preview


def test_it_lists_the_options_of_each_spintax_as_written() -> None:
    text = "{{Hi|Hello}} {first_name}, {{there|{company|friend}}} {{x}}"
    assert spintax_options(text) == [["Hi", "Hello"], ["there", "{company|friend}"]]
    assert spintax_combinations(text) == 4
    assert has_spintax(text)


def test_an_option_renders_alone_as_in_place() -> None:
    (options,) = spintax_options("{{A {|} B {{x}} {company}|C}}")
    assert [render(o, JANE) for o in options] == ["A | B {x} Acme", "C"]


def test_it_finds_no_spintax_in_plain_templates() -> None:
    assert not has_spintax("Hi {first_name|there}, {{literal}}")
    assert spintax_options("Hi") == []
    assert spintax_combinations("Hi") == 1
