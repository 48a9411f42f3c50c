"""Every pattern applied to mail (and to uploaded CSV cells and templates) runs in linear time.

No absolute limits: each check times the same work on adversarial inputs of 1, 4, 16 and
64 KB in the same run and compares consecutive ratios. Quadrupling the input quadruples a
linear pattern's time and multiplies a quadratic one's by 16 (a cubic one's by 64). The bound
is 8x, the geometric middle between the two (growth of n^1.5): it leaves a factor of 2 for
cache effects and timer noise, and still fails anything quadratic. Each time is the best of
three; a failing pair is measured again (up to four times, interleaved, best of 5×3), so a preempted run
cannot fail the test.

The patterns are found by introspection: every compiled ``re.Pattern`` at module level
(alone, or inside a list/tuple/dict) in the modules that read mail, so a new pattern is covered
without touching this file.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from engine import delivery_status, message_ids, template_syntax, templates
from engine.inbox import (
    authres,
    autoreply,
    bounces,
    classify,
    html_text,
    limits,
    mime,
    optout,
    quotes,
)
from engine.leads import csv_import
from engine.leads.lead_file import aliases, cells, decoding, dialect, layout, rows
from engine.sending import messages, smtp, smtp_errors
from tests import hostile

MODULES: list[ModuleType] = [
    classify,
    mime,
    html_text,
    quotes,
    bounces,
    autoreply,
    optout,
    limits,
    authres,
    message_ids,
    delivery_status,
    csv_import,
    decoding,
    dialect,
    aliases,
    layout,
    rows,
    cells,
    templates,
    template_syntax,
    messages,
    smtp,
    smtp_errors,
]
SIZES = (1024, 4 * 1024, 16 * 1024, 64 * 1024)
BOUND = 8.0
TARGET = 1e-4  # seconds the 1 KB measurement is repeated to, so a ratio is not timer noise

# (prefix, repeated chunk, suffix): generic shapes that make backtracking patterns work hard.
FAMILIES: list[tuple[str, str, str]] = [
    ("", "a@", ""),
    ("<", "a@", ""),
    ("", " ", "x"),
    ("", "\n", "x"),
    ("x", "5.", "5"),
    ("re", " ", "x"),
    ("", "re: ", "x"),
    ("", "<", ""),
    ("", "(", ""),
    ("", "a.", ""),
    ("", "=?", ""),
    ("following recipients", " ", "x"),
    ("", "ab;c=d", " "),
]


def _patterns() -> Iterator[tuple[str, re.Pattern[Any]]]:
    def walk(name: str, value: object, depth: int = 0) -> Iterator[tuple[str, re.Pattern[Any]]]:
        if isinstance(value, re.Pattern):
            yield name, value
        elif depth < 2 and isinstance(value, list | tuple):
            for i, item in enumerate(value):
                yield from walk(f"{name}[{i}]", item, depth + 1)
        elif depth < 2 and isinstance(value, dict):
            for key, item in value.items():
                yield from walk(f"{name}[{key!r}]", item, depth + 1)

    for module in MODULES:
        for attr, value in vars(module).items():
            yield from walk(f"{module.__name__.split('.')[-1]}.{attr}", value)


PATTERNS = list(_patterns())


def _best(fn: Callable[[Any], object], arg: Any, loops: int) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn(arg)
        best = min(best, time.perf_counter() - t0)
    return best


def _best_pair(
    fn: Callable[[Any], object], small: Any, big: Any, loops: int
) -> tuple[float, float]:
    """Best of five for both sizes, interleaved, so both see the same load on the machine."""
    best_small = best_big = float("inf")
    for _ in range(5):
        best_small = min(best_small, _best(fn, small, loops))
        best_big = min(best_big, _best(fn, big, loops))
    return best_small, best_big


def growth(fn: Callable[[Any], object], make: Callable[[int], Any]) -> list[float]:
    """Ratios t(4n)/t(n) over SIZES; stops at the first one above BOUND (after one re-measure)."""
    inputs = {n: make(n) for n in SIZES}
    first = _best(fn, inputs[SIZES[0]], 1)
    loops = max(1, min(2000, int(TARGET / max(first, 1e-7))))
    ratios: list[float] = []
    prev = _best(fn, inputs[SIZES[0]], loops)
    for small, big in zip(SIZES, SIZES[1:], strict=False):
        cur = _best(fn, inputs[big], loops)
        ratio = cur / prev
        for _ in range(4):  # a preempted run is not a trend: measure the pair again
            if ratio <= BOUND:
                break
            prev, cur = _best_pair(fn, inputs[small], inputs[big], loops)
            ratio = cur / prev
        ratios.append(ratio)
        if ratio > BOUND:
            break
        prev = cur
    return ratios


# Patterns the code only applies with .match()/.fullmatch() at one position (never searched).
# They are held to the same bound, exercised the way they are used. Anything not listed here is
# held to the stricter check: finditer over the whole input (every start position).
ANCHORED_ONLY = {
    "rows._FAST_EMAIL": "lead_file.rows._fast_normalised: _FAST_EMAIL.match(value)",
    "rows._ASCII_LOCAL": "lead_file.rows._cached_domain_normalised: _ASCII_LOCAL.match(local)",
    "template_syntax._FIELD_RE": "template_syntax: _FIELD_RE.match(text, pos) after a '{'",
    "template_syntax._CLOSE_ON_LINE_RE": "template_syntax: _CLOSE_ON_LINE_RE.match(text, pos) "
    "after a '{'",
    "templates._SUBJECT_LINE_RE": "templates: _SUBJECT_LINE_RE.fullmatch(first line)",
}


def _exercise(pattern: re.Pattern[Any], name: str) -> Callable[[Any], object]:
    if name in ANCHORED_ONLY:
        return lambda text: (pattern.match(text), pattern.fullmatch(text))

    def run(text: Any) -> object:
        for _ in pattern.finditer(text):
            pass
        return pattern.fullmatch(text)

    return run


def _text(prefix: str, chunk: str, suffix: str, binary: bool) -> Callable[[int], Any]:
    def make(n: int) -> Any:
        body = prefix + chunk * max(1, (n - len(prefix) - len(suffix)) // len(chunk)) + suffix
        return body.encode() if binary else body

    return make


def test_the_introspection_finds_the_patterns_that_read_mail() -> None:
    names = {name for name, _ in PATTERNS}
    assert {
        "bounces._RCPT_IN_TEXT[0]",
        "optout._SUBJECT_PREFIX",
        "message_ids._ID_OR_WORD",
        "delivery_status.ENHANCED",
        "quotes._ATTRIBUTION[0]",
        "autoreply._AUTO_SUBJECT",
        "html_text._HTML_SPACE",
        "mime._FOLD",
    } <= names
    assert any(name.startswith("optout._OPT_OUT_PATTERNS") for name in names)


@pytest.mark.parametrize(("name", "pattern"), PATTERNS, ids=[n for n, _ in PATTERNS])
def test_every_pattern_runs_in_linear_time(name: str, pattern: re.Pattern[Any]) -> None:
    binary = isinstance(pattern.pattern, bytes)
    worst: dict[str, list[float]] = {}
    for prefix, chunk, suffix in FAMILIES:
        ratios = growth(_exercise(pattern, name), _text(prefix, chunk, suffix, binary))
        if max(ratios) > BOUND:
            worst[f"{prefix!r}+{chunk!r}*n+{suffix!r}"] = [round(r, 1) for r in ratios]
    assert not worst, f"{name} grows faster than linear on {worst}"


# --- the known poison shapes, through the public entry points ------------------------------------


@pytest.mark.parametrize("shape", sorted(hostile.POISON))
def test_parsing_and_classifying_a_poison_message_grows_linearly(shape: str) -> None:
    build = hostile.POISON[shape]
    unit = {"failed_recipients": 2, "rcpt_in_text": 2, "blank_lines": 1, "long_from": 1}[shape]
    ratios = growth(classify.classify, lambda n: build(n // unit))
    assert max(ratios) <= BOUND, f"{shape}: ratios {ratios}"


@pytest.mark.parametrize(
    ("what", "fn", "make"),
    [
        ("_clean_addr on a@a@a@…", bounces._clean_addr, lambda n: "a@" * (n // 2)),
        ("_rcpt_in_text on <a@a@…", bounces._rcpt_in_text, lambda n: "<" + "a@" * (n // 2)),
        ("_msgid_lines on blank lines", bounces._msgid_lines, lambda n: "\n" * n + "x"),
        (
            "strip_quoted on quote markers",
            quotes.strip_quoted,
            lambda n: "x\n" + "> \n" * (n // 3),
        ),
        ("_strip_tags on unclosed tags", html_text._strip_tags, lambda n: "<" * n),
        ("cap_raw on a huge header", limits.cap_raw, lambda n: b"X: " + b"a" * n + b"\r\n\r\nb"),
        ("template_syntax._scan on unclosed {", template_syntax._scan, lambda n: "\n{" * (n // 2)),
        ("template_syntax._scan on bad fields", template_syntax._scan, lambda n: "{a|" * (n // 3)),
        ("parse_auth_results on ;;;", authres.parse, lambda n: "mx;" + " dkim=fail;" * (n // 11)),
        ("parse_auth_results on (((", authres.parse, lambda n: "mx; spf=pass " + "(" * n),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_tokenising_helpers_grow_linearly(
    what: str, fn: Callable[[Any], object], make: Callable[[int], Any]
) -> None:
    ratios = growth(fn, make)
    assert max(ratios) <= BOUND, f"{what}: ratios {ratios}"


def test_the_growth_check_catches_a_quadratic_pattern() -> None:
    # The measuring stick itself: the old address regex, re.search retrying it at every start.
    old = re.compile(r"[^\s<>]+@[^\s<>]+\.[^\s<>]+")
    ratios = growth(lambda s: old.search(s), lambda n: "a" * n)
    assert max(ratios) > BOUND
