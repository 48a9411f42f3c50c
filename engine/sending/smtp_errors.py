"""What an SMTP answer (or a network failure during a send) means, as a typed ``SendError``.

``classify_smtp_error`` is the one place that decides it. It is pure: it reads the reply code,
the enhanced status code (looked up in ``engine.delivery_status``, the table the inbox's bounce
parsing reads too) and the server's words, together with the ``Stage`` the transaction had
reached (see ``engine.sending.smtp``). The transport, ``engine.sending.smtp.SmtpMailer``, raises
only what this module returns.

A dropped connection or timeout after the message body went out is ``Uncertain`` (the server
may have it); before that it is ``TryLater``.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from typing import Literal

from engine import delivery_status
from engine.delivery_status import DeliveryStatus, Meaning
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

__all__ = ["Stage", "classify_smtp_error"]

Stage = Literal["connect", "auth", "mail", "rcpt", "data", "message"]


# 4xx "back off this account": too many logins / sessions / connections (Gmail's 454 4.7.0
# "Too many login attempts", Exchange's "concurrent connections ... exceeded").
_TOO_MANY_LOGINS_RE = re.compile(
    r"too many (failed )?(login|logon|auth\w*|concurrent|simultaneous|connections|sessions)"
    r"|login attempts"
    r"|concurrent (smtp )?(connections|sessions|logins)"
    r"|maximum number of (concurrent )?(server )?(connections|sessions)"
)

# Our own sending allowance is used up or throttled. Deliberately never the bare word
# "quota": "over quota" / "Quota exceeded (mailbox full)" is the *recipient's* mailbox.
_QUOTA_RE = re.compile(
    r"sending (quota|limit)"  # Gmail "Daily user sending quota exceeded", "sending limit"
    r"|(daily|hourly|message|submission|recipient|send) (quota|limit)s? "
    r"(has been |was |is )?(exceeded|reached)"
    r"|exceeded (the|your|its) (daily |hourly )?(sending |message |recipient |submission )?"
    r"(quota|limit)"  # Office 365 "... exceeded the sending limit"
    r"|submissionquotaexceeded"  # Exchange Online STOREDRV.Submission
    r"|rate[- ]limit"  # "rate limit exceeded", "temporarily rate limited"
    r"|reached (your|the|its) (daily |hourly )?(sending |message |recipient )?(limit|quota)"
    r"|unusual (rate|sending activity)"  # Gmail 4.7.28, Zoho 5.4.6
)

# Words that say the block is about spam, reputation or policy (content / sender standing).
_SPAM_RE = re.compile(
    r"spam|unsolicited|block ?list|black ?list|blocked|reputation|policy|dmarc|\bspf\b|dkim"
    r"|banned|abuse|phish|virus|malware|content|not accepted|rejected due"
)

# The server will not take mail from us as configured: not authenticated, relay refused,
# the From is not ours, the account is disabled / must be verified.
_ACCOUNT_RE = re.compile(
    r"authentication required|not authenticated|must (be )?authenticate"
    r"|relay(ing)? (access )?(is )?(denied|not permitted|prohibited|not allowed)"
    r"|unable to relay|not (allowed|permitted|authorized) to relay"
    r"|not owned by (auth )?user|sendasdenied|not (allowed|authorized) to send as"
    r"|does not have permissions? to send as"
    r"|your account (has been |is )?(disabled|suspended|locked|blocked)"
    r"|verify your account"
    r"|application-specific password|app password|log ?in via your web browser"
)

# The recipient's address or mailbox is the problem.
_RECIPIENT_RE = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|doesn'?t exist"
    r"|recipient address rejected|invalid recipient|recipient (not found|unknown|rejected)"
    r"|mailbox (unavailable|not found|disabled|is disabled|is inactive)|account (is )?disabled"
    r"|account that you tried to reach|doesn'?t have an? \S+ account|address rejected"
    r"|mailbox is full|over quota"
)

# Permanent errors that tell us our TLS setting cannot work with this server.
_TLS_CONFIG_REASONS = {
    "WRONG_VERSION_NUMBER",
    "UNKNOWN_PROTOCOL",
    "UNSUPPORTED_PROTOCOL",
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "RECORD_LAYER_FAILURE",
}


def _decode(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return " ".join(text.split())  # multi-line replies become one line


def classify_smtp_error(exc: BaseException, *, stage: str) -> SendError:
    """Decide what an SMTP failure means. ``stage`` is one of ``Stage`` (see module doc).

    Server answers are judged on the enhanced status code and the text, not only the
    3-digit code. The returned error's text is the server's answer (``"550 5.1.1 ..."``)
    or, for network failures, a short description.
    """
    if isinstance(exc, SendError):
        return exc

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = list(exc.recipients.values())
        if refused:
            code, resp = refused[0]
            return _classify_reply(code, _decode(resp), "rcpt")
        return TryLater("the server refused the recipient without saying why")

    if isinstance(exc, smtplib.SMTPResponseException):
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            stage = "auth"
        elif isinstance(exc, smtplib.SMTPSenderRefused):
            stage = "mail"
        elif isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
            stage = "connect"
        elif isinstance(exc, smtplib.SMTPDataError) and stage not in ("data", "message"):
            stage = "data"
        code = exc.smtp_code
        text = _decode(exc.smtp_error)
        if code < 200 or code >= 600:  # unparsable / missing reply: a broken conversation
            return _connection_failure(f"garbled server reply: {code} {text}".strip(), stage)
        return _classify_reply(code, text, stage)

    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # "SMTP AUTH extension not supported by server." / "STARTTLS extension not ...":
        # the account cannot be used as configured; nothing about any lead.
        return AccountBroken(f"the server does not support what the settings need: {exc}")

    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _connection_failure(f"the server closed the connection ({exc})", stage)

    if isinstance(exc, smtplib.SMTPException):
        # e.g. "No suitable authentication method found." from login negotiation.
        if stage == "auth":
            return AccountBroken(f"cannot log in: {exc}")
        return _connection_failure(f"SMTP error: {exc}", stage)

    return _network_failure(exc, stage)


def _network_failure(exc: BaseException, stage: str) -> SendError:
    """TLS, socket and anything unforeseen (no answer from the server to judge)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        # Wrong host name or an intercepting proxy: will not fix itself, tell the operator.
        return AccountBroken(
            f"the server's TLS certificate was rejected: {getattr(exc, 'verify_message', None) or exc}"
        )
    if isinstance(exc, ssl.SSLError) and exc.reason in _TLS_CONFIG_REASONS:
        # Typically "ssl" on a STARTTLS port (587) or the reverse.
        return AccountBroken(
            f"TLS handshake failed ({exc.reason}): check the security setting (ssl/starttls) "
            "and the port"
        )

    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return _connection_failure("timed out waiting for the server", stage)
    if isinstance(exc, ConnectionRefusedError):
        return _connection_failure("connection refused", stage)
    if isinstance(exc, socket.gaierror):
        return _connection_failure(f"cannot resolve the server's name ({exc.strerror})", stage)
    if isinstance(exc, OSError):
        return _connection_failure(f"network error: {exc.strerror or exc}", stage)

    # Not a network or SMTP failure (a bug, or something unforeseen). Before the message
    # was transmitted it is safe to retry later; after, nobody knows.
    return _connection_failure(f"unexpected {type(exc).__name__}: {exc}", stage)


