"""The stored passwords of mailboxes added from the chat: encrypted with a key derived from
SECRET_KEY, so a copy of the database alone does not give the mailboxes away.

Fernet (AES-128-CBC with HMAC-SHA256, from the ``cryptography`` package) does the encryption
and the tamper check; its key is HKDF-SHA256 of SECRET_KEY with a fixed salt and an info string
naming this purpose, so the same SECRET_KEY can later key other things (unsubscribe links)
without the keys being related. Neither the password nor the key ever appears in an error's
text or a repr.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from engine.config_values import MIN_SECRET_KEY
from engine.errors import ConfigError, WrongSecretKey

# Changing either makes every stored password unreadable: they are part of the key.
_SALT = b"outreach/mailbox-passwords/salt/v1"
_INFO = b"outreach: Fernet key for mailbox passwords stored in the database, v1"


def _fernet_key(secret_key: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
        secret_key.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


_OPENED_MAX = 1_000


class Vault:
    """Encrypts and decrypts mailbox passwords with the key derived from ``secret_key``."""

    def __init__(self, secret_key: str) -> None:
        if len(secret_key) < MIN_SECRET_KEY:
            raise ConfigError(
                [
                    f"SECRET_KEY must be set to at least {MIN_SECRET_KEY} characters "
                    "to store mailbox passwords"
                ]
            )
        self._fernet = Fernet(_fernet_key(secret_key))
        # Tokens already opened: the send job loads every mailbox at each wake, and a Fernet
        # decryption with its HMAC check costs ~0.1 ms (5 ms a wake with 50 mailboxes).
        self._opened: dict[str, str] = {}

    def __repr__(self) -> str:
        return "Vault(<key hidden>)"

    def encrypt(self, password: str) -> str:
        """The password as URL-safe base64 text (a fresh random IV each time)."""
        return self._fernet.encrypt(password.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The password stored as ``token``; WrongSecretKey if this key cannot open it."""
        if token in self._opened:
            return self._opened[token]
        try:
            password = self._fernet.decrypt(token.encode("utf-8")).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError):
            # ``from None``: the chained exception would add nothing but noise.
            raise WrongSecretKey(
                "a stored mailbox password cannot be decrypted: SECRET_KEY is not the key it "
                "was stored with, or the stored value was altered; set the old SECRET_KEY "
                "back, or add the mailbox again"
            ) from None
        if len(self._opened) >= _OPENED_MAX:
            self._opened.clear()
        self._opened[token] = password
        return password
