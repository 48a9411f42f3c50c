"""Rate limits with bounded tables, oldest entries dropped first, so no stream of new senders
can grow them without end.

* :class:`RefusalLimiter`: refusals to strangers, at most one per user per interval: a stranger
  (or a bot farm) cannot drive us into Telegram's flood limits.
* :class:`RequestLimiter`: requests to the public HTTP endpoints (the unsubscribe link), at
  most N per client address per window."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta


class RefusalLimiter:
    def __init__(self, interval: float = 60.0, max_users: int = 10_000) -> None:
        self.interval = timedelta(seconds=interval)
        self.max_users = max_users
        self._last: OrderedDict[int, datetime] = OrderedDict()

    def allow(self, user_id: int, now: datetime) -> bool:
        """True if ``user_id`` may be answered now (and records that they were)."""
        last = self._last.get(user_id)
        if last is not None and now - last < self.interval:
            return False
        self._last[user_id] = now
        self._last.move_to_end(user_id)
        while len(self._last) > self.max_users:
            self._last.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._last)


class RequestLimiter:
    """At most ``limit`` requests per client address in each ``window`` seconds (a fixed window
    that starts at the address's first request), remembering at most ``max_clients`` addresses:
    the least recently seen is forgotten first. ``clock`` is monotonic seconds (injected by
    tests). Not thread-safe: it is used from the event loop only."""

    def __init__(
        self,
        limit: int = 30,
        window: float = 60.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._clock = clock
        self._seen: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def allow(self, client: str) -> bool:
        """True if ``client`` may be served now (and counts this request)."""
        now = self._clock()
        start, count = self._seen.get(client, (now, 0))
        if now - start >= self.window:
            start, count = now, 0
        allowed = count < self.limit
        self._seen[client] = (start, count + 1 if allowed else count)
        self._seen.move_to_end(client)
        while len(self._seen) > self.max_clients:
            self._seen.popitem(last=False)
        return allowed

    def retry_after(self, client: str) -> int:
        """Whole seconds until ``client``'s window ends (for a 429's Retry-After)."""
        start, _ = self._seen.get(client, (self._clock(), 0))
        return max(1, int(self.window - (self._clock() - start) + 0.999))

    def __len__(self) -> int:
        return len(self._seen)