def _connection_failure(text: str, stage: str) -> SendError:
    """No usable answer from the server: ``Uncertain`` once the message was on the wire."""
    if stage == "message":
        return Uncertain(f"{text}; the message may or may not have been accepted")
    return TryLater(text)


def _classify_reply(code: int, text: str, stage: str) -> SendError:
    """Classify a server answer ``code text`` received at ``stage``."""
    full = f"{code} {text}".strip()
    enhanced = delivery_status.find_enhanced(text)
    status = delivery_status.of(enhanced)
    basic = delivery_status.of(code)
    low = text.lower()
    transient = 400 <= code < 500

    def make(cls: type[SendError]) -> SendError:
        return cls(full, code, enhanced)

    # 1. 4xx too many logins / concurrent sessions or connections: back off the account.
    if transient and _TOO_MANY_LOGINS_RE.search(low):
        return make(TooManyLogins)

    # 2. Our sending quota or rate. Gmail: 550 5.4.5 "Daily user sending quota exceeded";
    #    Office 365: 554 5.2.0 "SubmissionQuotaExceededException" / "exceeded the sending
    #    limit". A *temporary* rate limit (Gmail 421 4.7.28 "unusual rate of unsolicited
    #    mail ... temporarily rate limited") is also QuotaExceeded: retrying soon would only
    #    make it worse, stopping until the window rolls is right. A *permanent* "unusual rate
    #    of unsolicited mail ... blocked" (550 5.7.28) is a reputation block: ContentBlocked.
    if (status is not None and status.meaning is Meaning.QUOTA) or _QUOTA_RE.search(low):
        if not transient and _policy(status):
            if _SPAM_RE.search(low):
                return make(ContentBlocked)
        return make(QuotaExceeded)

    # 3. Login problems. Any 5xx at AUTH (535 5.7.8 bad credentials, 534 5.7.9 app password
    #    required, 534 5.7.14 web login required, 535 5.7.139 SMTP AUTH disabled, 504 mech
    #    unknown) and 530/534/535 wherever they come (530 5.7.0 Authentication required at
    #    MAIL means the session is not logged in). 4xx at AUTH: a temporary problem.
    if stage == "auth":
        return make(TryLater if transient else AccountBroken)
    if basic is not None and basic.meaning is Meaning.AUTH:
        return make(AccountBroken)

    # 4. Anything else temporary (421, 450, 451, 452 4.2.2 mailbox full, 4.7.0 greylisting,
    #    a 4xx answer to the message itself: the server said no, so nothing was kept).
    if transient:
        return make(TryLater)

    return _classify_permanent(code, text, stage, status, basic)


