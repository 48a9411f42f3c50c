"""Addresses a reply names as new contacts ("please write to maria.lopez@acme.io instead"),
which the admins may add as leads with one press. Pure: text in, addresses out.

Not a referral: the lead's own address and the other addresses given (our mailboxes', the
writer's); an address in the reply's signature block, which starts at a sign-off line ("Best,",
"Kind regards", "Mit freundlichen Grüßen", "Cordialement", "Saludos", "Atenciosamente",
"Cordiali saluti", "С уважением", … alone on its line, maybe with a name) or at the ``-- ``
delimiter, and ends at a "P.S." line; an address of the lead's own domain on a contact line (a
phone number, a website, a "Tel:"-style label or ``|`` separators: the company's generic
addresses there are not people who were named); an address nobody reads (noreply@, postmaster@);
and ``>``-quoted lines. A sign-off on the first line is a greeting ("Thanks!"), not an end.

Mail is hostile input: the text is cut to ``MAX_TEXT`` characters, at most ``MAX_CANDIDATES``
matches are checked, and every pattern runs in linear time (a match only starts where a token
starts; the address pattern's quantifiers are bounded and possessive, so nothing backtracks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from engine.leads.lead_file.rows import validate

MAX_TEXT = 20_000  # characters read (a stored reply's text is capped at the same)
MAX_REFERRALS = 3  # addresses offered under one reply
MAX_CANDIDATES = 50  # address-shaped matches checked at most
MAX_SIGN_OFF = 60  # characters of a sign-off line, a name after it included

# An ASCII address that starts where a token starts (not inside a longer word or address) and
# ends where it ends; at most 64 characters before the @ and 9 labels after it.
_ADDRESS = re.compile(
    r"(?<![\w.%+\-@])"
    r"[A-Za-z0-9._%+\-]{1,64}+@[A-Za-z0-9\-]{1,63}+(?:\.[A-Za-z0-9\-]{1,63}+){1,8}+"
    r"(?![\w\-@]|\.[A-Za-z0-9])"
)
# Seven digits or more, single separators between them: a phone number.
_PHONE = re.compile(r"(?<![\d+])\+?\d(?:[ ().\-/]?\d){6,}")
_WEBSITE = re.compile(r"https?://|\bwww\.", re.IGNORECASE)
# Both matched at the start of a line with its leading blanks removed.
_CONTACT_LABEL = re.compile(
    r"(?:e-?mail|mail|tel|phone|mobile|mob|cell|fax|web|website|[tmpfwe])\s*+:", re.IGNORECASE
)
_POSTSCRIPT = re.compile(r"P\.?\s?S\.?(?::|\s|$)", re.IGNORECASE)

SIGN_OFFS = frozenset(
    " ".join(p.casefold().split())
    for p in (
        # English
        "best",
        "best regards",
        "best wishes",
        "kind regards",
        "kindest regards",
        "warm regards",
        "warmest regards",
        "regards",
        "many thanks",
        "thanks",
        "thanks again",
        "thanks a lot",
        "thank you",
        "thank you very much",
        "thx",
        "cheers",
        "sincerely",
        "yours sincerely",
        "yours truly",
        "yours",
        "all the best",
        "talk soon",
        "take care",
        "br",
        # German
        "mit freundlichen grüßen",
        "mit freundlichem gruß",
        "freundliche grüße",
        "viele grüße",
        "beste grüße",
        "liebe grüße",
        "herzliche grüße",
        "schöne grüße",
        "grüße",
        "gruß",
        "mfg",
        "lg",
        "vielen dank",
        "danke",
        # French
        "cordialement",
        "bien cordialement",
        "bien à vous",
        "salutations",
        "meilleures salutations",
        "merci",
        "merci beaucoup",
        "bonne journée",
        # Spanish
        "saludos",
        "un saludo",
        "saludos cordiales",
        "atentamente",
        "gracias",
        "muchas gracias",
        "un abrazo",
        # Portuguese
        "atenciosamente",
        "cumprimentos",
        "abraços",
        "abraço",
        "obrigado",
        "obrigada",
        "att",
        # Italian
        "cordiali saluti",
        "distinti saluti",
        "saluti",
        "grazie",
        "grazie mille",
        "a presto",
        # Dutch
        "met vriendelijke groet",
        "vriendelijke groet",
        "groeten",
        "mvg",
        # Russian
        "с уважением",
        "спасибо",
        "всего доброго",
        "всего наилучшего",
    )
)

# Local parts no person reads.
NOBODY = frozenset(
    {
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "mailer-daemon",
        "postmaster",
        "bounce",
        "bounces",
    }
)
# Words of a local part that name a role, not a person (no first name is guessed from them).
ROLE_WORDS = frozenset(
    {
        "info",
        "sales",
        "team",
        "hello",
        "contact",
        "support",
        "admin",
        "office",
        "marketing",
        "billing",
        "accounts",
        "jobs",
        "careers",
        "press",
        "help",
        "service",
        "mail",
    }
)


def referral_addresses(text: str, lead_email: str, own: Iterable[str] = ()) -> list[str]:
    """The addresses ``text`` (a reply's new text) names as new contacts, in order, at most
    MAX_REFERRALS, each validated and normalised as an imported lead's address would be.
    ``lead_email`` is the lead's address (never offered; its domain decides which contact-line
    addresses are the company's own); ``own`` are addresses never to offer (our mailboxes',
    the writer's)."""
    excluded = {a.strip().lower() for a in (lead_email, *own) if a}
    lead_domain = lead_email.rpartition("@")[2].strip().lower()
    found: list[str] = []
    seen: set[str] = set()
    checked = 0
    for line in _body_lines(text[:MAX_TEXT]):
        contact: bool | None = None  # decided on the first address of the line
        for match in _ADDRESS.finditer(line):
            checked += 1
            if checked > MAX_CANDIDATES:
                return found
            address, _ = validate(match.group(), False)
            if address is None:
                continue
            key = address.lower()
            local, _, domain = key.rpartition("@")
            if key in excluded or key in seen or local in NOBODY:
                continue
            if domain == lead_domain:
                if contact is None:
                    contact = is_contact_line(line)
                if contact:
                    continue
            seen.add(key)
            found.append(address)
            if len(found) == MAX_REFERRALS:
                return found
    return found


def _body_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` outside its signature block, ``>``-quoted lines left out."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    in_signature = False
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            continue
        if in_signature:
            if _POSTSCRIPT.match(line.lstrip()):
                in_signature = False
                yield line
            continue
        if line.rstrip() == "--" or (i > first and is_sign_off(line)):
            in_signature = True
            continue
        yield line


def is_sign_off(line: str) -> bool:
    """A line that ends a letter: a sign-off phrase alone ("Best regards,", "Cheers!"), or
    followed by a comma and a name ("Thanks, Ana Diaz")."""
    text = line.strip()
    if not text or len(text) > MAX_SIGN_OFF or "@" in text:
        return False
    head, _, tail = text.partition(",")
    phrase = " ".join(head.strip().rstrip(".!").casefold().split())
    if phrase not in SIGN_OFFS:
        return False
    tail = tail.strip().rstrip(".!")
    return not tail or _looks_like_name(tail)


def _looks_like_name(text: str) -> bool:
    """One to three capitalised words of letters ("Ana", "Ana Diaz", "J. R. Smith")."""
    words = text.split()
    return 1 <= len(words) <= 3 and all(
        w[0].isupper() and w.replace(".", "").replace("-", "").replace("'", "").isalpha()
        for w in words
    )


def is_contact_line(line: str) -> bool:
    """A signature's contact line: a phone number, a website, a "Tel:"-style label or ``|``
    separators."""
    return bool(
        _PHONE.search(line)
        or _WEBSITE.search(line)
        or _CONTACT_LABEL.match(line.lstrip())
        or " | " in line
    )


def guess_name(address: str) -> tuple[str, str]:
    """(first, last) name from a ``maria.lopez@``-shaped local part; ("", "") when the local
    part is not two words of letters, or names a role (``sales.team@``)."""
    local = address.rpartition("@")[0]
    for sep in (".", "_"):
        parts = local.split(sep)
        if len(parts) != 2:
            continue
        first, last = parts
        if not all(p.isascii() and p.isalpha() and 2 <= len(p) <= 30 for p in parts):
            continue
        if first.lower() in ROLE_WORDS or last.lower() in ROLE_WORDS:
            return "", ""
        return first.capitalize(), last.capitalize()
    return "", ""
