"""Bytes to text: which files are not text at all, and which encoding a text file is in.

Known binary formats (Excel workbooks, PDFs, images, archives) are refused with a message that
says how to save the list as CSV. Text is decoded by its BOM (UTF-8, UTF-16), UTF-16 without a
BOM, then strict UTF-8: these fast paths cover almost every upload and never load a detector.

Anything else is a legacy code page. ``charset-normalizer`` (imported only then: it costs about
5 MB of memory once loaded) proposes candidates; they are joined by the code pages a
spreadsheet of the header's language is usually saved in, and by the Cyrillic trio cp1251 /
KOI8-R / mac-cyrillic, which detectors notoriously confuse on short files. Each candidate that
decodes a sample strictly is then judged by :func:`_plausibility`: how many header cells it
turns into known column names, and how odd the words look (symbols inside words, a lowercase
letter followed by a capital, scripts mixed in one word, Cyrillic words without vowels).

The result is *unsure* when a runner-up decodes the sample to different text and nothing
clearly tells the two apart; the import report then shows the first names as read and asks for
a UTF-8 export. An import may be wrong only when it says it is unsure.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from engine.errors import UserInputError

__all__ = ["Decoded", "decode", "decode_text", "display_encoding", "reject_known_binary"]

_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)

#: Bytes of a legacy file judged: enough for the header and a few hundred rows.
_SAMPLE_BYTES = 32_768

#: Code pages tried besides the detector's proposals, in order of preference on a tie. Every
#: single-byte code page of a supported language is here: a header in Greek (or Turkish, or
#: Polish) only reads as such in its own code page, so its language cannot be recognised from
#: a reading in another one (the detector alone once took ISO-8859-7 Greek for cp1250).
_FALLBACKS = (
    "cp1252",
    "cp1250",
    "cp1251",
    "koi8_r",
    "iso8859_2",
    "iso8859_7",
    "cp1253",
    "cp1254",
    "iso8859_9",
)

#: Oddness per non-ASCII word above which a reading is itself suspicious.
_ODD = 0.15

_CYRILLIC_SINGLE_BYTE = ("cp1251", "koi8_r", "koi8_u", "mac_cyrillic")

#: Legacy code pages a spreadsheet in the header's language is usually saved in; they decide a
#: tie between candidates that look equally plausible (ñ in cp1252 is ń in cp1250).
LANGUAGE_ENCODINGS: dict[str, tuple[str, ...]] = {
    "en": ("cp1252",),
    "de": ("cp1252",),
    "fr": ("cp1252",),
    "es": ("cp1252",),
    "pt": ("cp1252",),
    "it": ("cp1252",),
    "nl": ("cp1252",),
    "pl": ("cp1250", "iso8859_2"),
    "tr": ("cp1254", "iso8859_9"),
    "ru": ("cp1251", "koi8_r"),
    "uk": ("cp1251", "koi8_u"),
    "el": ("iso8859_7", "cp1253"),
    "ja": ("cp932", "shift_jis", "euc_jp"),
    "zh": ("gb18030", "big5"),
    "ko": ("euc_kr", "cp949"),
}

_DISPLAY = {
    "utf_8": "UTF-8",
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (with BOM)",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "cp1250": "Windows-1250",
    "cp1251": "Windows-1251",
    "cp1252": "Windows-1252",
    "cp1253": "Windows-1253",
    "cp1254": "Windows-1254",
    "latin-1": "Latin-1",
    "latin_1": "Latin-1",
    "koi8_r": "KOI8-R",
    "koi8_u": "KOI8-U",
    "mac_cyrillic": "Mac Cyrillic",
    "iso8859_2": "ISO-8859-2",
    "iso8859_5": "ISO-8859-5",
    "iso8859_7": "ISO-8859-7",
    "iso8859_9": "ISO-8859-9",
    "cp932": "Shift-JIS (Windows)",
    "shift_jis": "Shift-JIS",
    "euc_jp": "EUC-JP",
    "gb18030": "GB18030",
    "gbk": "GBK",
    "gb2312": "GB2312",
    "big5": "Big5",
    "big5hkscs": "Big5-HKSCS",
    "euc_kr": "EUC-KR",
    "cp949": "EUC-KR (Windows)",
}


def display_encoding(encoding: str) -> str:
    """The name an operator knows an encoding by (``cp1251`` -> ``Windows-1251``)."""
    return _DISPLAY.get(encoding.lower(), encoding)


@dataclass(frozen=True)
class Decoded:
    """A file's text, the codec that read it, and whether another codec was as plausible."""

    text: str
    encoding: str
    unsure: bool = False


