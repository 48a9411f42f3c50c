"""Checks a template gets when it is saved: warnings about what makes cold email look like a
blast to spam filters and to people. They never block the save; the operator decides.

- a subject over 60 characters (as a lead would see it, placeholders filled with typical
  values), or in ALL CAPS;
- more than 2 links, or a link through a URL shortener (filters distrust hidden targets);
- an image or attachment reference (this service sends plain text without attachments, and
  "see attached" in a cold email is a classic lure);
- typical spam-trigger phrases, from a short shipped list in the languages we support;
- no personalisation placeholder at all.

Pure and linear-time: the patterns are literal alternations and bounded character classes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from engine.inbox.mime import fold

MAX_SUBJECT = 60
MAX_LINKS = 2
_SAMPLE = {
    "first_name": "Alexandra",
    "last_name": "Fischer",
    "company": "Acme Industries",
    "sender_name": "Sam Seller",
}
_SAMPLE_OTHER = "sample"  # any other placeholder (custom fields) as a lead would see it
_CAP = 20_000  # characters of a template read (a template is short; this is a bound)


class Warn(StrEnum):
    LONG_SUBJECT = "long_subject"
    CAPS_SUBJECT = "caps_subject"
    MANY_LINKS = "many_links"
    SHORTENER = "shortener"
    ATTACHMENT = "attachment"
    SPAM_PHRASE = "spam_phrase"
    NO_PLACEHOLDER = "no_placeholder"


@dataclass(frozen=True)
class TemplateWarning:
    kind: Warn
    detail: str = ""  # what was found: the length, the links, the phrases


_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]{0,63})(?:\|[^{}\n]{0,200})?\}", re.IGNORECASE)
_SPIN = re.compile(r"\{\{([^{}|\n]{0,500})(?:\|[^{}\n]{0,500})?\}\}")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()\"']{1,2000}", re.IGNORECASE)
_SHORTENERS = frozenset(
    {
        "bit.ly",
        "bitly.com",
        "tinyurl.com",
        "t.co",
        "goo.gl",
        "ow.ly",
        "is.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "rb.gy",
        "t.ly",
        "tiny.cc",
        "bit.do",
        "lnkd.in",
        "s.id",
        "v.gd",
        "shorte.st",
        "clck.ru",
        "tiny.one",
    }
)
_ATTACHMENT = re.compile(
    r"<img\b|\.(?:png|jpe?g|gif|webp|bmp|svg)\b|\.(?:pdf|docx?|xlsx?|pptx?|zip)\b"
    r"|\b(?:attached|attachment|see attached|enclosed"
    r"|im anhang|anbei|anhang"
    r"|piece jointe|ci-joint"
    r"|adjunto|archivo adjunto"
    r"|anexo|em anexo"
    r"|allegato|in allegato"
    r"|во вложении|вложение|прикрепл\w{0,10})\b",
)
_SPAM = re.compile(
    r"\b(?:free|100% free|for free|guarantee|guaranteed|risk[- ]free|no obligation|act now"
    r"|limited time|click here|buy now|order now|winner|you have been selected|cash|earn money"
    r"|make money|double your|urgent|special promotion|best price|lowest price|no cost|100%"
    r"|kostenlos|gratis|garantiert|jetzt kaufen|klicken sie hier|dringend|sonderangebot"
    r"|gratuit|garanti|cliquez ici|urgent|offre speciale|sans engagement"
    r"|garantizado|haga clic aqui|haz clic aqui|compre ahora|oferta especial|sin compromiso"
    r"|gratuito|garantido|clique aqui|compre agora|oferta especial"
    r"|garantito|clicca qui|acquista ora|offerta speciale|senza impegno"
    r"|бесплатно|гарантия|гарантируем|срочно|выигрыш|нажмите здесь|спецпредложение)(?!\w)"
)


def _shown_subject(subject: str) -> str:
    """The subject as a lead would read it: spintax's first option, placeholders filled."""
    text = _SPIN.sub(lambda m: m.group(1), subject[:_CAP])
    return _PLACEHOLDER.sub(lambda m: _SAMPLE.get(m.group(1).lower(), _SAMPLE_OTHER), text)


def _is_caps(subject: str) -> bool:
    letters = [c for c in subject if c.isalpha()]
    if len(letters) < 8:  # "CRM + ERP" is acronyms, not shouting
        return False
    upper = sum(1 for c in letters if c.isupper())
    return upper / len(letters) >= 0.8


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].lower().removeprefix("www.")


def check_template(subject: str, body: str) -> list[TemplateWarning]:
    """The warnings for a template (subject and body as stored), in a stable order."""
    subject, body = subject[:_CAP], body[:_CAP]
    found: list[TemplateWarning] = []
    shown = _shown_subject(subject)
    if len(shown) > MAX_SUBJECT:
        found.append(TemplateWarning(Warn.LONG_SUBJECT, str(len(shown))))
    if _is_caps(_PLACEHOLDER.sub("", subject)):
        found.append(TemplateWarning(Warn.CAPS_SUBJECT))
    text = f"{subject}\n{body}"
    urls = [m.group(0).rstrip(".,;:!?") for m in _URL.finditer(text)]
    if len(urls) > MAX_LINKS:
        found.append(TemplateWarning(Warn.MANY_LINKS, str(len(urls))))
    short = sorted({h for h in (_host(u) for u in urls) if h in _SHORTENERS})
    if short:
        found.append(TemplateWarning(Warn.SHORTENER, ", ".join(short)))
    folded = fold(text)
    attachment = _ATTACHMENT.search(folded)
    if attachment is not None:
        found.append(TemplateWarning(Warn.ATTACHMENT, attachment.group(0)))
    phrases = sorted({m.group(0) for m in _SPAM.finditer(folded)})
    if phrases:
        found.append(TemplateWarning(Warn.SPAM_PHRASE, ", ".join(phrases[:8])))
    if _PLACEHOLDER.search(_SPIN.sub("", text)) is None:
        found.append(TemplateWarning(Warn.NO_PLACEHOLDER))
    return found
