"""An IDLE watcher's loop with a scripted mailbox: IDLE renewed every ``idle_renew``, new mail
(also when it comes with the DONE) checked once per report, a failing connection retried with
growing waits up to ``idle_backoff_max``, a refused login ends the watcher, and stopping ends it
with its connection closed."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace, TracebackType
from typing import Any, cast

from engine.context import EngineContext
from engine.errors import AccountBroken, TryLater
from engine.inbox import idle
from engine.inbox.imap import _new_mail
from engine.intervals import Intervals
from tests.waiting import wait_until


class Box:
    """A mailbox that answers IDLE from a script: each ``idle_wait`` pops its next answer."""

    def __init__(self, script: list[bool], done_reports: bool = False) -> None:
        self.script, self.done_reports = script, done_reports
        self.starts = self.ends = 0
        self.closed = False

    def __enter__(self) -> Box:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.closed = True

    supports_idle = True

    def select_readonly(self, folder: str) -> int:
        return 1

    def idle_start(self) -> None:
        self.starts += 1

    def idle_wait(self, timeout: float) -> bool:
        time.sleep(min(timeout, 0.01))
        return self.script.pop(0) if self.script else False

    def idle_end(self) -> bool:
        self.ends += 1
        return self.done_reports and self.ends == 1


def ctx_with(factory: Any, **iv: float) -> EngineContext:
    return cast(EngineContext, SimpleNamespace(intervals=Intervals(**iv), new_mailbox=factory))


def account(mailbox_id: int = 2) -> Any:
    return SimpleNamespace(id=mailbox_id, imap=object())


def test_new_mail_is_exists_or_recent_in_the_answer() -> None:
    assert _new_mail([(3, b"EXISTS")]) and _new_mail([(1, b"RECENT")])
    assert not _new_mail([(b"OK", b"Still here")]) and not _new_mail([])


def test_idle_is_renewed_and_each_report_of_new_mail_is_checked_once() -> None:
    box = Box([False, True, False])
    checked: list[int] = []
    w = idle.Watcher(ctx_with(lambda _imap: box, idle_renew=0.02), account(), checked.append)
    w.start()
    wait_until(lambda: box.starts >= 6, 5, "IDLE renewed several times")
    w.stop()
    w.join(5)
    assert not w.thread.is_alive() and box.closed
    assert checked == [2, 2]  # the catch-up after connecting, then the one report
    assert box.ends == box.starts  # every IDLE ended with DONE


def test_new_mail_reported_with_the_done_is_checked() -> None:
    box = Box([], done_reports=True)
    checked: list[int] = []
    w = idle.Watcher(ctx_with(lambda _imap: box, idle_renew=0.02), account(), checked.append)
    w.start()
    wait_until(lambda: len(checked) == 2, 5, "the check after the DONE's EXISTS")
    w.stop()
    w.join(5)


def test_a_failing_connection_is_retried_with_growing_waits_up_to_the_maximum() -> None:
    tries: list[float] = []

    def refuse(_imap: object) -> Box:
        tries.append(time.monotonic())
        raise TryLater("unreachable")

    idle.FIRST_BACKOFF, first = 0.05, idle.FIRST_BACKOFF
    try:
        w = idle.Watcher(ctx_with(refuse, idle_backoff_max=0.2), account(), lambda _i: None)
        w.start()
        wait_until(lambda: len(tries) >= 6, 10, "six tries")
        w.stop()
        w.join(5)
    finally:
        idle.FIRST_BACKOFF = first
    gaps = [b - a for a, b in zip(tries, tries[1:], strict=False)][:5]
    assert gaps[0] < gaps[2]  # it grew
    assert all(g < 0.2 + 0.3 for g in gaps)  # capped (uncapped, the fifth wait is 0.8 s)
    assert w.failures == len(tries)


def test_a_refused_login_ends_the_watcher_and_the_next_plan_starts_a_new_one() -> None:
    calls = threading.Semaphore(0)

    def refuse(_imap: object) -> Box:
        calls.release()
        raise AccountBroken("login refused")

    watchers = idle.Watchers(ctx_with(refuse), lambda _i: None)
    a = account(3)
    watchers.replan([a])
    first = watchers.by_mailbox[3]
    wait_until(lambda: not first.thread.is_alive(), 5, "the watcher ended")
    assert first.failures == 1 and watchers.running == 0
    watchers.replan([a])
    assert watchers.by_mailbox[3] is not first
    watchers.stop_all()
    assert watchers.by_mailbox == {}
