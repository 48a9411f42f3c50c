"""What a delivery status code means: the one table both paths read.

A server says why mail did not go through in two places: in its answer to our own SMTP
transaction (``engine.sending.smtp_errors.classify_smtp_error``) and in a delivery status notification
that lands in the inbox later (``engine.inbox.bounces``). Both look the code up here, so the same
code means the same thing whichever way it arrives. Only :data:`ENHANCED` parses enhanced codes.

Enhanced codes (RFC 3463) are ``class.subject.detail``: the class says permanent (5) or
temporary (4), and the subject/detail say what is wrong. The 3-digit reply code (RFC 5321) is
the fallback when a server gives no enhanced code.

**5.2.2 "mailbox full" is a hard bounce**, at RCPT and in a DSN alike. A 5.x.x code is the
server's own word that retrying will not help; the big providers return it only once a mailbox
has stayed full (Gmail's text links ``OverQuotaPerm``), which is what an abandoned mailbox looks
like. For cold outreach, writing again and again to a dead address costs more reputation than
skipping a live one. A mailbox that is only full for now says so with 4.2.2 (soft).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["BASIC", "ENHANCED", "DeliveryStatus", "Meaning", "find_basic", "find_enhanced", "of"]

# An enhanced status code in free text: not part of a longer dotted number (a version, an IP).
ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
# A 3-digit failure reply code in free text (a DSN's diagnostic, a bounce's explanation).
BASIC = re.compile(r"(?<![\d.])([45][0-5]\d)(?=[\s-])")


class Meaning(StrEnum):
    BAD_MAILBOX = "bad_mailbox"  # no such user, bad address or domain (X.1.x)
    MAILBOX_DISABLED = "mailbox_disabled"  # X.2.1
    MAILBOX_FULL = "mailbox_full"  # X.2.2, 452/552
    MAILBOX_OTHER = "mailbox_other"  # other mailbox status (X.2.0; Exchange uses it for itself)
    BAD_SENDER = "bad_sender"  # our sender address or its domain (X.1.7, X.1.8)
    MESSAGE_TOO_BIG = "message_too_big"  # X.2.3, X.3.4
    MAIL_SYSTEM = "mail_system"  # the receiving system (X.3.x)
    ROUTING = "routing"  # network and routing (X.4.x)
    PROTOCOL = "protocol"  # X.5.x
    CONTENT = "content"  # content conversion (X.6.x)
    QUOTA = "quota"  # OUR sending quota or rate (Gmail 5.4.5, 4.7.28)
    AUTH = "auth"  # authentication (X.7.8, X.7.9; 530/534/535)
    POLICY = "policy"  # security or policy: spam, reputation, DMARC (X.7.x, 554)
    OTHER = "other"


# The recipient's address or mailbox is the problem: a hard one bounces the lead.
RECIPIENT = frozenset({Meaning.BAD_MAILBOX, Meaning.MAILBOX_DISABLED, Meaning.MAILBOX_FULL})

# Whole codes whose meaning is a provider's, not the RFC's subject.
_EXACT = {"5.4.5": Meaning.QUOTA, "4.7.28": Meaning.QUOTA}
# subject.detail -> meaning (either class).
_DETAIL = {
    "1.7": Meaning.BAD_SENDER,
    "1.8": Meaning.BAD_SENDER,
    "2.1": Meaning.MAILBOX_DISABLED,
    "2.2": Meaning.MAILBOX_FULL,
    "2.3": Meaning.MESSAGE_TOO_BIG,
    "3.4": Meaning.MESSAGE_TOO_BIG,
    "7.8": Meaning.AUTH,
    "7.9": Meaning.AUTH,
}
# subject -> meaning, when the detail is not listed.
_SUBJECT = {
    "1": Meaning.BAD_MAILBOX,
    "2": Meaning.MAILBOX_OTHER,
    "3": Meaning.MAIL_SYSTEM,
    "4": Meaning.ROUTING,
    "5": Meaning.PROTOCOL,
    "6": Meaning.CONTENT,
    "7": Meaning.POLICY,
}
# 3-digit reply codes (the fallback).
_BASIC = {
    421: Meaning.MAIL_SYSTEM,
    450: Meaning.MAILBOX_OTHER,
    451: Meaning.MAIL_SYSTEM,
    452: Meaning.MAILBOX_FULL,
    530: Meaning.AUTH,
    534: Meaning.AUTH,
    535: Meaning.AUTH,
    550: Meaning.BAD_MAILBOX,
    551: Meaning.BAD_MAILBOX,
    552: Meaning.MAILBOX_FULL,
    553: Meaning.BAD_MAILBOX,
    554: Meaning.POLICY,
}


@dataclass(frozen=True)
class DeliveryStatus:
    """One code's meaning. ``hard``: permanent (5); ``failed``: a failure at all (4 or 5)."""

    code: str
    meaning: Meaning
    hard: bool
    failed: bool
    subject: str = ""  # the enhanced code's subject ("7" for 5.7.1); "" for a 3-digit code

    @property
    def recipient(self) -> bool:
        """The recipient's address or mailbox is the problem (not us, not the message)."""
        return self.meaning in RECIPIENT


def of(code: str | int | None) -> DeliveryStatus | None:
    """The meaning of an enhanced (``"5.1.1"``) or 3-digit (``550``) code; None if neither."""
    if code is None:
        return None
    text = str(code).strip()
    if text.isdigit() and len(text) == 3:
        number = int(text)
        meaning = _BASIC.get(number, Meaning.OTHER)
        return DeliveryStatus(text, meaning, hard=text[0] == "5", failed=text[0] in "45")
    match = ENHANCED.fullmatch(text)
    if match is None:
        return None
    klass, subject, detail = match.groups()
    meaning = (
        _EXACT.get(text)
        or _DETAIL.get(f"{subject}.{detail}")
        or _SUBJECT.get(subject, Meaning.OTHER)
    )
    return DeliveryStatus(text, meaning, hard=klass == "5", failed=klass in "45", subject=subject)


def find_enhanced(text: str, *, failures_only: bool = False) -> str | None:
    """The first enhanced code in ``text`` (only 4.x.x / 5.x.x with ``failures_only``)."""
    for match in ENHANCED.finditer(text):
        if not failures_only or match.group(1) in "45":
            return ".".join(match.groups())
    return None


def find_basic(text: str) -> str | None:
    """The first 3-digit failure code in ``text`` (followed by a space or a dash)."""
    match = BASIC.search(text)
    return match.group(1) if match else None
