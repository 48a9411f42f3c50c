"""Upgrading template text saved before spintax, so that it renders exactly as it did. Pure.

Before spintax, ``{{`` and ``}}`` were always literal braces and ``|`` was always text: the
template ``{{a|b}}`` rendered the text ``{a|b}``. Now it is spintax (``engine.template_syntax``).
And ``{|}``, then an invalid placeholder shown as is, is now a literal ``|``. So
:func:`escape_legacy` rewrites exactly these, and leaves every other character alone:

- a ``|`` that now stands inside a ``{{`` on its line, at its level (closed by ``}}`` or not),
  becomes ``{|}``, a literal ``|``: ``{{a|b}}`` → ``{{a{|}b}}``, ``{{a|b`` → ``{{a{|}b``;
  right after a ``{`` that opened nothing, that ``{`` and the ``|`` become ``{{{|}``;
- ``{|}`` becomes ``{{{|}}}``: ``{``, ``|``, ``}``, the text it showed before.

Then the text has no spintax, and for any lead it renders what the previous release rendered
(tests/unit/test_template_upgrade.py checks it against a frozen copy of that syntax); it has
no new syntax problem either. Apply it once, to text saved by the previous release (the
migration that introduces spintax): it reads its input as the old syntax, so applied to its own
output it would escape again the ``{|}`` it wrote. Never apply it to a template typed now, which
means what the new syntax says.
"""

from __future__ import annotations

from engine.template_tokens import BAR_ESCAPE, Kind, Where, read_tokens

__all__ = ["escape_legacy", "legacy_changes"]

_BAR_WRITTEN = "| between {{ and }} would now separate spintax options: written {|}, a literal |"
_ESCAPE_WRITTEN = "{|} would now be a literal |: written {{{|}}}, which shows {|} as it did before"


def _upgrade(text: str) -> tuple[str, list[tuple[int, str]]]:
    """The upgraded text, and where (offsets in ``text``) and why it changed.

    Follows the ``{{`` still open on the current line of the *output*, paired the way
    ``engine.template_syntax`` pairs them, so every ``|`` that would be inside one is escaped;
    the ``{{`` and ``}}`` it writes itself are counted too.
    """
    out: list[str] = []
    changes: list[tuple[int, str]] = []
    open_here = 0  # the output's {{ still open on this line
    pos = 0
    lone_brace_end = -1  # where the last "{" that opened nothing ended
    for token in read_tokens(text):
        out.append(text[pos : token.start])
        pos = token.end
        written = text[token.start : token.end]
        if token.kind is Kind.OPEN:
            open_here += 1
        elif token.kind is Kind.CLOSE:
            open_here = max(0, open_here - 1)
        elif token.kind is Kind.BREAK:
            open_here = 0
        elif token.kind is Kind.BAR and open_here:
            if lone_brace_end == token.start:
                # "{" + "{|}" would read "{{" then "|": make the "{" a {{ (still a literal {).
                written = "{" + BAR_ESCAPE
                open_here += 1
            else:
                written = BAR_ESCAPE
            changes.append((token.start, _BAR_WRITTEN))
        elif token.kind is Kind.ITEM and written == BAR_ESCAPE:
            written = "{{" + BAR_ESCAPE + "}}"
            changes.append((token.start, _ESCAPE_WRITTEN))
        elif token.kind is Kind.ITEM and written == "{":
            lone_brace_end = token.end
        out.append(written)
    out.append(text[pos:])
    return "".join(out), changes


def escape_legacy(text: str) -> str:
    """``text``, saved before spintax, rewritten to render exactly as it did then (see the
    module docstring); unchanged when nothing in it changed meaning. Apply once."""
    return _upgrade(text)[0]


def legacy_changes(text: str) -> list[str]:
    """What :func:`escape_legacy` changes in ``text``, each with its position in ``text``
    ("line L, column C: ..."); empty when the text keeps its meaning as it is."""
    where = Where(text)
    return [f"{where(offset)}: {why}" for offset, why in _upgrade(text)[1]]
