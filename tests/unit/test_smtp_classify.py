"""``classify_smtp_error`` over real providers' answers: each must land on the right type."""

from __future__ import annotations

import smtplib
import socket
import ssl

import pytest

from engine.errors import (
    AccountBroken,
    ContentBlocked,
    QuotaExceeded,
    RecipientRejected,
    SendError,
    TooManyLogins,
    TryLater,
    Uncertain,
)
from engine.sending.smtp_errors import classify_smtp_error

# (stage, code, server text, expected type). The stage is where the answer came.
ANSWERS: list[tuple[str, int, str, type[SendError]]] = [
    # --- login -------------------------------------------------------------------------
    (
        "auth",
        535,
        "5.7.8 Username and Password not accepted. For more information, go to\n"
        "5.7.8  https://support.google.com/mail/?p=BadCredentials",
        AccountBroken,
    ),
    (
        "auth",
        534,
        "5.7.9 Application-specific password required. For more information, go to\n"
        "5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor",
        AccountBroken,
    ),
    ("auth", 534, "5.7.14 Please log in via your web browser and then try again.", AccountBroken),
    (
        "auth",
        535,
        "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
        "Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
        AccountBroken,
    ),
    ("auth", 535, "5.7.3 Authentication unsuccessful", AccountBroken),
    ("auth", 535, "5.7.0 (#AUTH005) Too many bad auth attempts.", AccountBroken),
    ("auth", 504, "5.5.4 Unrecognized authentication type", AccountBroken),
    ("auth", 454, "4.7.0 Too many login attempts, please try again later.", TooManyLogins),
    ("auth", 454, "4.7.0 Too many login attempts", TooManyLogins),
    ("auth", 454, "4.7.0 Cannot authenticate due to a temporary system problem.", TryLater),
    ("auth", 454, "4.7.0 Temporary authentication failure", TryLater),
    ("mail", 530, "5.7.0 Authentication Required. Learn more at", AccountBroken),
    ("mail", 530, "5.7.57 Client not authenticated to send mail.", AccountBroken),
    (
        "connect",
        421,
        "4.3.2 The maximum number of concurrent server connections has exceeded a per-domain limit",
        TooManyLogins,
    ),
    (
        "connect",
        421,
        "4.7.0 Too many concurrent SMTP connections; please try again later.",
        TooManyLogins,
    ),
    # --- quota / rate ------------------------------------------------------------------
    ("data", 550, "5.4.5 Daily user sending quota exceeded.", QuotaExceeded),
    ("mail", 550, "5.4.5 Daily user sending limit exceeded.", QuotaExceeded),
    ("rcpt", 550, "5.4.5 Daily sending quota exceeded.", QuotaExceeded),
    ("message", 550, "5.4.5 Daily user sending quota exceeded.", QuotaExceeded),
    (
        "message",
        554,
        "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to "
        "process message due to a permanent exception with message Cannot submit message.",
        QuotaExceeded,
    ),
    (
        "mail",
        550,
        "5.2.0 Your message couldn't be sent because you have exceeded the sending limit",
        QuotaExceeded,
    ),
    ("mail", 451, "4.7.0 Rate limit exceeded, try again later", QuotaExceeded),
    ("mail", 450, "4.7.1 Message rate limit exceeded", QuotaExceeded),
    (
        "message",
        421,
        "4.7.28 [203.0.113.5] Our system has detected an unusual rate of unsolicited mail "
        "originating from your IP address. To protect our users from spam, mail sent from "
        "your IP address has been temporarily rate limited.",
        QuotaExceeded,
    ),
    (
        "mail",
        550,
        "5.4.6 Unusual sending activity detected. Please try after sometime.",
        QuotaExceeded,
    ),
    (
        "message",
        550,
        "5.7.28 [203.0.113.5] Our system has detected an unusual rate of unsolicited mail "
        "originating from your IP address. To protect our users from spam, mail sent from "
        "your IP address has been blocked.",
        ContentBlocked,
    ),
    # --- temporary ---------------------------------------------------------------------
    ("connect", 421, "4.7.0 Try again later, closing connection. (EHLO)", TryLater),
    ("connect", 421, "Service not available, closing transmission channel", TryLater),
    ("message", 451, "4.3.0 Mail server temporarily rejected message.", TryLater),
    ("message", 451, "4.3.0 Temporary server error", TryLater),
    ("message", 421, "4.4.2 Timeout waiting for data from client.", TryLater),
    ("rcpt", 452, "4.2.2 The email account that you tried to reach is over quota.", TryLater),
    (
        "rcpt",
        450,
        "4.2.1 The user you are trying to contact is receiving mail at a rate "
        "that prevents additional messages from being delivered.",
        TryLater,
    ),
    ("rcpt", 451, "4.7.1 Greylisting in action, please come back later", TryLater),
    ("rcpt", 452, "4.5.3 Too many recipients", TryLater),
    (
        "message",
        421,
        "4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected "
        "volume or user complaints",
        TryLater,
    ),
    ("mail", 452, "4.3.1 Insufficient system resources", TryLater),
    # --- recipient ---------------------------------------------------------------------
    (
        "rcpt",
        550,
        "5.1.1 The email account that you tried to reach does not exist.",
        RecipientRejected,
    ),
    (
        "rcpt",
        550,
        "5.1.1 <bob@example.org>: Recipient address rejected: User unknown in virtual mailbox table",
        RecipientRejected,
    ),
    (
        "rcpt",
        550,
        "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        RecipientRejected,
    ),
    (
        "rcpt",
        550,
        "5.2.1 The email account that you tried to reach is disabled.",
        RecipientRejected,
    ),
    (
        "rcpt",
        552,
        "5.2.2 The email account that you tried to reach is over quota.",
        RecipientRejected,
    ),
    ("rcpt", 553, "5.1.3 Error: malformed address", RecipientRejected),
    (
        "rcpt",
        553,
        "5.1.2 The recipient address <bob@nowhere> is not a valid RFC 5321 address.",
        RecipientRejected,
    ),
    ("rcpt", 551, "User not local; please try <bob@example.net>", RecipientRejected),
    ("rcpt", 550, "Requested action not taken: mailbox unavailable", RecipientRejected),
    (
        "rcpt",
        554,
        "delivery error: dd This user doesn't have a yahoo.com account (bob@yahoo.com) [0]",
        RecipientRejected,
    ),
    (
        "rcpt",
        550,
        "5.7.1 Recipient address rejected: Access denied. AS(201806281)",
        RecipientRejected,
    ),
    (
        "message",
        550,
        "5.1.1 The email account that you tried to reach does not exist.",
        RecipientRejected,
    ),
    (
        "message",
        554,
        "delivery error: dd Sorry your message to bob@yahoo.com cannot be delivered. This mailbox is disabled (554.30)",
        RecipientRejected,
    ),
    # --- account / configuration ---------------------------------------------------------
    ("rcpt", 554, "5.7.1 <bob@example.org>: Relay access denied", AccountBroken),
    ("rcpt", 550, "5.7.1 Relaying denied", AccountBroken),
    ("rcpt", 550, "5.7.1 Unable to relay for bob@example.org", AccountBroken),
    (
        "mail",
        553,
        "5.7.1 <ceo@other.com>: Sender address rejected: not owned by user sender@example.com",
        AccountBroken,
    ),
    (
        "message",
        554,
        "5.2.252 SendAsDenied; sender@example.com not allowed to send as ceo@other.com",
        AccountBroken,
    ),
    (
        "message",
        550,
        "5.7.60 SMTP; Client does not have permissions to send as this sender",
        AccountBroken,
    ),
    ("mail", 550, "5.1.7 Invalid address", AccountBroken),
    ("mail", 550, "5.1.8 Sender domain does not exist", AccountBroken),
    ("mail", 554, "5.7.0 Your account has been suspended", AccountBroken),
    (
        "message",
        550,
        "5.7.3 Requested action not taken; To continue sending messages, please verify your account",
        AccountBroken,
    ),
    ("connect", 502, "5.5.1 Unrecognized command.", AccountBroken),
    # --- content / reputation ------------------------------------------------------------
    ("message", 554, "5.7.1 Message rejected due to content", ContentBlocked),
    (
        "message",
        550,
        "5.7.1 [203.0.113.5] Our system has detected that this message is likely "
        "unsolicited mail. To reduce the amount of spam sent to Gmail, this message has "
        "been blocked.",
        ContentBlocked,
    ),
    (
        "message",
        550,
        "5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC "
        "policy. Please contact the administrator of example.com domain.",
        ContentBlocked,
    ),
    (
        "message",
        550,
        "5.7.26 This mail has been blocked because the sender is unauthenticated.",
        ContentBlocked,
    ),
    ("message", 554, "5.7.9 Message not accepted for policy reasons.", ContentBlocked),
    (
        "message",
        554,
        "Message not allowed - [PH01] Email not accepted for policy reasons.",
        ContentBlocked,
    ),
    ("message", 552, "5.3.4 Message size exceeds fixed maximum message size", ContentBlocked),
    (
        "message",
        552,
        "5.7.0 This message was blocked because its content presents a potential security issue.",
        ContentBlocked,
    ),
    ("message", 554, "Transaction failed", ContentBlocked),
    (
        "message",
        550,
        "5.7.501 Service unavailable. Spam abuse detected from IP range.",
        ContentBlocked,
    ),
    (
        "message",
        554,
        "5.2.0 STOREDRV.Submission.Exception:OutboundSpamException; WASCL UserAction verdict is not None. Actual verdict is Suspend",
        ContentBlocked,
    ),
    ("message", 550, "something nobody has seen before", ContentBlocked),
    (
        "rcpt",
        553,
        "5.7.1 [BL21] Connections will not be accepted from 203.0.113.5, because the ip is in Spamhaus's list",
        ContentBlocked,
    ),
    ("rcpt", 550, "5.7.606 Access denied, banned sending IP [203.0.113.5].", ContentBlocked),
    (
        "connect",
        554,
        "5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org",
        ContentBlocked,
    ),
    ("mail", 552, "5.3.4 Error: message size exceeds fixed maximum message size", ContentBlocked),
    ("mail", 550, "5.7.1 Sender blocked for spam", ContentBlocked),
]


