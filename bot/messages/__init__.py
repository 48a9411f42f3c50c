"""Every word the operator reads about an engine event: a notification is a kind plus a payload
(``engine.notify``), and this package turns it into text and buttons. The engine writes no chat
text; the bot parses none.

Each area has its module with a ``RENDERERS`` table (kind -> function): ``inbox`` (replies,
bounces, opt-outs), ``sending``, ``system`` (alerts, summaries). :func:`render` picks one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from engine.notify import Notification


@dataclass(frozen=True)
class Rendered:
    """A notification in words. ``line`` is its one-line form for a grouped message;
    ``standalone`` ones (a reply) get a message of their own with ``buttons`` unless a burst
    forces them into a group."""

    text: str
    line: str
    buttons: InlineKeyboardMarkup | None = None
    standalone: bool = False


Renderer = Callable[[Notification], Rendered]


def _registry() -> dict[str, Renderer]:
    from bot.messages import inbox, sending, system

    table: dict[str, Renderer] = {}
    for module in (inbox, sending, system):
        for kind, fn in module.RENDERERS.items():
            if str(kind) in table:
                raise RuntimeError(f"two renderers for notification kind {kind}")
            table[str(kind)] = fn
    return table


_RENDERERS: dict[str, Renderer] | None = None


def render(n: Notification) -> Rendered:
    """The words for one notification. Rows written with engine text by an older release
    (``n.text`` set) are shown as they were stored."""
    global _RENDERERS
    if _RENDERERS is None:
        _RENDERERS = _registry()
    fn = _RENDERERS.get(n.kind)
    if fn is not None and not n.text:
        return fn(n)
    text = n.text or f"({n.kind})"
    return Rendered(text=text, line=text.split("\n", 1)[0])
