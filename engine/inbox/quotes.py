"""The new part of a reply: :func:`strip_quoted` removes quoted lines, attributions ("On ...
wrote:" in seven languages), Outlook-style quoted header blocks and the signature."""

from __future__ import annotations

import re

_ATTRIBUTION = [
    re.compile(r"^\s*On\b.{0,300}\bwrote\s*:\s*$", re.I | re.S),
    re.compile(r"^\s*Le\b.{0,300}\ba\s+écrit\s*:\s*$", re.I | re.S),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,200}:\s*$", re.I | re.S),
    re.compile(r"^\s*El\b.{0,300}\bescribió\s*:\s*$", re.I | re.S),
    re.compile(r"^\s*Il\b.{0,300}\bha\s+scritto\s*:\s*$", re.I | re.S),
    re.compile(r"^\s*Op\b.{0,300}\bschreef\b.{0,200}:\s*$", re.I | re.S),
    re.compile(r"^\s*Em\b.{0,300}\bescreveu\s*:\s*$", re.I | re.S),
]
_ATTRIBUTION_START = re.compile(r"^\s*(On|Le|Am|El|Il|Op|Em)\b", re.I)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|"
    r"Mensaje original|Messaggio originale|Oorspronkelijk bericht|Mensagem original)\s*-{2,}\s*$",
    re.I,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_HDR_FROM = re.compile(r"^\s*(?:\*\s*)?(From|Von|De|Da|Van|Från|Fra|Od)\s*:", re.I)
_HDR_NEXT = re.compile(
    r"^\s*(?:\*\s*)?(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Enviada|Fecha|Inviato|Data|"
    r"Verzonden|Skickat|Sendt|Wysłano|Wysłane|To|An|À|Para|A|Aan|Subject|Betreff|Objet|Asunto)"
    r"\s*:",
    re.I,
)
_HDR_SENT = re.compile(
    r"^\s*(?:\*\s*)?(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Enviada|Fecha|Inviato|Data|"
    r"Verzonden|Skickat|Sendt|Wysłano|Wysłane)\s*:",
    re.I,
)


def _next_nonblank(lines: list[str], start: int, limit: int = 3) -> int | None:
    seen = 0
    for j in range(start, len(lines)):
        if lines[j].strip():
            return j
        seen += 1
        if seen > limit:
            return None
    return None


def _attribution_span(lines: list[str], i: int) -> int:
    """Number of lines (1..3) forming an attribution starting at ``i``, or 0."""
    if not _ATTRIBUTION_START.match(lines[i]):
        return 0
    joined = lines[i].strip()
    for k in range(3):
        if k:
            if i + k >= len(lines) or not lines[i + k].strip():
                return 0
            joined = f"{joined} {lines[i + k].strip()}"
        if len(joined) > 400:
            return 0
        if any(p.match(joined) for p in _ATTRIBUTION):
            return k + 1
    return 0


def _is_header_block(lines: list[str], i: int) -> bool:
    if not _HDR_FROM.match(lines[i]):
        return False
    # A "From:" line followed, within the next three lines, by Sent:/Date: (and
    # friends) is an Outlook-style quoted header block.
    saw_sent = False
    for j in range(i + 1, min(len(lines), i + 5)):
        if not lines[j].strip():
            continue
        if not _HDR_NEXT.match(lines[j]):
            break
        if _HDR_SENT.match(lines[j]):
            saw_sent = True
    return saw_sent


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted lines, attributions, quoted headers and signature removed.

    Conservative: the first non-empty line is never removed. An attribution
    ("On ... wrote:") followed by ``>``-quoted lines only removes itself, so an
    inline or bottom-posted answer after the quote survives; the Outlook-style
    markers (``-----Original Message-----``, an underscore rule before ``From:``,
    a ``From:``/``Sent:`` header block) and the ``-- `` signature delimiter cut
    everything after them.
    """
    if not text:
        return ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return ""
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if i <= first:
            kept.append(line)
            i += 1
            continue
        if line.lstrip().startswith(">"):
            i += 1
            continue
        span = _attribution_span(lines, i)
        if span:
            nxt = _next_nonblank(lines, i + span)
            if nxt is not None and lines[nxt].lstrip().startswith(">"):
                i += span  # drop the attribution only; the quote goes line by line
                continue
            break
        stripped = line.rstrip("\n")
        if stripped in ("-- ", "--"):
            break
        if _ORIGINAL_MESSAGE.match(line):
            break
        if _UNDERSCORES.match(line):
            nxt = _next_nonblank(lines, i + 1)
            if nxt is not None and _HDR_FROM.match(lines[nxt]):
                break
        if _is_header_block(lines, i):
            break
        kept.append(line)
        i += 1
    # Collapse runs of blank lines left behind by removed quotes.
    out: list[str] = []
    for line in kept:
        if not line.strip() and out and not out[-1].strip():
            continue
        out.append(line.rstrip())
    return "\n".join(out).strip()
