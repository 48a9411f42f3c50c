"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, AUTH required, with fault switches.

``SmtpServer`` listens on a free TCP port, so it serves an in-process ``SmtpMailer`` and a
``python -m bot`` subprocess alike. It behaves like a submission server (Gmail's
smtp.gmail.com is the model): EHLO advertises ``AUTH LOGIN PLAIN`` over plain text
(``auth_require_tls=False``), MAIL is refused with 530 until the client has authenticated,
and every accepted message is kept in ``server.messages``.

Fault switches (all thread-safe, all undone by ``reset_faults()``) make it answer the way
real providers do when things go wrong: bad password, no AUTH offered, 4xx at DATA, daily
quota, rejected recipient, content blocked, too many logins, and a connection dropped after
the message was stored but before the 250 (so the client cannot know whether it went out).

The pytest fixture ``smtp_server`` yields a started server whose credentials are
``("sender@example.com", "app-password-123")`` and stops it afterwards.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

log = logging.getLogger(__name__)


class _DropLoginDataNag(logging.Filter):
    """aiosmtpd 1.4 logs a deprecation warning for its own ``session.login_data`` on each AUTH."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_DropLoginDataNag())

DEFAULT_USERNAME = "sender@example.com"
DEFAULT_PASSWORD = "app-password-123"  # noqa: S105 - a test fixture's credential

# The answers real providers give (Gmail's texts unless noted).
BAD_CREDENTIALS = (
    "535 5.7.8 Username and Password not accepted. For more information, go to "
    "https://support.google.com/mail/?p=BadCredentials"
)
AUTH_REQUIRED = "530 5.7.0 Authentication Required."
TOO_MANY_LOGINS = "454 4.7.0 Too many login attempts, please try again later."
QUOTA_EXCEEDED = "550 5.4.5 Daily user sending quota exceeded."
CONTENT_BLOCKED = "554 5.7.1 Message rejected due to content"
NO_AUTH = "503 5.5.1 AUTH not available"


@dataclass(frozen=True)
class Received:
    """One message the server accepted (or stored before dropping the connection).

    ``data`` is the DATA payload byte for byte (CRLF, dot-unstuffed); ``message`` is it
    parsed with ``email.policy.default`` after CRLF -> LF.
    """

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage
    received_at: datetime


class _Handler:
    """aiosmtpd handler; all state lives on the owning ``SmtpServer`` (under its lock)."""

    def __init__(self, owner: SmtpServer) -> None:
        self._owner = owner

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname  # the "new style" hook must do this itself
        if self._owner._faults["no_auth"]:
            responses = [r for r in responses if not r[4:].upper().startswith("AUTH")]
        return responses

    async def handle_AUTH(
        self, server: SMTP, session: Session, envelope: Envelope, args: list[str]
    ) -> Any:
        owner = self._owner
        with owner._lock:
            owner._auth_attempts += 1
            faults = dict(owner._faults)
            if faults["no_auth"] or faults["too_many_logins"] or faults["refuse_auth"]:
                owner._auth_failures += 1
        if faults["no_auth"]:
            return NO_AUTH
        if faults["too_many_logins"]:
            return TOO_MANY_LOGINS
        if faults["refuse_auth"]:
            return BAD_CREDENTIALS
        return MISSING  # let aiosmtpd run PLAIN/LOGIN and call the authenticator

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        owner = self._owner
        ok = False
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            with owner._lock:
                ok = (login, password) == owner._credentials
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        with owner._lock:
            owner._auth_failures += 1
        return AuthResult(success=False, handled=False, message=BAD_CREDENTIALS)

    async def handle_NOOP(
        self, server: SMTP, session: Session, envelope: Envelope, arg: str
    ) -> Any:
        with self._owner._lock:
            self._owner._noops += 1
        return MISSING

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> Any:
        # AUTH is enforced here rather than with ``auth_required=True``, which warns on every
        # connection when TLS is not required.
        if not session.authenticated:
            return AUTH_REQUIRED
        return MISSING

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> Any:
        with self._owner._lock:
            rejection = self._owner._rejected.get(address.lower())
        if rejection is not None:
            code, text = rejection
            return f"{code} {text}"
        return MISSING

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        owner = self._owner
        with owner._lock:
            faults = owner._faults
            if faults["tempfail"]:
                faults["tempfail"] -= 1
                code, text = faults["tempfail_reply"]
                return f"{code} {text}"
            if faults["quota"]:
                return QUOTA_EXCEEDED
            if faults["block_content"]:
                faults["block_content"] -= 1
                return CONTENT_BLOCKED
            drop = bool(faults["drop_after_store"])
            if drop:
                faults["drop_after_store"] -= 1
        received = owner._store(envelope)
        if drop:
            # The message is stored, but the client never sees the 250: close the socket now.
            # smtp_DATA then pushes the status into a closing transport (silently discarded)
            # and the session task ends; the client's getreply() sees EOF.
            assert server.transport is not None
            server.transport.close()
        return f"250 2.0.0 OK {received.received_at.timestamp():.6f} - gsmtp"


class _CountingSMTP(SMTP):
    """aiosmtpd's SMTP protocol, counting TCP connections (not STARTTLS re-handshakes)."""

    def __init__(self, owner: SmtpServer, *args: Any, **kwargs: Any) -> None:
        self._owner = owner
        super().__init__(*args, **kwargs)

    def connection_made(self, transport: Any) -> None:
        if self._original_transport is None:
            with self._owner._lock:
                self._owner._connections += 1
        super().connection_made(transport)


