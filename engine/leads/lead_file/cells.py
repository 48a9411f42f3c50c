"""What a cell's text becomes: one line, no control characters, capped.

Every value that leaves an uploaded file (names, custom fields, an invalid address shown back
to the operator) goes through :func:`clean_value`; every piece of it quoted in a message
through :func:`one_line`.
"""

from __future__ import annotations

import re

__all__ = ["MAX_VALUE_CHARS", "clean_value", "one_line"]

MAX_VALUE_CHARS = 1_000

# C0 controls except tab, DEL, C1 controls, and the Unicode line/paragraph separators:
# everything str.splitlines() or a mail header parser could treat as a line break.
_CONTROL_RUN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]+")

_WHITESPACE_RUN = re.compile(r"\s+")


def clean_value(raw: str) -> str:
    """Strip, turn any run of line breaks/control characters into one space, cap the length."""
    value = raw.strip()
    if not value.isprintable():
        value = _CONTROL_RUN.sub(" ", value).strip()
    if len(value) > MAX_VALUE_CHARS:
        value = value[:MAX_VALUE_CHARS].rstrip()
    return value


def one_line(text: str, limit: int) -> str:
    """``text`` on one line with single spaces, cut to ``limit`` characters with an ellipsis."""
    text = _WHITESPACE_RUN.sub(" ", _CONTROL_RUN.sub(" ", text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
