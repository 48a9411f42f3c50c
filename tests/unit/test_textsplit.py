"""Long answers split at line boundaries, never mid-word, within Telegram's UTF-16 limit."""

from __future__ import annotations

import random

import pytest

from bot.textsplit import LIMIT, split_text, units


def test_a_short_text_is_one_message_and_an_empty_one_none() -> None:
    assert split_text("hello\nworld") == ["hello\nworld"]
    assert split_text("   \n ") == []


def test_lines_are_kept_whole_when_they_fit() -> None:
    lines = [f"line {i} " + "x" * 50 for i in range(200)]
    parts = split_text("\n".join(lines), limit=1000)
    assert len(parts) > 1
    assert all(units(p) <= 1000 for p in parts)
    got = [ln for p in parts for ln in p.split("\n")]
    assert got == lines  # every line whole, in order


def test_a_long_line_is_cut_between_words() -> None:
    words = [f"w{i:04d}" for i in range(3000)]
    parts = split_text(" ".join(words), limit=500)
    assert all(units(p) <= 500 for p in parts)
    assert [w for p in parts for w in p.split(" ")] == words


def test_only_a_word_longer_than_a_message_is_cut_inside() -> None:
    url = "https://example.com/" + "a" * 9000
    parts = split_text(f"see {url} end", limit=LIMIT)
    assert all(units(p) <= LIMIT for p in parts)
    assert parts[0] == "see"
    assert "".join(parts[1:-1]) + parts[-1].removesuffix(" end") == url


def test_astral_characters_count_twice() -> None:
    text = "😀" * 3000  # 6,000 UTF-16 units, no break anywhere
    parts = split_text(text)
    assert [units(p) for p in parts] == [4096, 6000 - 4096]
    assert "".join(parts) == text


@pytest.mark.parametrize("seed", range(20))
def test_random_texts_lose_no_word(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = ["a", "é", "ж", "😀", "字", " ", "\n", "b"]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20000)))
    limit = rng.choice([50, 300, LIMIT])
    parts = split_text(text, limit=limit)
    assert all(0 < units(p) <= limit for p in parts)
    assert "".join("".join(p.split()) for p in parts) == "".join(text.split())