@pytest.mark.parametrize(("stage", "code", "text", "expected"), ANSWERS)
def test_it_classifies_real_server_answers(
    stage: str, code: int, text: str, expected: type[SendError]
) -> None:
    exc: BaseException
    if stage == "auth":
        exc = smtplib.SMTPAuthenticationError(code, text.encode())
    elif stage == "mail":
        exc = smtplib.SMTPSenderRefused(code, text.encode(), "sender@example.com")
    elif stage == "rcpt":
        exc = smtplib.SMTPRecipientsRefused({"bob@example.org": (code, text.encode())})
    elif stage == "connect":
        exc = smtplib.SMTPConnectError(code, text.encode())
    else:
        exc = smtplib.SMTPDataError(code, text.encode())
    err = classify_smtp_error(exc, stage=stage)
    assert type(err) is expected, f"{code} {text!r} at {stage} -> {type(err).__name__}"
    assert err.smtp_code == code
    assert err.text.startswith(str(code))


@pytest.mark.parametrize(
    ("exc", "stage", "expected"),
    [
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "connect", TryLater),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "mail", TryLater),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "rcpt", TryLater),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "data", TryLater),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "message", Uncertain),
        (ConnectionResetError(104, "Connection reset by peer"), "message", Uncertain),
        (BrokenPipeError(32, "Broken pipe"), "message", Uncertain),
        (TimeoutError("timed out"), "message", Uncertain),
        (TimeoutError("timed out"), "connect", TryLater),
        (TimeoutError("timed out"), "rcpt", TryLater),
        (ConnectionRefusedError(111, "Connection refused"), "connect", TryLater),
        (ConnectionResetError(104, "Connection reset by peer"), "mail", TryLater),
        (socket.gaierror(-3, "Temporary failure in name resolution"), "connect", TryLater),
        (OSError(101, "Network is unreachable"), "connect", TryLater),
        (smtplib.SMTPConnectError(421, b"4.7.0 Try again later"), "connect", TryLater),
        (smtplib.SMTPHeloError(421, b"4.3.2 Service shutting down"), "connect", TryLater),
        (
            smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server."),
            "auth",
            AccountBroken,
        ),
        (
            smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."),
            "connect",
            AccountBroken,
        ),
        (smtplib.SMTPException("No suitable authentication method found."), "auth", AccountBroken),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "connect", AccountBroken),
        (smtplib.SMTPResponseException(-1, b"garbled"), "message", Uncertain),
        (smtplib.SMTPResponseException(-1, b"garbled"), "rcpt", TryLater),
        (RuntimeError("surprise"), "mail", TryLater),
        (RuntimeError("surprise"), "message", Uncertain),
    ],
)
def test_it_classifies_network_failures_by_stage(
    exc: BaseException, stage: str, expected: type[SendError]
) -> None:
    assert type(classify_smtp_error(exc, stage=stage)) is expected