class _Controller(Controller):
    """Binds port 0 (a free port) and learns the real port before the readiness probe."""

    def __init__(self, owner: SmtpServer, handler: _Handler, port: int, **kwargs: Any) -> None:
        self._owner = owner
        super().__init__(handler, hostname="127.0.0.1", port=port, **kwargs)

    def factory(self) -> SMTP:
        return _CountingSMTP(self._owner, self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def _fresh_faults() -> dict[str, Any]:
    return {
        "refuse_auth": False,
        "no_auth": False,
        "too_many_logins": False,
        "quota": False,
        "tempfail": 0,
        "tempfail_reply": (451, "4.3.0 Temporary server error"),
        "block_content": 0,
        "drop_after_store": 0,
    }


class SmtpServer:
    """A started-on-demand aiosmtpd server on 127.0.0.1 with AUTH and fault switches."""

    def __init__(
        self,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        *,
        on_store: Callable[[Received], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._stored = threading.Condition(self._lock)
        self._credentials = (username, password)
        self._messages: list[Received] = []
        self._faults: dict[str, Any] = _fresh_faults()
        self._rejected: dict[str, tuple[int, str]] = {}
        self._auth_attempts = 0
        self._auth_failures = 0
        self._connections = 0
        self._noops = 0
        self._controller: _Controller | None = None
        self._port = 0
        self.host = "127.0.0.1"
        self.on_store = on_store

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SmtpServer:
        """Start listening. After ``stop()``, ``start()`` listens again on the same port."""
        if self._controller is not None:
            return self
        handler = _Handler(self)
        controller = _Controller(
            self,
            handler,
            self._port,
            server_hostname="smtp.test",  # avoids a slow socket.getfqdn() per connection
            authenticator=handler.authenticate,
            auth_require_tls=False,
            ready_timeout=5.0,
        )
        controller.start()
        self._port = controller.port
        self._controller = controller
        with self._lock:
            self._connections = 0  # forget the controller's readiness probe
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def port(self) -> int:
        return self._port

    @property
    def username(self) -> str:
        with self._lock:
            return self._credentials[0]

    @property
    def password(self) -> str:
        with self._lock:
            return self._credentials[1]

    def set_credentials(self, username: str, password: str) -> None:
        with self._lock:
            self._credentials = (username, password)

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SmtpServer({self.host}:{self._port}, running={self.running})"

    # -- what arrived ----------------------------------------------------------------------

    @property
    def messages(self) -> list[Received]:
        """A snapshot of every stored message, oldest first."""
        with self._lock:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        """Block until at least ``count`` messages are stored; return them all.

        Raises ``TimeoutError`` saying how many arrived if ``timeout`` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        with self._stored:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"expected {count} message(s) within {timeout}s, got {len(self._messages)}"
                    )
                self._stored.wait(left)
            return list(self._messages)

    def by_recipient(self, addr: str) -> list[Received]:
        wanted = addr.lower()
        return [m for m in self.messages if wanted in (r.lower() for r in m.rcpt_tos)]

    def clear_messages(self) -> None:
        with self._lock:
            self._messages.clear()

    @property
    def auth_attempts(self) -> int:
        with self._lock:
            return self._auth_attempts

    @property
    def auth_failures(self) -> int:
        with self._lock:
            return self._auth_failures

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    @property
    def noops(self) -> int:
        """How many NOOP commands arrived (a client probing an idle connection)."""
        with self._lock:
            return self._noops

    def reset_counters(self) -> None:
        with self._lock:
            self._auth_attempts = self._auth_failures = self._connections = self._noops = 0

    # -- fault switches --------------------------------------------------------------------

    def refuse_auth(self, on: bool = True) -> None:
        """Answer every AUTH with 535 5.7.8 Username and Password not accepted."""
        self._set_fault("refuse_auth", on)

    def no_auth_offered(self, on: bool = True) -> None:
        """EHLO does not advertise AUTH at all."""
        self._set_fault("no_auth", on)

    def too_many_logins(self, on: bool = True) -> None:
        """Answer every AUTH with 454 4.7.0 Too many login attempts."""
        self._set_fault("too_many_logins", on)

    def quota_exceeded(self, on: bool = True) -> None:
        """Answer DATA with Gmail's 550 5.4.5 Daily user sending quota exceeded."""
        self._set_fault("quota", on)

    def tempfail_next(
        self, n: int = 1, code: int = 451, text: str = "4.3.0 Temporary server error"
    ) -> None:
        """Answer the next ``n`` DATA with ``code text`` (a 4xx) and store nothing."""
        with self._lock:
            self._faults["tempfail"] = n
            self._faults["tempfail_reply"] = (code, text)

    def block_content_next(self, n: int = 1) -> None:
        """Answer the next ``n`` DATA with 554 5.7.1 Message rejected due to content."""
        self._set_fault("block_content", n)

    def drop_after_store_next(self, n: int = 1) -> None:
        """For the next ``n`` DATA: store the message, then close without answering 250."""
        self._set_fault("drop_after_store", n)

    def reject_recipient(
        self,
        addr: str,
        code: int = 550,
        text: str = "5.1.1 The email account that you tried to reach does not exist.",
    ) -> None:
        """Answer RCPT TO:<addr> (case-insensitive) with ``code text``."""
        with self._lock:
            self._rejected[addr.lower()] = (code, text)

    def reset_faults(self) -> None:
        with self._lock:
            self._faults = _fresh_faults()
            self._rejected.clear()

    def _set_fault(self, name: str, value: Any) -> None:
        with self._lock:
            self._faults[name] = value

    # -- storing ---------------------------------------------------------------------------

    def _store(self, envelope: Envelope) -> Received:
        data = envelope.original_content or b""
        # ``data`` stays exactly as received (CRLF); the parsed message uses "\n" line ends
        # so that ``get_content()`` compares equal to what the sender put in.
        parsed = email.message_from_bytes(data.replace(b"\r\n", b"\n"), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        received = Received(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            data=data,
            message=parsed,
            received_at=datetime.now(UTC),
        )
        with self._stored:
            self._messages.append(received)
            self._stored.notify_all()
        callback = self.on_store
        if callback is not None:
            # Called before the client gets its 250, as Gmail files the Sent copy first.
            try:
                callback(received)
            except Exception:
                log.exception("SmtpServer.on_store callback failed")
        return received


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A started ``SmtpServer`` with credentials sender@example.com / app-password-123."""
    server = SmtpServer(DEFAULT_USERNAME, DEFAULT_PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.stop()
