"""Replies in seconds: one IMAP IDLE connection per mailbox, kept by the reply-check lease holder.

A :class:`Watcher` is one daemon thread with one connection (blocking imapclient) that waits in
IDLE on the mailbox's INBOX. When the server reports new mail (EXISTS) it calls ``on_new`` with
the mailbox id (the scheduler reads that mailbox at once and delivers the notifications), and
once after every (re)connect, to catch up on what came while it was not listening. IDLE is
re-issued every ``intervals.idle_renew`` seconds (servers drop it after ~29 min); a failing
connection is retried after 1 s, 2 s, 4 s... at most ``intervals.idle_backoff_max``; a refused
login (AccountBroken) ends the watcher until the next reply tick re-plans. A mailbox whose IDLE
keeps failing only delays its own watcher. A server without IDLE gets no watcher (the poll reads
it).

:class:`Watchers` is the set, re-planned on each reply tick from the usable mailboxes: one
thread per mailbox at most, stopped when the mailbox goes, when this replica loses the lease, or
on shutdown. The poll (``check_inbox``) stays the fallback and catch-up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from engine.context import EngineContext
from engine.errors import AccountBroken, TryLater
from engine.inbox import mailbox_checks
from engine.inbox.imap import ImapMailbox, ImapSettings
from engine.mailboxes.accounts import MailboxAccount
from engine.storage import store

log = logging.getLogger(__name__)
INBOX = "INBOX"
STEP = 0.5  # seconds between looks at the stop flag while in IDLE
FIRST_BACKOFF = 1.0


class Watcher:
    """One mailbox's IDLE loop in a daemon thread."""

    def __init__(
        self, ctx: EngineContext, account: MailboxAccount, on_new: Callable[[int], None]
    ) -> None:
        self.ctx, self.account, self.on_new = ctx, account, on_new
        self.stopping = threading.Event()
        self.idling = threading.Event()  # in IDLE now (tests wait on it)
        self.unsupported = False  # the server has no IDLE: the thread ended, the poll reads it
        self.failures = 0  # connections that failed in a row
        self.thread = threading.Thread(
            target=self._run, name=f"imap-idle-{account.id}", daemon=True
        )

    @property
    def imap(self) -> ImapSettings:
        return self.account.imap

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def join(self, timeout: float) -> None:
        if self.thread.is_alive():
            self.thread.join(timeout)

    def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while not self.stopping.is_set():
            try:
                self._session()
                backoff = FIRST_BACKOFF
            except AccountBroken as e:  # retrying soon will not help (and risks a lockout)
                self.failures += 1
                log.warning("IMAP IDLE of mailbox %d ends: %s", self.account.id, e)
                return  # the next reply tick starts a new watcher
            except (TryLater, OSError) as e:
                self.failures += 1
                log.warning("IMAP IDLE of mailbox %d: %s", self.account.id, type(e).__name__)
            except Exception:  # never let the thread die unseen
                self.failures += 1
                log.exception("IMAP IDLE of mailbox %d failed", self.account.id)
            finally:
                self.idling.clear()
            if self.unsupported:
                return
            if self.stopping.wait(backoff):
                return
            backoff = min(backoff * 2, self.ctx.intervals.idle_backoff_max)

    def _session(self) -> None:
        """One connection: IDLE, renewed, until stopped or the connection fails."""
        with self.ctx.new_mailbox(self.imap) as box:
            if not getattr(box, "supports_idle", False):  # (a test's fake mailbox: no IDLE)
                log.info("mailbox %d: the server has no IDLE; polling only", self.account.id)
                self.unsupported = True
                return
            box.select_readonly(INBOX)
            self.failures = 0
            new_mail = True  # catch up once after each (re)connect
            while not self.stopping.is_set():
                box.idle_start()
                self.idling.set()
                if new_mail:
                    self._notify()
                new_mail = self._wait(box)
                self.idling.clear()
                new_mail = box.idle_end() or new_mail  # EXISTS can come with the DONE

    def _wait(self, box: ImapMailbox) -> bool:
        """In IDLE until new mail (True), the renewal time or a stop (False)."""
        left = self.ctx.intervals.idle_renew
        while left > 0 and not self.stopping.is_set():
            step = min(STEP, left)
            if box.idle_wait(step):
                return True
            left -= step
        return False

    def _notify(self) -> None:
        try:
            self.on_new(self.account.id)
        except Exception:
            log.exception("reply check of mailbox %d after IDLE failed", self.account.id)


class Watchers:
    """The IDLE watchers of this replica, at most one per mailbox."""

    def __init__(self, ctx: EngineContext, on_new: Callable[[int], None]) -> None:
        self.ctx, self.on_new = ctx, on_new
        self.by_mailbox: dict[int, Watcher] = {}
        self._retired: list[Watcher] = []  # stopped by a re-plan, joined on stop_all
        self._lock = threading.Lock()

    def replan(self, accounts: Iterable[MailboxAccount]) -> None:
        """Watch exactly these mailboxes: start the missing, stop the gone or changed ones."""
        wanted = {a.id: a for a in accounts}
        with self._lock:
            for mailbox_id, w in list(self.by_mailbox.items()):
                a = wanted.get(mailbox_id)
                if a is None or a.imap != w.imap or (not w.thread.is_alive() and not w.unsupported):
                    w.stop()
                    del self.by_mailbox[mailbox_id]
                    self._retired.append(w)
            self._retired = [w for w in self._retired if w.thread.is_alive()]
            for mailbox_id, a in wanted.items():
                if mailbox_id not in self.by_mailbox:
                    w = Watcher(self.ctx, a, self.on_new)
                    self.by_mailbox[mailbox_id] = w
                    w.start()

    def stop_all(self, timeout: float = 5.0) -> None:
        """Stop every watcher and wait (``timeout`` in all) for their connections to close.
        A watcher still inside a reply check after that ends on its own (a daemon thread)."""
        with self._lock:
            gone = [*self.by_mailbox.values(), *self._retired]
            self.by_mailbox.clear()
            self._retired = []
        for w in gone:
            w.stop()
        deadline = time.monotonic() + timeout
        for w in gone:
            w.join(max(0.0, deadline - time.monotonic()))

    @property
    def running(self) -> int:
        """How many watcher threads run (one per watched mailbox at most)."""
        with self._lock:
            return sum(w.thread.is_alive() for w in self.by_mailbox.values())


def wanted(ctx: EngineContext) -> list[MailboxAccount]:
    """The mailboxes to watch: every usable one with REPLY_IDLE on, none with it off."""
    with ctx.db.transaction() as session:
        on = store.effective_settings(session, ctx.settings).reply_idle
    return mailbox_checks.plan(ctx).accounts if on else []
