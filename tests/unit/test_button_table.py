"""Every inline button the bot makes has an action in bot.handlers.buttons.ACTIONS, and the
table holds no action that no button can reach."""

from __future__ import annotations

import re
from pathlib import Path

from bot.handlers.buttons import ACTIONS

BOT = Path(__file__).resolve().parents[2] / "bot"


def prefixes_the_bot_makes() -> set[str]:
    found: set[str] = set()
    for path in BOT.rglob("*.py"):
        found |= set(re.findall(r'callback_data=f"([a-z]+):', path.read_text(encoding="utf-8")))
    return found


def test_it_finds_the_buttons_in_the_source() -> None:
    assert {"stop", "dom", "apply", "resend", "supp"} <= prefixes_the_bot_makes()


def test_every_button_the_bot_makes_has_an_action() -> None:
    missing = prefixes_the_bot_makes() - set(ACTIONS)
    assert not missing, f"buttons without an action in ACTIONS: {sorted(missing)}"


def test_every_action_has_a_button() -> None:
    unreachable = set(ACTIONS) - prefixes_the_bot_makes()
    assert not unreachable, f"actions no button carries: {sorted(unreachable)}"
