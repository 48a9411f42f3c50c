"""Words for the inbox notifications (see bot/messages/__init__.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.messages import Renderer

RENDERERS: dict[str, Renderer] = {}
