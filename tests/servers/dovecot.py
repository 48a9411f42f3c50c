"""A real, throwaway Dovecot IMAP server for the integration tests.

Each :class:`Dovecot` runs ``/usr/sbin/dovecot -F -c <conf>`` (Debian's ``dovecot-imapd``)
with its own config in its own temp folder: plain IMAP on 127.0.0.1 and a free port,
passwd-file users, a Maildir++ mail store per user, ``Sent``/``Drafts``/``Trash``
auto-created with their special-use flags, logs in ``<tmp>/dovecot.log``. Nothing of the
system's Dovecot config is read.

Users: the one given to the constructor is the default user (Maildir ``<tmp>/Maildir``);
:meth:`Dovecot.add_user` adds more (Maildir ``<tmp>/users/<name>/Maildir``), each with its
own mail location given in its passwd-file line (``userdb_mail``). Every method that
touches mail or logs in takes ``user=`` (``None``: the default user).

Running as root, the Dovecot internals run as ``dovecot``/``dovenull`` and the mail user
is the ``dovecot`` system user's uid/gid (the temp folder is made 0755, under /dev/shm when
it exists, else the system temp dir, and the Maildir is chowned to it). Not root: everything runs as the current user.

Messages can be put in fast by writing Maildir files directly (:meth:`Dovecot.deliver`,
:meth:`Dovecot.bulk_fill`; Dovecot gives them the next UIDs at its next sync, i.e. the
next SELECT/NOOP) or exactly through IMAP APPEND (:meth:`Dovecot.append`).

Faults: :meth:`Dovecot.stop` / :meth:`Dovecot.start` (same port, same mail) for "IMAP
unreachable", :meth:`Dovecot.set_password` to make the login fail,
:meth:`Dovecot.reset_uidvalidity` to change a folder's UIDVALIDITY.

Fixture: ``dovecot`` (function-scoped, a fresh server per test; skips with a visible
reason when ``dovecot-imapd`` is not installed).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import imapclient
import pytest

from tests.waiting import wait_until

DOVECOT_BINARY = "/usr/sbin/dovecot"
SKIP_REASON = "dovecot-imapd is not installed (apt-get install dovecot-imapd)"

_SPECIAL_USE = {"Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scratch_parent() -> str:
    """Where the temp folders go: tmpfs when there is one (10,000 Maildir files take
    ~0.2 s there, 0.4-7 s on this VM's ext4 depending on journal pressure), else the
    system temp dir. ``DOVECOT_TEST_DIR`` overrides."""
    override = os.environ.get("DOVECOT_TEST_DIR")
    if override:
        return override
    shm = "/dev/shm"  # noqa: S108 - only a parent for mkdtemp (private, random name)
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return tempfile.gettempdir()


def _small_message(i: int, to: str) -> bytes:
    return (
        f"From: filler{i}@example.org\r\n"
        f"To: {to}\r\n"
        f"Subject: filler {i}\r\n"
        f"Message-ID: <filler-{i}@example.org>\r\n"
        f"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
        f"\r\n"
        f"filler body {i}\r\n"
    ).encode()


@dataclass
class _User:
    password: str
    maildir: Path
    home: Path  # never created (as for the default user since the start)


class Dovecot:
    """One throwaway Dovecot instance. Use as a context manager or call ``close()``."""

    def __init__(
        self,
        *,
        user: str = "sender@example.com",
        password: str = "imap-pass",
        sent_name: str = "Sent",
        port: int | None = None,
    ) -> None:
        if not os.path.exists(DOVECOT_BINARY):
            raise FileNotFoundError(SKIP_REASON)
        self.host = "127.0.0.1"
        self.port = port if port is not None else _free_port()
        self.user = user
        self.sent_name = sent_name
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-", dir=_scratch_parent()))
        os.chmod(self.root, 0o755)
        self.maildir = self.root / "Maildir"
        self._users = {user: _User(password, self.maildir, self.root / "home")}
        self.conf_path = self.root / "dovecot.conf"
        self.passwd_path = self.root / "passwd"
        self.log_path = self.root / "dovecot.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._seq = 0
        self._pid = os.getpid()
        self._passwd_stamp = 0

        if os.geteuid() == 0:
            dovecot_user = pwd.getpwnam("dovecot")
            self.mail_uid, self.mail_gid = dovecot_user.pw_uid, dovecot_user.pw_gid
            internal_user, login_user = "dovecot", "dovenull"
            chroot_login = True
        else:
            me = pwd.getpwuid(os.geteuid())
            self.mail_uid, self.mail_gid = me.pw_uid, me.pw_gid
            internal_user = login_user = me.pw_name
            chroot_login = False

        for sub in ("cur", "new", "tmp"):
            self._mkdir(self.maildir / sub)
        self._chown(self.maildir)
        self._write_passwd()
        self._write_conf(internal_user, login_user, chroot_login)
        self.start()

    # --- lifecycle -------------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> None:
        """Start (or restart) the server on the same port; returns once the port accepts."""
        if self._proc is not None and self._proc.poll() is None:
            return
        self._clear_stale_sockets()
        started = time.monotonic()
        with open(self.root / "dovecot.stderr", "ab") as err:
            self._proc = subprocess.Popen(
                [DOVECOT_BINARY, "-F", "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,  # its own process group: stop() ends all of it
            )
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self._proc.returncode}:\n{self.logs()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2) as s:
                    s.settimeout(1.0)
                    if s.recv(100).startswith(b"* OK"):
                        break
            except OSError:
                pass
            if time.monotonic() - started > timeout:
                self.stop()
                raise RuntimeError(f"dovecot did not listen within {timeout}s:\n{self.logs()}")
            time.sleep(0.02)
        self.startup_seconds = time.monotonic() - started

    def _clear_stale_sockets(self) -> None:
        """A restart after ``stop()``: the killed server's socket files are still there, and a
        child not yet gone may still answer on one, which the new master reads as "Dovecot is
        already running" (exit 89, seen once in CI under load). They are ours alone: remove
        them before starting."""
        run = self.root / "run"
        if not run.is_dir():
            return
        for path in run.rglob("*"):
            with contextlib.suppress(OSError):
                if stat.S_ISSOCK(path.lstat().st_mode):
                    path.unlink()

    def stop(self) -> None:
        """Kill the server and its children at once (clients are cut off, the port closes).

        Mail and config stay, so ``start()`` brings it back on the same port. SIGKILL of
        the process group, not a graceful SIGTERM: Dovecot's orderly shutdown takes ~1 s.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group we created in start()
        proc.wait(timeout=5)

    def close(self) -> None:
        """Stop the server and remove its temp folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> Dovecot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def logs(self) -> str:
        parts = []
        for name in ("dovecot.stderr", "dovecot.log"):
            with contextlib.suppress(OSError):
                parts.append((self.root / name).read_text(errors="replace"))
        return "\n".join(parts)

    # --- faults ----------------------------------------------------------------------

    def set_password(self, password: str, *, user: str | None = None) -> None:
        """Change a user's password; returns once Dovecot accepts the new one (and so no
        longer the old one) when it is running, else at its next start."""
        self._user(user).password = password
        self._write_passwd(settle=self.user if user is None else user)

    def reset_uidvalidity(self, folder: str = "INBOX", *, user: str | None = None) -> None:
        """Make ``folder`` get a new UIDVALIDITY (and renumbered UIDs), keeping its messages.

        Removes the folder's ``dovecot-uidlist`` and indexes plus the mailbox-list index
        (it caches UIDVALIDITY), with the server stopped, then starts it again.
        """
        was_running = self.running
        self.stop()
        folder_dir = self.folder_dir(folder, user=user)
        for path in list(folder_dir.glob("dovecot-uidlist*")) + list(
            folder_dir.glob("dovecot.index*")
        ):
            path.unlink()
        for path in self.maildir_of(user).glob("dovecot.list.index*"):
            path.unlink()
        if was_running:
            self.start()

    # --- users -----------------------------------------------------------------------

    @property
    def password(self) -> str:
        """The default user's password."""
        return self._users[self.user].password

    @password.setter
    def password(self, password: str) -> None:
        self.set_password(password)

    @property
    def users(self) -> list[str]:
        """Every user, the default user first."""
        return list(self._users)

    def add_user(self, username: str, password: str) -> None:
        """Add an IMAP user with its own empty Maildir (INBOX; ``Sent``/``Drafts``/``Trash``
        are created with their special-use flags at its first login, as for the default
        user). No restart: returns once Dovecot accepts the login, when it is running."""
        if username in self._users:
            raise ValueError(f"user {username!r} exists already")
        if not username or any(c in username for c in ":\n\r\t %/") or username in (".", ".."):
            raise ValueError(f"unusable user name for the passwd-file: {username!r}")
        users_dir = self.root / "users"
        self._mkdir(users_dir)
        user_dir = users_dir / username
        user_dir.mkdir(mode=0o700)  # FileExistsError on a clash
        self._chown(user_dir)
        maildir = user_dir / "Maildir"
        for sub in ("cur", "new", "tmp"):
            self._mkdir(maildir / sub)
        self._chown(maildir)
        self._users[username] = _User(password, maildir, user_dir / "home")
        self._write_passwd(settle=username)

    def password_of(self, user: str | None = None) -> str:
        return self._user(user).password

    def maildir_of(self, user: str | None = None) -> Path:
        """A user's Maildir root (its INBOX); the default user's is ``self.maildir``."""
        return self._user(user).maildir

    # --- mail ------------------------------------------------------------------------

    def folder_dir(self, folder: str = "INBOX", *, user: str | None = None) -> Path:
        """The Maildir++ directory of ``folder`` (``INBOX`` is the Maildir root)."""
        maildir = self.maildir_of(user)
        if folder.upper() == "INBOX":
            return maildir
        return maildir / ("." + folder.replace("/", "."))

    def deliver(self, raw: bytes, folder: str = "INBOX", *, user: str | None = None) -> None:
        """Drop one message into ``folder`` by writing a Maildir file (fast, no IMAP)."""
        self._deliver_many([raw], self.folder_dir(folder, user=user))

    def deliver_to_sent(self, raw: bytes, *, user: str | None = None) -> None:
        """What Gmail-like servers do: keep a copy of a sent message in the Sent folder."""
        self.deliver(raw, self.sent_name, user=user)

    def bulk_fill(self, n: int, folder: str = "INBOX", *, user: str | None = None) -> None:
        """Put ``n`` small messages into ``folder`` quickly (direct Maildir writes)."""
        to = self.user if user is None else user
        self._deliver_many(
            (_small_message(i, to) for i in range(n)), self.folder_dir(folder, user=user)
        )

    def append(self, raw: bytes, folder: str = "INBOX", *, user: str | None = None) -> int | None:
        """APPEND through IMAP (slower, exact); returns the new UID when the server says."""
        with self.client(user=user) as c:
            response = c.append(folder, raw)
        # Dovecot answers "[APPENDUID <uidvalidity> <uid>] Append completed."
        text = response.decode() if isinstance(response, bytes) else str(response)
        if text.startswith("[APPENDUID "):
            return int(text.split()[2].rstrip("]"))
        return None

    @contextlib.contextmanager
    def client(self, *, user: str | None = None) -> Iterator[imapclient.IMAPClient]:
        """A logged-in imapclient connection for checks from the test side."""
        name = self.user if user is None else user
        password = self.password_of(user)
        c = imapclient.IMAPClient(self.host, self.port, ssl=False, timeout=10)
        try:
            c.login(name, password)
            yield c
        finally:
            with contextlib.suppress(Exception):
                c.logout()

    def inbox_count(self, folder: str = "INBOX", *, user: str | None = None) -> int:
        """How many messages ``folder`` holds (counted on disk)."""
        d = self.folder_dir(folder, user=user)
        return sum(1 for sub in ("cur", "new") if (d / sub).is_dir() for _ in (d / sub).iterdir())

    # --- internals -------------------------------------------------------------------

    def _user(self, user: str | None) -> _User:
        name = self.user if user is None else user
        try:
            return self._users[name]
        except KeyError:
            raise KeyError(f"no such Dovecot user {name!r} (add_user first)") from None

    def _deliver_many(self, raws: Iterable[bytes], d: Path) -> None:
        if not (d / "new").is_dir():
            for sub in ("cur", "new", "tmp"):
                self._mkdir(d / sub)
            (d / "maildirfolder").touch()
            self._chown(d / "maildirfolder")
            self._chown(d)
        tmp, new = d / "tmp", d / "new"
        chown = os.geteuid() == 0
        now = time.time()
        sec, usec = int(now), int((now % 1) * 1_000_000)
        names: list[str] = []
        for raw in raws:
            self._seq += 1
            # Dovecot sorts new files by name (seconds, then the rest), so the names
            # sort in delivery order and the messages get increasing UIDs.
            name = f"{sec}.M{usec:06d}P{self._pid}Q{self._seq:09d}.fixture,S={len(raw)}"
            fd = os.open(tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                if chown:
                    os.fchown(fd, self.mail_uid, self.mail_gid)
                os.write(fd, raw)
            finally:
                os.close(fd)
            names.append(name)
        # Maildir: complete files appear in new/ by rename. All writes first, then all
        # renames: interleaving them is ~10x slower on ext4 here (5 s vs 0.4 s for 10k).
        for name in names:
            os.rename(tmp / name, new / name)

    def _mkdir(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._chown(path)

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            os.chown(path, self.mail_uid, self.mail_gid)

    def _write_passwd(self, *, settle: str | None = None) -> None:
        # One line per user: user:password:uid:gid:gecos:home:shell:extra fields. Each
        # user's own Maildir is its ``userdb_mail`` (the global mail_location is the
        # default user's, so a user without the field would share it).
        lines = "".join(
            f"{name}:{{PLAIN}}{u.password}:{self.mail_uid}:{self.mail_gid}"
            f"::{u.home}::userdb_mail=maildir:{u.maildir}\n"
            for name, u in self._users.items()
        )
        tmp = self.passwd_path.with_suffix(".new")
        tmp.write_text(lines)
        os.chmod(tmp, 0o644)
        # Dovecot 2.3 re-reads the file when its mtime (whole seconds) or size changed, so
        # each version gets a new mtime, even two rewrites of equal size in one second.
        self._passwd_stamp = max(int(time.time()), self._passwd_stamp + 1)
        os.utime(tmp, (self._passwd_stamp, self._passwd_stamp))
        os.replace(tmp, self.passwd_path)
        if settle is not None and self.running:
            # ... but it stats the file at most once per second (db-passwd-file.c,
            # passwd_file_sync): a login in the same second as the last lookup still gets
            # the old version. Wait until it has the new one.
            wait_until(
                lambda: self._login_works(settle),
                5,
                f"Dovecot to re-read its passwd-file for {settle}",
            )

    def _login_works(self, user: str) -> bool:
        c = imapclient.IMAPClient(self.host, self.port, ssl=False, timeout=5)
        try:
            c.login(user, self._users[user].password)
            return True
        except imapclient.exceptions.LoginError:
            return False
        finally:
            with contextlib.suppress(Exception):
                c.logout()

    def _write_conf(self, internal_user: str, login_user: str, chroot_login: bool) -> None:
        mailboxes = {"Sent": self.sent_name, "Drafts": "Drafts", "Trash": "Trash"}
        mailbox_blocks = "\n".join(
            f'  mailbox "{name}" {{\n    special_use = {_SPECIAL_USE[role]}\n'
            f"    auto = subscribe\n  }}"
            for role, name in mailboxes.items()
        )
        chroot = "" if chroot_login else "login"
        conf = f"""# Throwaway Dovecot for tests (tests/servers/dovecot.py). No system config included.
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = dovecot-test-{self.port}
log_path = {self.log_path}
info_log_path = {self.log_path}
auth_verbose = yes
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = 1
first_valid_gid = 1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
login_trusted_networks =
mail_location = maildir:{self.maildir}
mail_fsync = never
shutdown_clients = yes

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_path}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.passwd_path}
}}

namespace inbox {{
  inbox = yes
  separator = /
{mailbox_blocks}
}}

service imap-login {{
  chroot = {chroot}
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  # no growing auth penalty for 127.0.0.1 after the wrong-password tests
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
        self.conf_path.write_text(conf)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A fresh Dovecot per test: user ``sender@example.com`` / ``imap-pass``, empty mailboxes."""
    if not os.path.exists(DOVECOT_BINARY):
        pytest.skip(SKIP_REASON)
    server = Dovecot()
    try:
        yield server
    finally:
        server.close()
