"""``python -m bot``: one process holding the Telegram bot, the engine's scheduler and /health."""

from __future__ import annotations

import sys

from bot.app import main

if __name__ == "__main__":
    sys.exit(main())
