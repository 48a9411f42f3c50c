"""Hostile inbound mail, as found by attacking a running service (issue 8).

Poison messages are small and aimed at super-linear paths of the classifier; forged bounces and
spoofed senders try to change a lead's state without being who they claim to be. Each builder
returns raw bytes with CRLF line endings, ready to APPEND to a mailbox.
"""

from __future__ import annotations

from tests.mailshapes import _crlf


def poison_failed_recipients(n: int = 2200) -> bytes:
    """``X-Failed-Recipients: a@a@a@…`` (no dot): cubic for an X+@X+\\.X+ address regex."""
    return _crlf(
        "From: x@evil.example\nTo: sam@ourdomain.com\nSubject: hello\n"
        "Message-ID: <poison-1@evil.example>\n"
        f"X-Failed-Recipients: {'a@' * n}\n\nhi\n"
    )


def poison_rcpt_in_text(n: int = 40_000) -> bytes:
    """A mailer-daemon bounce whose text is ``<`` and ``a@`` ×n: the Postfix recipient regex."""
    return _crlf(
        "From: MAILER-DAEMON@evil.example\nTo: sam@ourdomain.com\n"
        "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <poison-2@evil.example>\n"
        f"Content-Type: text/plain\n\n<{'a@' * n}\n"
    )


def poison_blank_lines(n: int = 80_000) -> bytes:
    """A bounce whose body is n blank lines: the ``^\\s*Message-ID`` line regex (multiline)."""
    return _crlf(
        "From: MAILER-DAEMON@evil.example\nTo: sam@ourdomain.com\n"
        "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <poison-3@evil.example>\n"
        "Content-Type: text/plain\n\n" + "\n" * n + "x\n"
    )


def poison_long_from(n: int = 40_000) -> bytes:
    """A From header of n characters and no ``@``: the From fallback regex (ordinary mail path)."""
    return _crlf(
        f"From: {'x' * n}\nTo: sam@ourdomain.com\nSubject: hi\n"
        "Message-ID: <poison-4@evil.example>\n\nhello\n"
    )


POISON = {
    "failed_recipients": poison_failed_recipients,
    "rcpt_in_text": poison_rcpt_in_text,
    "blank_lines": poison_blank_lines,
    "long_from": poison_long_from,
}


def forged_dsn(n: int, lead: str) -> bytes:
    """A multipart/report DSN from a stranger naming a lead, citing none of our messages."""
    return _crlf(
        f"""From: noreply@stranger{n}.example
To: sam@ourdomain.com
Subject: Delivery Status Notification (Failure)
Message-ID: <forged-dsn-{n}@stranger{n}.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b{n}"

--b{n}
Content-Type: text/plain

Delivery to {lead} failed permanently.

--b{n}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.stranger{n}.example

Final-Recipient: rfc822; {lead}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--b{n}--
"""
    )


def forged_failed_recipients(n: int, lead: str) -> bytes:
    """A plain email with ``X-Failed-Recipients`` naming a lead and no threading headers."""
    return _crlf(
        f"""From: someone{n}@stranger{n}.example
To: sam@ourdomain.com
Subject: returned mail
Message-ID: <forged-xfr-{n}@stranger{n}.example>
X-Failed-Recipients: {lead}

The message to {lead} could not be delivered: 550 5.1.1 user unknown.
"""
    )


def spoofed(
    from_addr: str,
    body: str,
    *,
    auth_results: list[str],
    in_reply_to: str | None = None,
    subject: str = "Re: Quick question",
    message_id: str = "<spoof@evil.example>",
) -> bytes:
    """A message claiming to be ``from_addr``; ``auth_results`` are the Authentication-Results
    headers in order, topmost first (the receiving server's verdict comes first)."""
    thread = f"In-Reply-To: {in_reply_to}\nReferences: {in_reply_to}\n" if in_reply_to else ""
    ar = "".join(f"Authentication-Results: {v}\n" for v in auth_results)
    return _crlf(
        f"{ar}From: {from_addr}\nTo: sam@ourdomain.com\nSubject: {subject}\n"
        f"Date: Mon, 15 Jan 2024 10:02:00 +0000\nMessage-ID: {message_id}\n{thread}"
        f'MIME-Version: 1.0\nContent-Type: text/plain; charset="utf-8"\n\n{body}\n'
    )
