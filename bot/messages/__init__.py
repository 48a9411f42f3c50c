"""Every word the operator reads about an engine event: a notification is a kind plus a payload
(``engine.notify``), and this package turns it into text and buttons. The engine writes no chat
text; the bot parses none.

Each area has its module with a ``RENDERERS`` table (kind -> function): ``inbox`` (replies,
bounces, opt-outs), ``sending``, ``system`` (alerts, summaries), ``unsubscribe`` (the one-click
link). :func:`render` picks one.
``holds`` words why no email goes right now (a ``Hold``, shown in /status); it is no
notification, so it has no ``RENDERERS`` table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from engine.notify import Notification
from engine.states import NoticeKind


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
    from bot.messages import inbox, sending, system, unsubscribe

    table: dict[str, Renderer] = {}
    for module in (inbox, sending, system, unsubscribe):
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
    return _stored(n)


def _stored(n: Notification) -> Rendered:
    """A row with the text an older release wrote: shown as stored, with today's buttons."""
    from bot.messages.buttons import apply_anyway_button, reply_buttons

    text = n.text or f"({n.kind})"
    if n.kind == NoticeKind.REPLY:
        lead_id = n.payload.get("lead_id")
        buttons = reply_buttons(int(lead_id)) if lead_id is not None else None
        return Rendered(text, text.split("\n\n")[0], buttons, standalone=True)
    if n.kind == NoticeKind.UNVERIFIED:
        return Rendered(text, text.split("\n", 1)[0], apply_anyway_button(n.id), standalone=True)
    return Rendered(text=text, line=text.split("\n", 1)[0])
