"""Words for the system notifications (see bot/messages/__init__.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.messages import Rendered
from engine.states import NoticeKind

if TYPE_CHECKING:
    from bot.messages import Renderer
    from engine.notify import Notification


def _words(table: str, n: Notification) -> str:
    """An alert's (or its clearing's) words, from the area module that owns the condition."""
    from bot.messages import inbox, sending

    condition = str(n.payload.get("condition", ""))
    for module in (inbox, sending):
        fn: Any = getattr(module, table, {}).get(condition)
        if fn is not None:
            return str(fn(n.payload))
    return f"({n.kind}: {condition})"


def _alert(n: Notification) -> Rendered:
    text = _words("ALERTS", n)
    return Rendered(text=text, line=text)


def _cleared(n: Notification) -> Rendered:
    text = _words("CLEARS", n)
    return Rendered(text=text, line=text)


RENDERERS: dict[str, Renderer] = {NoticeKind.ALERT: _alert, NoticeKind.CLEARED: _cleared}
