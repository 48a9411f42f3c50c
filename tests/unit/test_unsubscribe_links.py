"""engine.unsubscribe.links: the signed token of the one-click unsubscribe link. Pure."""

from __future__ import annotations

import base64
import re

import pytest

from engine.mailboxes.vault import _fernet_key
from engine.unsubscribe.links import (
    MAX_ID,
    addressed_to,
    link_key,
    make_token,
    read_token,
    unsubscribe_url,
)

SECRET = "correct-horse-battery-staple-42"
KEY = link_key(SECRET)


def test_it_reads_back_the_lead_and_campaign_it_was_made_for() -> None:
    token = make_token(KEY, 12345, 3, "ana@acme.io")
    read = read_token(KEY, token)
    assert read is not None
    assert (read.lead_id, read.campaign_id) == (12345, 3)
    assert addressed_to(KEY, read, "ana@acme.io")


def test_it_is_short_and_url_safe() -> None:
    token = make_token(KEY, 250_000, 12, "ana@acme.io")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert len(token) <= 28


@pytest.mark.parametrize("lead_id, campaign_id", [(0, 0), (1, 1), (127, 128), (MAX_ID, MAX_ID)])
def test_it_round_trips_ids_at_the_edges_of_the_encoding(lead_id: int, campaign_id: int) -> None:
    read = read_token(KEY, make_token(KEY, lead_id, campaign_id, "x@y.io"))
    assert read is not None and (read.lead_id, read.campaign_id) == (lead_id, campaign_id)


def test_it_refuses_ids_it_cannot_encode() -> None:
    for bad in ((-1, 1), (1, -1), (MAX_ID + 1, 1)):
        with pytest.raises(ValueError):
            make_token(KEY, *bad, "x@y.io")


def test_it_makes_the_same_token_each_time() -> None:
    assert make_token(KEY, 7, 1, "Ana@Acme.io") == make_token(KEY, 7, 1, "ana@acme.io ")


def test_it_refuses_every_single_character_change() -> None:
    token = make_token(KEY, 4242, 2, "ana@acme.io")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i in range(len(token)):
        for c in alphabet:
            altered = token[:i] + c + token[i + 1 :]
            if altered != token:
                assert read_token(KEY, altered) is None, altered


def test_it_refuses_a_token_cut_short_or_lengthened() -> None:
    token = make_token(KEY, 4242, 2, "ana@acme.io")
    for altered in (token[:-1], token[1:], token + "A", token + token, "", "A" * 200):
        assert read_token(KEY, altered) is None


def test_it_refuses_a_token_of_another_secret_key() -> None:
    token = make_token(link_key("another-secret-key-0000"), 4242, 2, "ana@acme.io")
    assert read_token(KEY, token) is None


@pytest.mark.parametrize(
    "junk", ["../../etc/passwd", "a b c d e f g h i j k l m n o", "=" * 30, "é" * 30, "%41" * 10]
)
def test_it_refuses_junk(junk: str) -> None:
    assert read_token(KEY, junk) is None


def test_it_cannot_be_moved_to_another_lead_or_campaign_by_recombining_tokens() -> None:
    a = make_token(KEY, 1, 1, "ana@acme.io")
    b = make_token(KEY, 2, 1, "bob@acme.io")
    mixed = {a[:4] + b[4:], b[:4] + a[4:], a[:10] + b[10:], b[:-16] + a[-16:]}
    assert all(read_token(KEY, m) is None for m in mixed - {a, b})


def test_it_tells_whether_the_token_was_made_for_an_address() -> None:
    read = read_token(KEY, make_token(KEY, 9, 1, "ana@acme.io"))
    assert read is not None
    assert addressed_to(KEY, read, "ANA@acme.io")
    assert not addressed_to(KEY, read, "bob@acme.io")


def test_its_key_is_derived_for_this_purpose_alone() -> None:
    assert len(KEY) == 32
    assert KEY != link_key("another-secret-key-0000")
    vault_key = base64.urlsafe_b64decode(_fernet_key(SECRET))
    assert KEY not in (SECRET.encode(), vault_key)


def test_it_builds_the_link_under_public_url_only_with_a_secret_key() -> None:
    url = unsubscribe_url("https://out.example.com", SECRET, 5, 1, "ana@acme.io")
    assert url == "https://out.example.com/u/" + make_token(KEY, 5, 1, "ana@acme.io")
    assert unsubscribe_url("", SECRET, 5, 1, "ana@acme.io") is None
    assert unsubscribe_url("https://out.example.com", "", 5, 1, "ana@acme.io") is None
