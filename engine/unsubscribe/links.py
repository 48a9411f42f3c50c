"""The one-click unsubscribe link: ``PUBLIC_URL/u/TOKEN``. Pure: no database, no clock.

The token names the lead and its campaign and is signed, so nobody can make one for another
lead, and one altered in any character is refused. Its bytes, URL-safe base64 without padding:

* a version byte (1);
* the lead id and the campaign id, each as an unsigned LEB128 varint (1–3 bytes for the ids a
  campaign has);
* 4 bytes of an HMAC of the lead's address: the link is the address's, so on SQLite (which can
  give a deleted lead's id to the next lead imported) an old link never removes someone else;
* 12 bytes of HMAC-SHA256 over all of the above (96 bits: no online guessing gets near it).

About 28 characters in all. The key is derived from SECRET_KEY with HKDF and a purpose of its
own, so it is unrelated to the key the mailbox passwords are encrypted with
(``engine.mailboxes.vault``). A changed SECRET_KEY invalidates the links already sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "Token",
    "addressed_to",
    "link_key",
    "make_token",
    "read_token",
    "unsubscribe_url",
]

# Changing any of these invalidates every link already sent.
_SALT = b"outreach/unsubscribe-links/salt/v1"
_INFO = b"outreach: HMAC key for one-click unsubscribe links, v1"
VERSION = 1
MAC_BYTES = 12
ADDRESS_BYTES = 4
MAX_ID = 2**63 - 1  # a BIGINT; a varint of it is 9 bytes
# The shortest token is 1 + 1 + 1 + 4 + 12 = 19 bytes (26 characters); the longest,
# with two 9-byte ids, 35 bytes (47 characters).
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{26,47}")
PATH = "/u/"


@dataclass(frozen=True)
class Token:
    """What a genuine token says: the lead, its campaign, and the tag of the lead's address."""

    lead_id: int
    campaign_id: int
    address_tag: bytes


@lru_cache(maxsize=4)
def link_key(secret_key: str) -> bytes:
    """The HMAC key of the links, from SECRET_KEY (HKDF-SHA256, a salt and purpose of its own).
    Cached: the send queue makes a link for every campaign email."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
        secret_key.encode("utf-8")
    )


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it; ValueError if it does not end within
    9 bytes or the data."""
    n = shift = 0
    for i in range(pos, min(pos + 9, len(data))):
        n |= (data[i] & 0x7F) << shift
        shift += 7
        if not data[i] & 0x80:
            return n, i + 1
    raise ValueError("unterminated varint")


def _address_tag(key: bytes, address: str) -> bytes:
    digest = hmac.new(key, b"address:" + address.strip().lower().encode("utf-8"), hashlib.sha256)
    return digest.digest()[:ADDRESS_BYTES]


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, b"token:" + body, hashlib.sha256).digest()[:MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def make_token(key: bytes, lead_id: int, campaign_id: int, address: str) -> str:
    """The token of the link in the emails to ``lead_id`` (of ``campaign_id``) at ``address``."""
    if not (0 <= lead_id <= MAX_ID and 0 <= campaign_id <= MAX_ID):
        raise ValueError("lead and campaign ids must be whole numbers from 0 to 2**63 - 1")
    body = bytes([VERSION]) + _varint(lead_id) + _varint(campaign_id)
    body += _address_tag(key, address)
    return _b64(body + _mac(key, body))


def read_token(key: bytes, token: str) -> Token | None:
    """What ``token`` says, if it is one this key made; None for anything else (malformed, of
    another key, or altered in any character). The signature is compared in constant time."""
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if _b64(raw) != token:  # unused trailing bits set: another spelling of the same bytes
        return None
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, body)):
        return None
    # Signed by us, so well-formed; read it as carefully anyway.
    try:
        if body[:1] != bytes([VERSION]):
            return None
        lead_id, pos = _read_varint(body, 1)
        campaign_id, pos = _read_varint(body, pos)
    except ValueError:
        return None
    if len(body) - pos != ADDRESS_BYTES or lead_id > MAX_ID or campaign_id > MAX_ID:
        return None
    return Token(lead_id, campaign_id, body[pos:])


def addressed_to(key: bytes, token: Token, address: str) -> bool:
    """Whether ``token`` was made for ``address`` (case-insensitive), in constant time."""
    return hmac.compare_digest(token.address_tag, _address_tag(key, address))


def unsubscribe_url(
    public_url: str, secret_key: str, lead_id: int, campaign_id: int, address: str
) -> str | None:
    """``PUBLIC_URL/u/TOKEN`` for this lead, or None when links are off (no PUBLIC_URL, or no
    SECRET_KEY to sign them with)."""
    if not public_url or not secret_key:
        return None
    token = make_token(link_key(secret_key), lead_id, campaign_id, address)
    return f"{public_url.rstrip('/')}{PATH}{token}"
