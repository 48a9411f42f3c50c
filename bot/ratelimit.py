"""Refusals to strangers, at most one per user per interval: a stranger (or a bot farm) cannot
drive us into Telegram's flood limits. A bounded table, oldest entries dropped first."""

from __future__ import annotations

from collections import OrderedDict
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
