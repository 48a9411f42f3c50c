"""Read the operator's mailbox over IMAP: new replies (incrementally) and the Sent folder.

Blocking (imapclient); meant to run in a worker thread. It never changes the mailbox:
folders are opened with EXAMINE (``readonly=True``), bodies are fetched with
``BODY.PEEK[]`` (no ``\\Seen``), nothing is flagged, moved or deleted.

Errors come out as the engine's typed errors:

* the login is refused, the server does not offer STARTTLS when asked for, or its TLS
  certificate does not verify -> :class:`engine.errors.AccountBroken` (retrying will not
  help; the text is the server's answer, never the password);
* connection refused, timeouts, socket/TLS errors, the server dropping the connection
  (IMAP abort) or answering NO/BAD to a command -> :class:`engine.errors.TryLater`.

Usage::

    with ImapMailbox(settings) as box:
        uidvalidity = box.select_readonly("INBOX")
        for msg in box.fetch(box.new_uids(last_uid)):
            ...
"""

from __future__ import annotations

import ast
import contextlib
import imaplib
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from engine.errors import AccountBroken, TryLater
from engine.inbox.limits import RAW_MAX

SENT_FLAG = b"\\Sent"
ALL_FLAG = b"\\All"
GMAIL_CAPABILITY = "X-GM-EXT-1"


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: Literal["starttls", "ssl", "none"]
    username: str
    password: str = field(repr=False)
    timeout: float = 30.0


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    raw: bytes


