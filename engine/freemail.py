"""Free-mail providers: domains shared by millions of unrelated people. Stopping "the domain" of
a gmail.com lead would stop every gmail.com lead; per-domain rules must treat these as people,
not companies. ``is_free_mail`` is the one place that decides."""

from __future__ import annotations

# Exact domains.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "msn.com",
        "passport.com",
        "ymail.com",
        "rocketmail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aim.com",
        "web.de",
        "t-online.de",
        "freenet.de",
        "arcor.de",
        "mail.ru",
        "inbox.ru",
        "list.ru",
        "bk.ru",
        "rambler.ru",
        "ya.ru",
        "pm.me",
        "zoho.com",
        "zohomail.com",
        "tutanota.com",
        "tutanota.de",
        "tuta.io",
        "hey.com",
        "qq.com",
        "foxmail.com",
        "163.com",
        "126.com",
        "yeah.net",
        "sina.com",
        "sohu.com",
        "aliyun.com",
        "naver.com",
        "daum.net",
        "hanmail.net",
        "rediffmail.com",
        "mail.com",
        "email.com",
        "usa.com",
        "hushmail.com",
        "mailbox.org",
        "posteo.de",
        "posteo.net",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "onet.pl",
        "interia.pl",
        "libero.it",
        "virgilio.it",
        "laposte.net",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "sfr.fr",
        "btinternet.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "bellsouth.net",
        "cox.net",
        "charter.net",
        "earthlink.net",
        "bigpond.com",
        "shaw.ca",
        "rogers.com",
        "sympatico.ca",
        "uol.com.br",
        "bol.com.br",
        "terra.com.br",
        "gmx.com",
        "gmx.net",
        "duck.com",
        "skiff.com",
        "lycos.com",
        "inbox.com",
    }
)

# Providers that run the same service under many country domains: hotmail.fr, yahoo.co.uk,
# gmx.de, yandex.ru, protonmail.ch, fastmail.fm, outlook.de, live.co.uk, aol.de...
FREE_MAIL_FAMILIES = frozenset(
    {
        "hotmail",
        "outlook",
        "live",
        "windowslive",
        "yahoo",
        "aol",
        "gmx",
        "yandex",
        "proton",
        "protonmail",
        "fastmail",
        "zoho",
        "icloud",
        "gmail",
    }
)


def _country_suffix(rest: str) -> bool:
    """``com``, ``de``, ``co.uk``, ``com.br``, ``fm``: one or two short labels."""
    labels = rest.split(".")
    return 1 <= len(labels) <= 2 and all(2 <= len(x) <= 3 and x.isalpha() for x in labels)


def is_free_mail(domain: str) -> bool:
    """True if ``domain`` (or an address's domain part) belongs to a free-mail provider."""
    d = domain.rsplit("@", 1)[-1].strip().strip(".").lower()
    if d in FREE_MAIL_DOMAINS:
        return True
    first, _, rest = d.partition(".")
    return first in FREE_MAIL_FAMILIES and _country_suffix(rest)
