"""How often the engine's jobs run and how long its leases and claims last.

Every value defaults to the production timing. Code takes an ``Intervals`` instead of a constant
(``EngineContext.intervals``), so tests pass small values and wait on conditions instead of
sleeping. ``python -m bot`` reads them from ``OUTREACH_TEST_INTERVALS`` (for tests only, see
:func:`parse`); operators never set it, and it is not a setting of ``engine/config.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

TEST_ENV = "OUTREACH_TEST_INTERVALS"


@dataclass(frozen=True)
class Intervals:
    """Seconds. ``send``/``reply_check`` of None follow SEND_INTERVAL_SECONDS and
    REPLY_CHECK_INTERVAL_SECONDS (the settings); a number overrides them."""

    send: float | None = None
    reply_check: float | None = None
    notifications: float = 2.0  # delivering pending notifications to the chat
    maintenance: float = 15.0  # heartbeat, expired send leases, recovery, missed midnight
    # Delay of each job's first run after the start.
    send_start: float = 2.0
    reply_check_start: float = 1.0
    maintenance_start: float = 0.0
    # Lease TTLs (engine/storage/leases.py): singleton work, one replica at a time.
    notification_lease: float = 60.0
    reply_check_lease: float = 60.0  # at least this, else twice the reply-check interval
    recovery_lease: float = 120.0
    poller_lease: float = 30.0  # Telegram polling; renewed every third of it
    webhook_lease: float = 300.0
    # A delivery's claim on its notification rows; longer than any delivery (rate limits too).
    notification_claim: float = 300.0
    # A follow-up waits for a reply check when the inbox was last read longer ago than this.
    fresh_inbox: float = 60.0
    # A replica whose heartbeat is older than this is taken for gone (interrupted imports).
    replica_gone: float = 120.0
    # /status lists replicas whose heartbeat is younger than this.
    replica_live: float = 90.0
    # IMAP IDLE (engine/inbox/idle.py): re-issued this often (servers drop it after ~29 min),
    # and a dropped connection is retried after 1 s, 2 s, 4 s... at most this.
    idle_renew: float = 25 * 60.0
    idle_backoff_max: float = 60.0
    # List verification (engine/leads/verification.py): every DNS lookup of one upload (or of
    # one /verify) ends within verify_budget of its start, and one domain's within verify_lookup;
    # a domain not answered by then is "unverified" and the import goes on.
    verify_budget: float = 60.0
    verify_lookup: float = 5.0


def parse(text: str) -> Intervals:
    """``"notifications=0.2,maintenance=0.5"`` -> Intervals with those fields changed.

    The format of ``OUTREACH_TEST_INTERVALS``: comma-separated ``field=seconds`` pairs with the
    field names of :class:`Intervals`. Raises ValueError naming what was wrong."""
    known = {f.name for f in fields(Intervals)}
    changes: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = (s.strip() for s in part.partition("="))
        if not sep or name not in known:
            raise ValueError(
                f"{TEST_ENV}: {part!r} is not NAME=SECONDS with NAME one of {sorted(known)}"
            )
        try:
            seconds = float(value)
        except ValueError:
            raise ValueError(f"{TEST_ENV}: {name}={value!r} is not a number of seconds") from None
        least_ok = seconds >= 0 if name.endswith("_start") else seconds > 0
        if not math.isfinite(seconds) or not least_ok:
            raise ValueError(f"{TEST_ENV}: {name}={value!r} is not a positive number of seconds")
        changes[name] = seconds
    return replace(Intervals(), **changes)
