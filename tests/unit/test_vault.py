"""engine.mailboxes.vault: mailbox passwords encrypted with a key derived from SECRET_KEY."""

from __future__ import annotations

import base64
import traceback

import pytest

from engine.errors import ConfigError, WrongSecretKey
from engine.mailboxes.vault import Vault

KEY = "k3y-for-the-tests-0123456789"
PASSWORD = "hunter2-ÄÖÜ-pässwörd"  # noqa: S105 - a test value


def test_it_gives_back_the_password_it_encrypted() -> None:
    vault = Vault(KEY)

    assert vault.decrypt(vault.encrypt(PASSWORD)) == PASSWORD


def test_it_decrypts_with_a_new_vault_on_the_same_key() -> None:
    token = Vault(KEY).encrypt(PASSWORD)

    assert Vault(KEY).decrypt(token) == PASSWORD


def test_it_stores_no_trace_of_the_password_or_the_key() -> None:
    token = Vault(KEY).encrypt(PASSWORD)

    assert PASSWORD not in token and KEY not in token
    assert token.isascii()
    assert PASSWORD.encode() not in base64.urlsafe_b64decode(token)


def test_it_encrypts_the_same_password_differently_each_time() -> None:
    vault = Vault(KEY)

    assert vault.encrypt(PASSWORD) != vault.encrypt(PASSWORD)


def test_it_refuses_to_decrypt_with_another_key() -> None:
    token = Vault(KEY).encrypt(PASSWORD)

    with pytest.raises(WrongSecretKey):
        Vault(KEY + "x").decrypt(token)


def test_it_refuses_an_altered_token() -> None:
    token = Vault(KEY).encrypt(PASSWORD)
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[30] ^= 1  # a bit of the ciphertext
    altered = base64.urlsafe_b64encode(bytes(raw)).decode()

    with pytest.raises(WrongSecretKey):
        Vault(KEY).decrypt(altered)


@pytest.mark.parametrize("token", ["", "not a token", "ÿÿÿ", "gAAAAA", "=" * 10])
def test_it_refuses_text_that_is_no_token(token: str) -> None:
    with pytest.raises(WrongSecretKey):
        Vault(KEY).decrypt(token)


def test_it_keeps_password_and_key_out_of_the_error_and_its_traceback() -> None:
    token = Vault(KEY).encrypt(PASSWORD)

    with pytest.raises(WrongSecretKey) as caught:
        Vault(KEY + "-other").decrypt(token)

    shown = "".join(traceback.format_exception(caught.value)) + repr(caught.value)
    assert "SECRET_KEY" in str(caught.value)
    assert PASSWORD not in shown and KEY not in shown
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_it_keeps_the_key_out_of_its_repr() -> None:
    vault = Vault(KEY)

    assert KEY not in repr(vault) and KEY not in str(vars(vault))


@pytest.mark.parametrize("key", ["", "fifteen-chars-x"])
def test_it_needs_a_secret_key_of_at_least_16_characters(key: str) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY must be set to at least 16") as caught:
        Vault(key)

    assert not key or key not in str(caught.value)
