"""Sending over SMTP from the operator's own mailbox: the transport.

``SmtpMailer`` keeps one authenticated connection open across sends and walks each send
step by step (MAIL, RCPT, DATA, message) so it always knows how far it got. What a failure
means is decided by ``engine.sending.smtp_errors.classify_smtp_error`` from the stage reached;
``SmtpMailer`` raises nothing but the ``SendError`` it returns from ``send`` and
``verify_login``.

Stages, in order (``Stage``):

* ``connect`` - TCP connect, greeting, EHLO, STARTTLS.
* ``auth``    - AUTH.
* ``mail``    - MAIL FROM.
* ``rcpt``    - RCPT TO.
* ``data``    - the DATA command itself, until the server's 354. Nothing can have been
  stored yet, so a dropped connection here is still ``TryLater``.
* ``message`` - the message body and the final ``.``, until the server's answer. A
  dropped connection or timeout here is ``Uncertain``: the server may have the message.

The password is never logged and never appears in an error's text.
"""

from __future__ import annotations

import base64
import copy
import email.message
import email.policy
import io
import logging
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from functools import lru_cache
from typing import Literal, NoReturn, Protocol

from engine.errors import AccountBroken, ContentBlocked, RecipientRejected, SendError
from engine.sending.smtp_errors import Stage, classify_smtp_error

log = logging.getLogger(__name__)

Security = Literal["starttls", "ssl", "none"]