def test_it_maps_tls_on_the_wrong_port_to_account_broken() -> None:
    exc = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    exc.reason = "WRONG_VERSION_NUMBER"
    assert isinstance(classify_smtp_error(exc, stage="connect"), AccountBroken)


def test_it_keeps_the_servers_text_and_enhanced_code() -> None:
    exc = smtplib.SMTPDataError(
        550,
        b"5.7.26 Unauthenticated email from example.com is not accepted due to\n"
        b"5.7.26 domain's DMARC policy.",
    )
    err = classify_smtp_error(exc, stage="message")
    assert err.smtp_code == 550
    assert err.enhanced == "5.7.26"
    assert err.text == (
        "550 5.7.26 Unauthenticated email from example.com is not accepted due to "
        "5.7.26 domain's DMARC policy."
    )


def test_it_reads_the_enhanced_code_only_where_it_is_one() -> None:
    exc = smtplib.SMTPDataError(554, b"Blocked: 5.1.1.1 is on our list")
    assert classify_smtp_error(exc, stage="message").enhanced is None


def test_it_uses_the_refused_recipients_answer() -> None:
    exc = smtplib.SMTPRecipientsRefused(
        {
            "bob@example.org": (
                550,
                b"5.1.1 The email account that you tried to reach does not exist.",
            )
        }
    )
    err = classify_smtp_error(exc, stage="message")
    assert isinstance(err, RecipientRejected)
    assert err.enhanced == "5.1.1"


def test_it_returns_a_send_error_unchanged() -> None:
    original = QuotaExceeded("550 5.4.5 Daily user sending quota exceeded.", 550, "5.4.5")
    assert classify_smtp_error(original, stage="data") is original