def _classify_permanent(
    code: int,
    text: str,
    stage: str,
    status: DeliveryStatus | None,
    basic: DeliveryStatus | None,
) -> SendError:
    """A permanent (5xx) answer ``code text`` at ``stage`` that is not about quota or login."""
    full = f"{code} {text}".strip()
    enhanced = status.code if status is not None else None
    low = text.lower()

    def make(cls: type[SendError]) -> SendError:
        return cls(full, code, enhanced)

    # 5. Relay denied / From not ours / account disabled: the mailbox cannot send as
    #    configured. That is the account's problem, not the lead's (a "5.7.1 Relaying
    #    denied" at RCPT means we are not authenticated as far as the server knows).
    if _ACCOUNT_RE.search(low) and not _recipient_said(status, low):
        return make(AccountBroken)

    if stage == "connect":
        # Greeting / EHLO refused: an IP block list is reputation, anything else is the
        # settings (wrong host/port for submission).
        return make(ContentBlocked if _SPAM_RE.search(low) else AccountBroken)

    if stage == "mail":
        # MAIL FROM judges our sender. Size (5.3.4) or spam/policy words: our content or
        # standing. Otherwise (5.1.7/5.1.8 bad sender, "sender rejected") the account's
        # configuration is wrong.
        if (status is not None and status.hard and status.subject == "3") or _SPAM_RE.search(low):
            return make(ContentBlocked)
        return make(AccountBroken)

    if stage == "rcpt":
        # 550 5.1.1 unknown user, 553 5.1.3 bad address, 551, 5.1.10 null MX, 5.2.1 mailbox
        # disabled, 552 5.2.2 over quota (persistent): the lead bounces. A 5.7.x policy
        # answer (block lists, DMARC) or a bare 554 is about us, not the lead: pause & tell.
        if _recipient_said(status, low):
            return make(RecipientRejected)
        if _policy(status) or (basic is not None and basic.meaning is Meaning.POLICY):
            return make(ContentBlocked)
        return make(RecipientRejected)

    # DATA / message stage (also any unknown stage). We send one recipient per message, so
    # a clearly recipient-shaped answer (5.1.1 at end of data, as Yahoo and some Exchange
    # servers do) bounces the lead. Everything else permanent - 5.7.1 spam/policy,
    # 5.7.26 DMARC/unauthenticated, 554, 552 5.3.4 size, unknown 5xx - is ContentBlocked:
    # pausing and showing the operator the server's words is safer than failing leads.
    if _recipient_said(status, low) and "sender" not in low:
        return make(RecipientRejected)
    return make(ContentBlocked)


def _recipient_said(status: DeliveryStatus | None, low: str) -> bool:
    """The answer is about the recipient: a permanent recipient code from the table (5.1.x,
    5.2.1, 5.2.2, not the sender's 5.1.7/5.1.8), else recipient words in the text."""
    if status is not None and status.hard:
        if status.meaning is Meaning.BAD_SENDER:
            return False
        if status.recipient:
            return True
    return bool(_RECIPIENT_RE.search(low))


def _policy(status: DeliveryStatus | None) -> bool:
    """A permanent security/policy code (5.7.x)."""
    return status is not None and status.hard and status.subject == "7"
