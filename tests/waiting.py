"""Waiting in tests: on a condition, with a deadline, never for a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
POLL = 0.05


def wait_until(
    pred: Callable[[], T], timeout: float, what: str, *, required: bool = True, poll: float = POLL
) -> T:
    """Poll ``pred`` until it returns something truthy and return that. At the deadline: raise
    AssertionError naming ``what`` or, with ``required=False``, return the last (falsy) value
    so the caller's own assertion explains what is missing."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            break
        time.sleep(poll)
    if not value and required:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")
    return value


async def wait_until_async(
    pred: Callable[[], Any], timeout: float, what: str, *, poll: float = 0.02
) -> Any:
    """``wait_until`` for a test running in the event loop: the loop keeps running meanwhile."""
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(poll)
    return value


def handlers_idle(application: Any) -> bool:
    """A PTB Application has no update waiting and no handler running."""
    queue_empty = application.update_queue.empty()
    return bool(queue_empty and application.update_processor.current_concurrent_updates == 0)