IDLE_CHECK_AFTER = 60.0
"""A kept connection idle for longer than this is checked with NOOP before use."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security
    username: str
    password: str = field(repr=False)
    timeout: float = 30.0


class Mailer(Protocol):
    def send(self, msg: email.message.EmailMessage, *, from_addr: str, to_addr: str) -> None:
        """Send ``msg`` to ``to_addr`` with envelope sender ``from_addr``; raise ``SendError``."""
        ...

    def close(self) -> None:
        """Release the connection, politely if possible. Never raises."""
        ...


@lru_cache(maxsize=1)
def _local_hostname() -> str:
    """The EHLO name (smtplib's default, computed once: getfqdn can be slow)."""
    return socket.getfqdn()


def _dot_stuffed(payload: bytes) -> bytes:
    """CRLF line endings, leading dots doubled, terminated by CRLF.CRLF (RFC 5321 4.5.2)."""
    data = re.sub(rb"\r\n|\n|\r", b"\r\n", payload)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _flatten(msg: email.message.EmailMessage, *, utf8: bool) -> bytes:
    """Serialise like ``smtplib.send_message`` does: Bcc removed, CRLF line endings."""
    msg_copy = copy.copy(msg)
    del msg_copy["Bcc"]
    del msg_copy["Resent-Bcc"]
    policy = msg.policy if isinstance(msg.policy, email.policy.EmailPolicy) else email.policy.SMTP
    with io.BytesIO() as buf:
        generator = BytesGenerator(buf, policy=policy.clone(utf8=utf8, linesep="\r\n"))
        generator.flatten(msg_copy, linesep="\r\n")
        return buf.getvalue()


class _Stale(Exception):
    """A kept connection turned out dead before MAIL was accepted: reconnect once."""


class SmtpMailer:
    """Sends through one kept-open SMTP connection. Blocking; safe to share between threads.

    ``send`` and ``verify_login`` raise only ``SendError`` subclasses, decided by
    ``classify_smtp_error``.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        idle_check_after: float = IDLE_CHECK_AFTER,
        monotonic: Callable[[], float] = time.monotonic,
        local_hostname: str | None = None,
    ) -> None:
        self._settings = settings
        self._idle_check_after = idle_check_after
        self._monotonic = monotonic
        self._local_hostname = local_hostname
        self._lock = threading.Lock()
        self._conn: smtplib.SMTP | None = None
        self._last_used = 0.0
        self._stage: Stage = "connect"

    def __repr__(self) -> str:
        s = self._settings
        return f"SmtpMailer({s.username}@{s.host}:{s.port}, {s.security})"

    # -- public --------------------------------------------------------------------------

    def send(self, msg: email.message.EmailMessage, *, from_addr: str, to_addr: str) -> None:
        with self._lock:
            log.debug("smtp send %s -> %s", from_addr, to_addr)
            try:
                self._send_once(msg, from_addr, to_addr, may_retry=True)
            except _Stale:
                log.debug("kept SMTP connection was dead; reconnecting once")
                self._drop(polite=False)
                self._send_once(msg, from_addr, to_addr, may_retry=False)

    def verify_login(self) -> None:
        """Connect, log in and quit on a separate connection; raise ``SendError`` if it fails."""
        stage: list[Stage] = ["connect"]
        conn: smtplib.SMTP | None = None
        try:
            conn = self._open(stage)
        except Exception as exc:
            self._raise(classify_smtp_error(exc, stage=stage[0]), exc)
        try:
            conn.quit()
        except Exception:
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._drop(polite=True)

    # -- sending -------------------------------------------------------------------------

    def _send_once(
        self,
        msg: email.message.EmailMessage,
        from_addr: str,
        to_addr: str,
        *,
        may_retry: bool,
    ) -> None:
        self._stage = "connect"
        reused = False
        try:
            conn, reused = self._connection()
            self._transmit(conn, msg, from_addr, to_addr)
        except SendError as decided:  # decided locally (e.g. SMTPUTF8 unsupported)
            self._after_failure(None)
            self._raise(decided, None)
        except Exception as exc:
            stage = self._stage
            if may_retry and reused and stage == "mail" and _looks_stale(exc):
                raise _Stale() from exc
            err = classify_smtp_error(exc, stage=stage)
            self._after_failure(exc)
            self._raise(err, exc)
        self._last_used = self._monotonic()

    def _transmit(
        self, conn: smtplib.SMTP, msg: email.message.EmailMessage, from_addr: str, to_addr: str
    ) -> None:
        international = not (from_addr.isascii() and to_addr.isascii())
        if international and not conn.has_extn("smtputf8"):
            text = "the server does not support non-ASCII addresses (no SMTPUTF8)"
            if not from_addr.isascii():
                raise AccountBroken(f"{text}: the sender address {from_addr!r}")
            raise RecipientRejected(f"{text}: {to_addr!r}")
        try:
            payload = _flatten(msg, utf8=international)
        except Exception as exc:
            raise ContentBlocked(f"the message cannot be serialised: {exc}") from exc

        options: list[str] = []
        if international:
            options.append("SMTPUTF8")
        if conn.has_extn("8bitmime") and not payload.isascii():
            options.append("BODY=8BITMIME")
        if conn.has_extn("size"):
            options.append(f"SIZE={len(payload)}")

        self._stage = "mail"
        code, resp = conn.mail(from_addr, options)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, resp, from_addr)

        self._stage = "rcpt"
        code, resp = conn.rcpt(to_addr)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({to_addr: (code, resp)})

        self._stage = "data"
        conn.putcmd("data")
        code, resp = conn.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, resp)

        self._stage = "message"
        conn.send(_dot_stuffed(payload))
        code, resp = conn.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, resp)

    def _after_failure(self, exc: BaseException | None) -> None:
        """Keep the connection if the server merely said no to this message; else drop it."""
        conn = self._conn
        if conn is None:
            return
        code: int | None = None
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            code = next(iter(exc.recipients.values()), (None, b""))[0]
        elif isinstance(exc, smtplib.SMTPResponseException):
            code = exc.smtp_code
        # A plain "no" (not 421 "closing") leaves the session usable once reset with RSET.
        answered = exc is None or (code is not None and code != 421)
        if answered and conn.sock is not None:
            try:
                if conn.rset()[0] == 250:
                    return
            except Exception:
                pass
        self._drop(polite=answered)

    # -- connection ----------------------------------------------------------------------

    def _connection(self) -> tuple[smtplib.SMTP, bool]:
        """The kept connection (checked with NOOP if idle long), or a new one; and whether
        it was reused."""
        conn = self._conn
        if conn is not None and conn.sock is None:
            self._conn = conn = None
        if conn is not None and self._monotonic() - self._last_used > self._idle_check_after:
            try:
                alive = conn.noop()[0] == 250
            except Exception:
                alive = False
            if not alive:
                self._drop(polite=False)
                conn = None
        if conn is None:
            stage: list[Stage] = ["connect"]
            try:
                conn = self._open(stage)
            finally:
                self._stage = stage[0]
            self._conn = conn
            self._last_used = self._monotonic()
            return conn, False
        return conn, True

    def _open(self, stage: list[Stage]) -> smtplib.SMTP:
        """A new connection, greeted, secured and logged in. ``stage[0]`` tracks progress."""
        s = self._settings
        local = self._local_hostname or _local_hostname()
        stage[0] = "connect"
        conn: smtplib.SMTP
        if s.security == "ssl":
            conn = smtplib.SMTP_SSL(
                s.host,
                s.port,
                local_hostname=local,
                timeout=s.timeout,
                context=ssl.create_default_context(),
            )
        else:
            conn = smtplib.SMTP(s.host, s.port, local_hostname=local, timeout=s.timeout)
        try:
            conn.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo_or_helo_if_needed()
            stage[0] = "auth"
            self._login(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _login(self, conn: smtplib.SMTP) -> None:
        """Exactly one AUTH exchange (smtplib's ``login`` retries with every mechanism)."""
        if not conn.has_extn("auth"):
            raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
        advertised = conn.esmtp_features["auth"].upper().split()
        s = self._settings
        conn.user, conn.password = s.username, s.password
        try:
            if "PLAIN" in advertised:
                conn.auth("PLAIN", conn.auth_plain)
            elif "LOGIN" in advertised:
                conn.auth("LOGIN", conn.auth_login)
            elif "CRAM-MD5" in advertised:
                conn.auth("CRAM-MD5", conn.auth_cram_md5, initial_response_ok=False)
            else:
                raise smtplib.SMTPException(
                    "No suitable authentication method found (server offers "
                    f"{' '.join(advertised) or 'none'})."
                )
        finally:
            conn.user = conn.password = ""

    def _drop(self, *, polite: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if polite and conn.sock is not None:
                conn.quit()
        except Exception:
            pass
        finally:
            conn.close()

    def _raise(self, err: SendError, cause: BaseException | None) -> NoReturn:
        """Raise ``err`` with the password (plain, base64, or in a PLAIN blob) blanked out."""
        text = err.text
        for secret in _secret_forms(self._settings):
            text = text.replace(secret, "********")
        if text != err.text:
            raise type(err)(text, err.smtp_code, err.enhanced) from None
        if cause is None or err is cause:
            raise err
        raise err from cause


def _secret_forms(settings: SmtpSettings) -> list[str]:
    password = settings.password
    if not password:
        return []
    plain = f"\0{settings.username}\0{password}".encode()
    return [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(plain).decode(),
    ]


def _looks_stale(exc: BaseException) -> bool:
    """A kept connection that died while idle: disconnect/reset, or 421 timeout at MAIL."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421
    return isinstance(exc, OSError) and not isinstance(exc, TimeoutError)
