"""Names as people write them: trimmed of quotes, re-cased when typed all lower or all upper
case, and full names split into first and last name.

* :func:`natural_case` - ``bob`` -> ``Bob``, ``MÜLLER`` -> ``Müller``, ``VAN DER BERG`` ->
  ``van der Berg``, ``o'neil`` -> ``O'Neil``, ``MCDONALD`` -> ``McDonald``, ``jean-luc`` ->
  ``Jean-Luc``. A name in mixed case is the way its owner writes it and is kept.
* :func:`split_name` - ``Ada Lovelace`` -> (Ada, Lovelace); ``Lovelace, Ada`` -> (Ada,
  Lovelace); Russian ФИО ``Иванов Иван Петрович`` -> (Иван, Иванов); CJK names written with a
  space are family name first (``山田 太郎`` -> (太郎, 山田)); without a space a Chinese or Korean
  name of 2-4 characters is split after its first character (the family name: 王伟 -> (伟, 王),
  김민준 -> (민준, 김)), which is right for nearly all of them; a Japanese name (kana in it, or
  a Japanese header such as 氏名) is kept whole as the first name, since Japanese family names
  are one to three characters long and cannot be told apart without a dictionary.

Only linear-time regular expressions here (see ``tests/unit/test_regex_linear.py``).
"""

from __future__ import annotations

import re

__all__ = ["QUOTES", "natural_case", "split_name", "trim_name"]

#: Quotes trimmed from around a name cell (straight, curly, guillemets, CJK corner brackets).
QUOTES = "\"'`“”„‘’‚«»「」『』"

#: Lowercase particles of family names, kept lowercase when a name is re-cased (unless the
#: name is that one word).
_PARTICLES = frozenset(
    {
        "van", "von", "der", "den", "de", "del", "della", "degli", "dei", "di", "da", "das",
        "dos", "do", "du", "la", "le", "les", "lo", "ter", "ten", "te", "y", "e", "zu", "zur",
        "af", "av", "bin", "binti", "ibn",
    }
)  # fmt: skip

#: Words split at spaces, hyphens and apostrophes (the separators kept).
_NAME_PUNCT = frozenset(" -‐'’.,")
_PIECES = re.compile(r"([\s\-‐'’.]+)")

#: A name with one of these letters is Turkish (or Azerbaijani): its I lowers to ı.
_TURKISH = re.compile(r"[ĞŞİğşı]")

_APOSTROPHE_PREFIXES = frozenset({"o", "d", "l"})


def trim_name(raw: str) -> str:
    """Surrounding whitespace and quotes removed (``' "Bob" '`` -> ``Bob``)."""
    return raw.strip().strip(QUOTES).strip()


def natural_case(name: str) -> str:
    """``name`` in its natural case if it is all lower or all upper case, else unchanged. Only
    what looks like a name is touched: letters, spaces and the punctuation of names (a cell
    such as ``=HYPERLINK(1)`` or ``ACME-2000`` is not a person's name and is kept as written)."""
    if not (name.islower() or name.isupper()):
        return name  # mixed case (or no cased letters at all: CJK, digits)
    if not all(ch.isalpha() or ch in _NAME_PUNCT for ch in name):
        return name
    if _TURKISH.search(name):  # Turkish: I/ı and İ/i are two different letters
        name = name.replace("I", "ı").replace("İ", "i")
    pieces = _PIECES.split(name.lower())
    words = [p for i, p in enumerate(pieces) if i % 2 == 0 and p]
    single = len(words) <= 1
    out: list[str] = []
    for i, piece in enumerate(pieces):
        if i % 2 == 1 or not piece:
            out.append(piece)
            continue
        separator_after = pieces[i + 1] if i + 1 < len(pieces) else ""
        if not single and piece in _PARTICLES and not _is_apostrophe(separator_after):
            out.append(piece)
        elif _is_apostrophe(separator_after) and piece in _APOSTROPHE_PREFIXES:
            out.append(piece.upper())  # O'Neil, D'Angelo
        else:
            out.append(_capital(piece))
    return "".join(out)


def _is_apostrophe(separator: str) -> bool:
    return separator in ("'", "’")


def _capital(word: str) -> str:
    """``müller`` -> ``Müller``, ``mcdonald`` -> ``McDonald``; a Turkish dotted İ lowered by
    Python to ``i`` + combining dot keeps just the ``i``."""
    word = word.replace("i\u0307", "i")
    if len(word) > 2 and word.startswith("mc"):
        return "Mc" + word[2].upper() + word[3:]
    return word[:1].upper() + word[1:]


def _script_of(text: str) -> str:
    """ "kana", "han", "hangul" or "" for a name without CJK characters."""
    found = ""
    for ch in text:
        code = ord(ch)
        if 0x3040 <= code < 0x3100 or 0x31F0 <= code < 0x3200:
            return "kana"
        if 0xAC00 <= code < 0xD7B0:
            found = "hangul"
        elif (0x4E00 <= code < 0xA000 or 0x3400 <= code < 0x4DC0) and not found:
            found = "han"
    return found


def split_name(full: str, order: str = "") -> tuple[str, str]:
    """``(first, last)`` of a full-name cell; ``order`` is the layout's full-name order ("",
    "fio" or "ja"), see the module docstring."""
    full = trim_name(full)
    if "," in full:
        last, _, first = full.partition(",")
        return trim_name(first), trim_name(last)
    parts = full.split()
    if not parts:
        return "", ""
    script = _script_of(full)
    if order == "fio" and not script:
        if len(parts) == 1:
            return parts[0], ""
        return parts[1], parts[0]
    if script:
        if len(parts) > 1:  # family name first
            return " ".join(parts[1:]), parts[0]
        if script == "kana" or order == "ja" or not 2 <= len(full) <= 4:
            return full, ""
        return full[1:], full[0]
    return parts[0], " ".join(parts[1:])
