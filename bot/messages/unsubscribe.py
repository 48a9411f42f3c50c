"""Words for the one-click unsubscribe notice (see bot/messages/__init__.py): a lead followed the
link in a campaign email (``engine.unsubscribe.service``). One line, grouped with the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.messages import Rendered
from engine.states import NoticeKind

if TYPE_CHECKING:
    from bot.messages import Renderer
    from engine.notify import Notification


def unsubscribed(n: Notification) -> Rendered:
    """ "🔕 Ana Diaz <ana@acme.io> unsubscribed with the link in the email." """
    p = n.payload
    email, name = str(p.get("email") or ""), str(p.get("name") or "")
    who = f"{name} <{email}>" if name else email
    line = f"🔕 {who} unsubscribed with the link in the email; no more emails go to this address."
    return Rendered(line, line)


RENDERERS: dict[str, Renderer] = {
    NoticeKind.UNSUBSCRIBE_LINK: unsubscribed,
}