def reject_known_binary(data: bytes) -> None:
    """Refuse a workbook, document, image or archive by its first bytes, saying what it is."""
    if data.startswith(b"PK\x03\x04"):
        raise UserInputError(
            "That looks like an Excel file (.xlsx) or another zip archive; save it as CSV. "
            "In Excel or Google Sheets use File > Save as / Download > CSV, and send that file."
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UserInputError(
            "That looks like an old Excel file (.xls); save it as CSV. "
            "In Excel use File > Save as > CSV (UTF-8), and send that file."
        )
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise UserInputError(
                f"That looks like {what}, not a CSV file. "
                "Export your lead list from your spreadsheet app as CSV and send that file."
            )


def _binary_error() -> UserInputError:
    return UserInputError(
        "That doesn't look like a text/CSV file (it contains binary data). "
        "If it is a spreadsheet, save it as CSV (UTF-8) and send that file instead."
    )


def decode(data: bytes) -> tuple[str, str]:
    """``(text, codec)``; see :func:`decode_text`."""
    decoded = decode_text(data)
    return decoded.text, decoded.encoding


def decode_text(data: bytes) -> Decoded:
    """Decode by BOM, UTF-16 without BOM, strict UTF-8, else the most plausible code page."""
    unsure = False
    if data.startswith(b"\xef\xbb\xbf"):
        decoded = _strict(data, "utf-8-sig")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        decoded = _strict(data, "utf-16")
    elif b"\x00" in data:
        guess = _utf16_without_bom(data)
        if guess is None:
            raise _binary_error()
        decoded = _strict(data, guess)
    else:
        decoded = _strict(data, "utf-8")
        if decoded is None:
            decoded, unsure = _legacy(data)
    if decoded is None:
        raise _binary_error()
    text, encoding = decoded
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise _binary_error()
    sample = text[:65_536]
    if sample and len(_BINARY_CHARS.findall(sample)) > max(2, len(sample) // 50):
        raise _binary_error()
    return Decoded(text, encoding, unsure)


def _strict(data: bytes, encoding: str) -> tuple[str, str] | None:
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError):
        return None


def _utf16_without_bom(data: bytes) -> str | None:
    """Excel/Windows sometimes write UTF-16 without a BOM: ASCII text with NULs interleaved."""
    if len(data) % 2:
        return None
    sample = data[:4096]
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls >= 0.9 * half and even_nuls < 0.1 * half:
        return "utf-16-le"
    if even_nuls >= 0.9 * half and odd_nuls < 0.1 * half:
        return "utf-16-be"
    return None


# --------------------------------------------------------------------------- legacy code pages


@dataclass
class _Candidate:
    encoding: str
    sample: str
    header_hits: int
    language_match: bool
    oddness: float
    order: int

    def key(self) -> tuple[int, float, int, int]:
        # More known header cells first, then the less odd text, then the header's usual code
        # page, then the detector's own order.
        return (
            -self.header_hits,
            round(self.oddness, 3),
            0 if self.language_match else 1,
            self.order,
        )


def _sample_of(data: bytes) -> bytes:
    """The first ~32 KB cut at a line end, so a multi-byte character is never split."""
    if len(data) <= _SAMPLE_BYTES:
        return data
    cut = data.rfind(b"\n", 0, _SAMPLE_BYTES)
    return data[: cut + 1] if cut > 0 else data[:_SAMPLE_BYTES]


def _detector_proposals(sample: bytes) -> list[str]:
    """The codecs charset-normalizer finds plausible, best first (imported here, lazily: most
    uploads are UTF-8 and never pay for it)."""
    from charset_normalizer import from_bytes  # noqa: PLC0415 - lazy on purpose

    try:
        matches = from_bytes(sample, threshold=0.5)
    except Exception:  # a detector failure must not fail the import: the fallbacks remain
        return []
    return [m.encoding for m in matches]


def _legacy(data: bytes) -> tuple[tuple[str, str] | None, bool]:
    """The most plausible legacy code page for ``data`` and whether the choice is unsure."""
    from engine.leads.lead_file.aliases import header_languages  # noqa: PLC0415 - no cycle

    sample = _sample_of(data)
    proposals = _detector_proposals(sample)
    pool = list(dict.fromkeys([*proposals, *_FALLBACKS]))
    if any(enc in _CYRILLIC_SINGLE_BYTE for enc in pool):
        pool = list(dict.fromkeys([*pool, *_CYRILLIC_SINGLE_BYTE]))
    # The header's language may name code pages the detector did not think of.
    first_pass: list[tuple[str, str]] = []
    for enc in pool:
        text = _try(sample, enc)
        if text is not None:
            first_pass.append((enc, text))
    languages: set[str] = set()
    for _, text in first_pass:
        languages |= header_languages(_first_line(text))[1]
    for lang in sorted(languages):
        for enc in LANGUAGE_ENCODINGS.get(lang, ()):
            if enc not in pool:
                pool.append(enc)
                text = _try(sample, enc)
                if text is not None:
                    first_pass.append((enc, text))

    candidates: list[_Candidate] = []
    for order, (enc, text) in enumerate(first_pass):
        hits, langs = header_languages(_first_line(text))
        preferred = {e for lang in langs for e in LANGUAGE_ENCODINGS.get(lang, ())}
        candidates.append(_Candidate(enc, text, hits, enc in preferred, _oddness(text), order))
    candidates.sort(key=_Candidate.key)
    if candidates and candidates[0].oddness > _ODD:
        # Every reading looks broken: Latin-1 at least keeps each byte one character and never
        # swallows a delimiter into a multi-byte sequence.
        latin = sample.decode("latin-1")
        if _oddness(latin) <= candidates[0].oddness:
            return (data.decode("latin-1"), "latin-1"), True
    for i, best in enumerate(candidates):
        full = _strict(data, best.encoding)
        if full is None:
            continue  # the sample decoded, the rest of the file does not
        rivals = [c for c in candidates[i + 1 :] if c.sample != best.sample]
        return full, _unsure(best, rivals[0] if rivals else None)
    return _strict(data, "latin-1"), True


def _try(sample: bytes, encoding: str) -> str | None:
    try:
        return sample.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _first_line(text: str) -> str:
    return text[:4096].split("\n", 1)[0]


def _unsure(best: _Candidate, rival: _Candidate | None) -> bool:
    """Unsure: the text itself looks odd, or a rival reading differs and nothing separates it
    from the best one (as many known headers, about as odd, neither the header's usual code
    page while the other is not)."""
    if best.oddness > _ODD:
        return True
    if rival is None:
        return False
    if rival.header_hits < best.header_hits:
        return False
    if rival.oddness - best.oddness >= 0.02:
        return False
    return not (best.language_match and not rival.language_match)


# --------------------------------------------------------------------------- plausibility

_CYRILLIC_VOWELS = frozenset("аеёиоуыэюяіїєАЕЁИОУЫЭЮЯІЇЄ")

#: Punctuation that belongs inside names, addresses and company names.
_WORD_PUNCT = frozenset(".-'’@_+&/,()!#%:\"")


def _script(ch: str) -> str:
    """A coarse script of a letter: enough to see two scripts mixed in one word."""
    code = ord(ch)
    if code < 0x250 or 0x1E00 <= code < 0x1F00:
        return "latin"
    if 0x370 <= code < 0x400 or 0x1F00 <= code < 0x2000:
        return "greek"
    if 0x400 <= code < 0x530:
        return "cyrillic"
    if 0xFF61 <= code < 0xFFA0:
        return "halfwidth kana"  # old Japanese systems; never mixed with kanji in one word
    if 0x3040 <= code < 0x3100 or 0x31F0 <= code < 0x3200:
        return "kana"
    if 0x1100 <= code < 0x1200 or 0xAC00 <= code < 0xD7B0 or 0x3130 <= code < 0x3190:
        return "hangul"
    if 0x4E00 <= code < 0xA000 or 0x3400 <= code < 0x4DC0:
        return "han"
    return "other"


_COMPATIBLE = {frozenset({"han", "kana"})}


def _oddness(text: str) -> float:
    """How odd the non-ASCII words of ``text`` look, per such word (0 = all plausible).

    A word is odd for a symbol or control character among its letters, for a lowercase letter
    followed by a capital (``иБЮМ``: cp1251 read as KOI8-R), for letters of two scripts, for
    Cyrillic without a vowel; an all-lowercase word counts a little (names are capitalised).
    Plain ASCII words say nothing about the code page and are skipped."""
    words = 0
    odd = 0.0
    for word in text.split():
        if word.isascii():
            continue
        for part in _split_cells(word):
            if part.isascii() or not part:
                continue
            words += 1
            odd += _word_oddness(part)
        if words >= 2_000:
            break
    return odd / words if words else 0.0


_CELL_SEPARATORS = re.compile(r"[;,\t|\"]+")


def _split_cells(word: str) -> list[str]:
    return _CELL_SEPARATORS.split(word)


def _word_oddness(word: str) -> float:
    odd = 0.0
    scripts: set[str] = set()
    previous_lower = False
    cased = False
    has_upper = False
    letters = 0
    cyrillic_vowel = False
    for ch in word:
        if ch.isalpha():
            cat = unicodedata.category(ch)
            if cat in ("Lm",):
                odd += 0.5
            letters += 1
            script = _script(ch)
            scripts.add(script)
            if script == "other":
                odd += 0.5
            if script == "cyrillic" and ch in _CYRILLIC_VOWELS:
                cyrillic_vowel = True
            is_upper = ch.isupper()
            if is_upper and previous_lower:
                odd += 1.0
            previous_lower = ch.islower()
            cased = cased or is_upper or previous_lower
            has_upper = has_upper or is_upper
        elif ch.isdigit() or ch in _WORD_PUNCT:
            previous_lower = False
        else:
            odd += 1.0  # a symbol, a control character, a stray mark
            previous_lower = False
    if len(scripts) > 1 and frozenset(scripts) not in _COMPATIBLE:
        odd += 1.0
    if "cyrillic" in scripts and letters >= 3 and not cyrillic_vowel:
        odd += 0.5
    if cased and not has_upper and letters >= 2:
        odd += 0.1
    return min(odd, 3.0)
