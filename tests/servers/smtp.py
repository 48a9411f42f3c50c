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

Several logins (one server standing in for several sending mailboxes): the login given to
the constructor (or ``set_credentials``) is the primary one; ``add_login`` adds more. Every
fault but ``no_auth_offered`` takes ``login=``: ``None`` (the default) means every login, as
with a single login; a name limits the fault to AUTH attempts with that login name and to
transactions authenticated as it. Each ``Received`` records the AUTH login that sent it
(``by_login``); auth attempts and failures are counted in total and per login name.

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
from base64 import b64decode
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
    parsed with ``email.policy.default`` after CRLF -> LF. ``login`` is the AUTH login of
    the session that sent it.
    """

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage
    received_at: datetime
    login: str | None = None


# A fault's scope: ``None`` (every login) or one login name.
Scope = str | None


@dataclass
class _Faults:
    """The fault switches, each per scope. Only touched under ``SmtpServer._lock``."""

    no_auth: bool = False
    # on/off switches: the scopes they are on for
    switches: dict[str, set[Scope]] = field(
        default_factory=lambda: {"refuse_auth": set(), "too_many_logins": set(), "quota": set()}
    )
    # "the next n DATA" faults: how many are left per scope
    counts: dict[str, dict[Scope, int]] = field(
        default_factory=lambda: {"tempfail": {}, "block_content": {}, "drop_after_store": {}}
    )
    tempfail_reply: dict[Scope, tuple[int, str]] = field(default_factory=dict)
    # (scope, lower-cased address) -> (code, text)
    rejected: dict[tuple[Scope, str], tuple[int, str]] = field(default_factory=dict)

    def switch(self, name: str, on: bool, login: Scope) -> None:
        scopes = self.switches[name]
        if on:
            scopes.add(login)
        elif login is None:
            scopes.clear()  # off for everyone, per-login switches included
        else:
            scopes.discard(login)

    def is_on(self, name: str, login: Scope) -> bool:
        scopes = self.switches[name]
        return None in scopes or (login is not None and login in scopes)

    def take(self, name: str, login: Scope) -> tuple[bool, Scope]:
        """Use up one of the ``name`` faults that applies to ``login`` (its own first)."""
        left = self.counts[name]
        for scope in (login, None) if login is not None else (None,):
            if left.get(scope, 0) > 0:
                left[scope] -= 1
                return True, scope
        return False, None


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
        if self._owner._faults.no_auth:
            responses = [r for r in responses if not r[4:].upper().startswith("AUTH")]
        return responses

    async def handle_AUTH(
        self, server: SMTP, session: Session, envelope: Envelope, args: list[str]
    ) -> Any:
        owner = self._owner
        with owner._lock:
            owner._auth_attempts += 1
            faults = owner._faults
            if faults.no_auth:
                reply = NO_AUTH
            elif faults.is_on("too_many_logins", None):
                reply = TOO_MANY_LOGINS
            elif faults.is_on("refuse_auth", None):
                reply = BAD_CREDENTIALS
            else:
                # let aiosmtpd run PLAIN/LOGIN and call the authenticator, which counts
                # the attempt per login and applies per-login faults
                return MISSING
            owner._auth_failures += 1
            login = _initial_login(args)
            if login is not None:
                owner._count_auth(login, failed=True)
        return reply

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        owner = self._owner
        reply = BAD_CREDENTIALS
        with owner._lock:
            if isinstance(auth_data, LoginPassword):
                login = auth_data.login.decode("utf-8", "replace")
                password = auth_data.password.decode("utf-8", "replace")
                faults = owner._faults
                if faults.is_on("too_many_logins", login):
                    reply = TOO_MANY_LOGINS
                elif faults.is_on("refuse_auth", login):
                    reply = BAD_CREDENTIALS
                elif owner._accounts.get(login) == password:
                    owner._count_auth(login, failed=False)
                    return AuthResult(success=True, auth_data=auth_data)
                owner._count_auth(login, failed=True)
            owner._auth_failures += 1
        return AuthResult(success=False, handled=False, message=reply)

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
        login = _session_login(session)
        with self._owner._lock:
            rejected = self._owner._faults.rejected
            rejection = rejected.get((login, address.lower())) if login is not None else None
            if rejection is None:
                rejection = rejected.get((None, address.lower()))
        if rejection is not None:
            code, text = rejection
            return f"{code} {text}"
        return MISSING

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        owner = self._owner
        login = _session_login(session)
        with owner._lock:
            faults = owner._faults
            taken, scope = faults.take("tempfail", login)
            if taken:
                code, text = faults.tempfail_reply[scope]
                return f"{code} {text}"
            if faults.is_on("quota", login):
                return QUOTA_EXCEEDED
            if faults.take("block_content", login)[0]:
                return CONTENT_BLOCKED
            drop = faults.take("drop_after_store", login)[0]
        received = owner._store(envelope, login)
        if drop:
            # The message is stored, but the client never sees the 250: close the socket now.
            # smtp_DATA then pushes the status into a closing transport (silently discarded)
            # and the session task ends; the client's getreply() sees EOF.
            assert server.transport is not None
            server.transport.close()
        return f"250 2.0.0 OK {received.received_at.timestamp():.6f} - gsmtp"


def _session_login(session: Session) -> str | None:
    """The login a session authenticated as (``None`` before a successful AUTH)."""
    data = session.auth_data if session.authenticated else None
    if isinstance(data, LoginPassword):
        return data.login.decode("utf-8", "replace")
    return None


def _initial_login(args: list[str]) -> str | None:
    """The login name in an AUTH command's initial response, when it carries one.

    ``AUTH PLAIN <base64 authz NUL login NUL password>`` (smtplib's and the engine's way)
    and ``AUTH LOGIN <base64 login>``; ``None`` otherwise.
    """
    if len(args) != 2:
        return None
    try:
        decoded = b64decode(args[1].encode(), validate=True)
    except ValueError:
        return None
    mechanism = args[0].upper()
    if mechanism == "PLAIN":
        parts = decoded.split(b"\x00")
        return parts[1].decode("utf-8", "replace") if len(parts) == 3 else None
    if mechanism == "LOGIN":
        return decoded.decode("utf-8", "replace")
    return None


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


class SmtpServer:
    """A started-on-demand aiosmtpd server on 127.0.0.1 with AUTH and fault switches.

    ``username``/``password`` is the primary login; ``add_login`` adds more.
    """

    def __init__(
        self,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        *,
        on_store: Callable[[Received], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._stored = threading.Condition(self._lock)
        self._primary = username
        self._accounts: dict[str, str] = {username: password}  # login -> password
        self._messages: list[Received] = []
        self._faults = _Faults()
        self._auth_attempts = 0
        self._auth_failures = 0
        self._attempts_by_login: dict[str, int] = {}
        self._failures_by_login: dict[str, int] = {}
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
        """The primary login."""
        with self._lock:
            return self._primary

    @property
    def password(self) -> str:
        """The primary login's password."""
        with self._lock:
            return self._accounts[self._primary]

    def set_credentials(self, username: str, password: str) -> None:
        """Replace the primary login (the old primary name stops working); others stay."""
        with self._lock:
            others = {k: v for k, v in self._accounts.items() if k not in (self._primary, username)}
            self._primary = username
            self._accounts = {username: password, **others}

    def add_login(self, username: str, password: str) -> None:
        """Accept AUTH as ``username``/``password`` too (or change that login's password)."""
        with self._lock:
            self._accounts[username] = password

    @property
    def logins(self) -> list[str]:
        """Every accepted login, the primary first."""
        with self._lock:
            return list(self._accounts)

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

    def wait_for(
        self, count: int, timeout: float = 10, *, login: str | None = None
    ) -> list[Received]:
        """Block until at least ``count`` messages are stored (sent as ``login``, when given);
        return them (those of ``login``) all.

        Raises ``TimeoutError`` saying how many arrived if ``timeout`` seconds pass first.
        """
        deadline = time.monotonic() + timeout

        def arrived() -> list[Received]:
            if login is None:
                return list(self._messages)
            return [m for m in self._messages if m.login == login]

        with self._stored:
            while len(got := arrived()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    whose = "" if login is None else f" from {login}"
                    raise TimeoutError(
                        f"expected {count} message(s){whose} within {timeout}s, got {len(got)}"
                    )
                self._stored.wait(left)
            return got

    def by_recipient(self, addr: str) -> list[Received]:
        wanted = addr.lower()
        return [m for m in self.messages if wanted in (r.lower() for r in m.rcpt_tos)]

    def by_login(self, login: str) -> list[Received]:
        """The stored messages sent in sessions authenticated as ``login`` (exact name)."""
        return [m for m in self.messages if m.login == login]

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

    def auth_attempts_for(self, login: str) -> int:
        """AUTH attempts with this login name (known once the client sent it: every attempt
        that reached the credential check, and refused ones whose AUTH line carried it)."""
        with self._lock:
            return self._attempts_by_login.get(login, 0)

    def auth_failures_for(self, login: str) -> int:
        """Failed AUTH attempts with this login name (counted as ``auth_attempts_for``)."""
        with self._lock:
            return self._failures_by_login.get(login, 0)

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
            self._attempts_by_login.clear()
            self._failures_by_login.clear()

    # -- fault switches --------------------------------------------------------------------

    # ``login=None`` is every login. For the on/off switches, ``on=False`` with
    # ``login=None`` turns the switch off for every login (per-login ones included), with a
    # name only that login's own switch (a switch on for every login still applies to it).
    # The "next n" faults keep a count per scope; a transaction uses up its own login's
    # first, then the every-login one.

    def refuse_auth(self, on: bool = True, login: str | None = None) -> None:
        """Answer AUTH with 535 5.7.8 Username and Password not accepted.

        For every login: at once, before any credentials. For one login: after the client
        sent that login name, whatever the password.
        """
        self._switch("refuse_auth", on, login)

    def no_auth_offered(self, on: bool = True) -> None:
        """EHLO does not advertise AUTH at all (for every login: none is known at EHLO)."""
        with self._lock:
            self._faults.no_auth = on

    def too_many_logins(self, on: bool = True, login: str | None = None) -> None:
        """Answer AUTH with 454 4.7.0 Too many login attempts (when: as ``refuse_auth``)."""
        self._switch("too_many_logins", on, login)

    def quota_exceeded(self, on: bool = True, login: str | None = None) -> None:
        """Answer DATA with Gmail's 550 5.4.5 Daily user sending quota exceeded."""
        self._switch("quota", on, login)

    def tempfail_next(
        self,
        n: int = 1,
        code: int = 451,
        text: str = "4.3.0 Temporary server error",
        login: str | None = None,
    ) -> None:
        """Answer the next ``n`` DATA with ``code text`` (a 4xx) and store nothing."""
        with self._lock:
            self._faults.counts["tempfail"][login] = n
            self._faults.tempfail_reply[login] = (code, text)

    def block_content_next(self, n: int = 1, login: str | None = None) -> None:
        """Answer the next ``n`` DATA with 554 5.7.1 Message rejected due to content."""
        with self._lock:
            self._faults.counts["block_content"][login] = n

    def drop_after_store_next(self, n: int = 1, login: str | None = None) -> None:
        """For the next ``n`` DATA: store the message, then close without answering 250."""
        with self._lock:
            self._faults.counts["drop_after_store"][login] = n

    def reject_recipient(
        self,
        addr: str,
        code: int = 550,
        text: str = "5.1.1 The email account that you tried to reach does not exist.",
        login: str | None = None,
    ) -> None:
        """Answer RCPT TO:<addr> (case-insensitive) with ``code text``."""
        with self._lock:
            self._faults.rejected[(login, addr.lower())] = (code, text)

    def reset_faults(self) -> None:
        """Every fault off, for every login."""
        with self._lock:
            self._faults = _Faults()

    def _switch(self, name: str, on: bool, login: str | None) -> None:
        with self._lock:
            self._faults.switch(name, on, login)

    def _count_auth(self, login: str, *, failed: bool) -> None:
        """Count one AUTH attempt with ``login`` (the caller holds the lock)."""
        self._attempts_by_login[login] = self._attempts_by_login.get(login, 0) + 1
        if failed:
            self._failures_by_login[login] = self._failures_by_login.get(login, 0) + 1

    # -- storing ---------------------------------------------------------------------------

    def _store(self, envelope: Envelope, login: str | None = None) -> Received:
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
            login=login,
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