class ImapMailbox:
    """An IMAP connection used read-only. Connect + login on ``__enter__``, logout on exit.

    ``new_uids``/``fetch`` act on the folder last opened with ``select_readonly`` (or by
    ``has_message_id``, which opens the folder it searches).
    """

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.fetched_count = 0
        self._client: Any = None  # IMAPClient (untyped library)
        self._capabilities: frozenset[str] | None = None

    # --- connection ------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def connect(self) -> None:
        """Open the connection (TLS per ``security``) and log in."""
        s = self.settings
        try:
            self._connect(s)
        except BaseException:
            self.close()
            raise
        self._capabilities = None

    def _connect(self, s: ImapSettings) -> None:
        with self._errors():
            if s.security == "ssl":
                client = IMAPClient(
                    s.host,
                    port=s.port,
                    ssl=True,
                    ssl_context=ssl.create_default_context(),
                    timeout=s.timeout,
                )
            else:
                client = IMAPClient(s.host, port=s.port, ssl=False, timeout=s.timeout)
            self._client = client
            if s.security == "starttls":
                if not client.has_capability("STARTTLS"):
                    raise AccountBroken(
                        f"IMAP server {s.host}:{s.port} does not offer STARTTLS; "
                        "not sending the password in clear text"
                    )
                client.starttls(ssl.create_default_context())
            try:
                client.login(s.username, s.password)
            except LoginError as e:
                raise AccountBroken(
                    f"IMAP login as {s.username} on {s.host} failed: {self._scrub(str(e))}"
                ) from None

    def close(self) -> None:
        """Log out (best effort) and drop the connection. Safe to call twice."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # logging out of a broken connection
            with contextlib.suppress(Exception):
                client.shutdown()

    @property
    def capabilities(self) -> frozenset[str]:
        """The server's capabilities after login, upper-case (``"IMAP4REV1"``, ...)."""
        if self._capabilities is None:
            with self._errors():
                raw = self._c.capabilities()
            self._capabilities = frozenset(
                (c.decode("ascii", "replace") if isinstance(c, bytes) else str(c)).upper()
                for c in raw
            )
        return self._capabilities

    @property
    def is_gmail(self) -> bool:
        return GMAIL_CAPABILITY in self.capabilities

    # --- reading ---------------------------------------------------------------------

    def select_readonly(self, folder: str) -> int:
        """EXAMINE ``folder``; returns its UIDVALIDITY."""
        with self._errors():
            info = self._c.select_folder(folder, readonly=True)
        try:
            return int(info[b"UIDVALIDITY"])
        except (KeyError, TypeError, ValueError):
            raise TryLater(f"IMAP server sent no UIDVALIDITY for {folder!r}") from None

    def new_uids(self, last_uid: int) -> list[int]:
        """UIDs above ``last_uid`` in the selected folder, ascending.

        ``UID SEARCH UID n:*`` always matches the highest UID even when it is below ``n``
        (``*`` is the highest UID and ``n:*`` means the same as ``*:n``), so the answer is
        filtered here.
        """
        last_uid = max(last_uid, 0)
        with self._errors():
            found = self._c.search(["UID", f"{last_uid + 1}:*"])
        return sorted({int(uid) for uid in found if int(uid) > last_uid})

    def fetch(self, uids: Sequence[int], batch: int = 50) -> Iterator[FetchedMessage]:
        """The full raw messages for ``uids``, oldest first, ``batch`` per FETCH.

        Uses ``BODY.PEEK[]`` so nothing gets ``\\Seen``, and fetches at most the first
        ``RAW_MAX`` bytes of each message (mail is hostile input: a 1 GB message is not read).
        UIDs that vanished meanwhile are
        skipped. Counts what it yields in ``fetched_count``.
        """
        if batch < 1:
            raise ValueError("batch must be >= 1")
        ordered = sorted(set(uids))
        for start in range(0, len(ordered), batch):
            chunk = ordered[start : start + batch]
            with self._errors():
                response = self._c.fetch(chunk, [f"BODY.PEEK[]<0.{RAW_MAX}>".encode()])
            for uid in chunk:
                data = response.get(uid)
                body = (data.get(b"BODY[]<0>") or data.get(b"BODY[]")) if data else None
                if body is None:
                    continue
                self.fetched_count += 1
                yield FetchedMessage(uid=uid, raw=bytes(body))

    def sent_folder(self) -> str | None:
        """The folder holding sent mail, found by its special-use flag (never by name).

        ``\\Sent`` normally; on Gmail the folder flagged ``\\All`` ("[Gmail]/All Mail"),
        where a Message-ID search finds sent mail regardless of labels.
        """
        wanted = ALL_FLAG if self.is_gmail else SENT_FLAG
        with self._errors():
            folders = self._c.list_folders()
        for flags, _delimiter, name in folders:
            if any(_flag_eq(flag, wanted) for flag in flags):
                return str(name)
        return None

    def has_message_id(self, folder: str, message_id: str) -> bool:
        """Whether ``folder`` holds a message with this Message-ID (opens it read-only).

        Gmail's plain ``HEADER`` search misses, so there ``X-GM-RAW rfc822msgid:`` is used.
        """
        bare = message_id.strip().strip("<>").strip()
        if not bare:
            raise ValueError("empty Message-ID")
        self.select_readonly(folder)
        with self._errors():
            if self.is_gmail:
                found = self._c.search([b"X-GM-RAW", f"rfc822msgid:{bare}"], charset="UTF-8")
            else:
                # HEADER is a substring match: keep the brackets so "<a@x>" is not found
                # inside "<ba@x>".
                found = self._c.search(["HEADER", "Message-ID", f"<{bare}>"])
        return len(found) > 0

    # --- IDLE (engine/inbox/idle.py) --------------------------------------------------

    @property
    def supports_idle(self) -> bool:
        return "IDLE" in self.capabilities

    def idle_start(self) -> None:
        """Enter IDLE on the selected folder."""
        with self._errors():
            self._c.idle()

    def idle_wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds in IDLE; True if the server reported new mail."""
        with self._errors():
            return _new_mail(self._c.idle_check(timeout=timeout))

    def idle_end(self) -> bool:
        """Leave IDLE (DONE); True if new mail was reported meanwhile."""
        with self._errors():
            _text, responses = self._c.idle_done()
        return _new_mail(responses)

    # --- internals -------------------------------------------------------------------

    @property
    def _c(self) -> Any:
        if self._client is None:
            raise RuntimeError("ImapMailbox is not connected: use it as a context manager")
        return self._client

    def _scrub(self, text: str) -> str:
        """The server's text for humans: ``b'...'`` reprs unwrapped, the password masked."""
        if len(text) >= 3 and text[:2] in ("b'", 'b"') and text[-1] == text[1]:
            with contextlib.suppress(ValueError, SyntaxError):
                literal = ast.literal_eval(text)
                if isinstance(literal, bytes):
                    text = literal.decode("utf-8", "replace")
        password = self.settings.password
        return text.replace(password, "***") if password else text

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Translate library/socket errors into the engine's typed errors."""
        where = f"{self.settings.host}:{self.settings.port}"
        try:
            yield
        except (AccountBroken, TryLater):
            raise
        except LoginError as e:
            raise AccountBroken(f"IMAP login on {where} failed: {self._scrub(str(e))}") from None
        except ssl.SSLCertVerificationError as e:
            raise AccountBroken(
                f"IMAP server {where} TLS certificate does not verify: {self._scrub(str(e))}"
            ) from None
        except imaplib.IMAP4.abort as e:
            raise TryLater(f"IMAP connection to {where} dropped: {self._scrub(str(e))}") from None
        except imaplib.IMAP4.error as e:
            raise TryLater(f"IMAP server {where} refused: {self._scrub(str(e))}") from None
        except OSError as e:  # refused, timeouts, resets, TLS errors
            raise TryLater(f"IMAP server {where} unreachable: {self._scrub(str(e))}") from None


def _flag_eq(flag: object, wanted: bytes) -> bool:
    raw = flag if isinstance(flag, bytes) else str(flag).encode()
    return raw.lower() == wanted.lower()


def _new_mail(responses: Sequence[Any]) -> bool:
    """An IDLE answer reporting new mail: ``* n EXISTS`` (or ``* n RECENT``)."""
    return any(
        isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses
    )
