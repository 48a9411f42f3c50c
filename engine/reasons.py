"""Why the campaign or a mailbox was paused or stopped, stored as data (JSON in the row's text
column) and worded by the bot (``bot/messages/holds.py``). A row written by an older release
holds a sentence instead; it decodes to a reason without ``why`` and is shown as stored."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.states import StateReason


@dataclass(frozen=True)
class Reason:
    why: StateReason | None
    detail: dict[str, Any] = field(default_factory=dict)
    stored: str = ""  # the column as read (an older release's sentence when ``why`` is None)

    @classmethod
    def of(cls, why: StateReason, **detail: Any) -> Reason:
        return cls(why, detail)

    def encode(self) -> str:
        if self.why is None:
            return self.stored
        return json.dumps({"why": str(self.why), **self.detail}, sort_keys=True)

    @classmethod
    def decode(cls, text: str | None) -> Reason:
        raw = text or ""
        try:
            value = json.loads(raw) if raw.startswith("{") else None
            why = StateReason(value.pop("why")) if isinstance(value, dict) else None
        except (ValueError, KeyError, TypeError):
            why = None
        if why is None:
            return cls(None, {}, raw)
        assert isinstance(value, dict)
        return cls(why, value, raw)
