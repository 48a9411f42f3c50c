"""The last day an out-of-office sender is away, read from the text of the auto-reply.

Pure logic: no I/O and no third-party parser. A date parser such as ``dateparser`` reads far
more than auto-replies need, costs idle memory, and its patterns are not known to run in
linear time on hostile mail. Instead the text is cut into *items* found by small, bounded
regexes (dates, bare day numbers, cue words), and the cue words decide which date is meant.

How a date gets a meaning (its *binding*):

* **until** (rank 1): the date follows an "until" cue (until, till, through, bis, jusqu'au,
  hasta, até, fino al, до, по, tot en met, after, …) with only filler between it and the cue
  (articles, "on", "zum", "le", "el", "dia", weekday names, "einschließlich", punctuation).
  The end of a range counts the same: "from 3 to 12 January", "between 3 and 12 January",
  "vom 3. bis 12. Januar", "du 3 au 12 janvier", "del 3 al 12 de enero", "с 3 по 12 января",
  "3-12 January"; a bare end day takes the start's month ("January 3 to 12"). The date is the
  last day away. Exception: "I won't be back until 13 January" (a negated return cue right
  before "until") is a return day.
* **return, after the cue** (rank 2): a return cue (back, return, wieder, zurück, de retour,
  de vuelta, regreso, de volta, rientro, вернусь, буду в офисе, terug, …) followed within 50
  characters of the same sentence by a date. The date is the first day back: the last day
  away is the day before.
* **return, before the cue** (rank 3): no date after the cue, but one just before it (at most
  four words, no "and"/"und"/… between): "Ab dem 13.1. bin ich wieder im Büro", "13 января
  вернусь"; not when the cue says "soon" ("on leave from 4 January, back soon"). An
  availability cue (available, erreichbar, disponible, im Büro, …) binds like this too, but
  only to a date right after a "from" cue (ab dem, à partir du, a partir de, from, с, vanaf,
  …) and never when negated ("nicht erreichbar").

A date with no binding ("your email of 3 January", "I am away from 3 January") is ignored.
When several dates are bound, the best rank wins (the explicit until statement first), and
within a rank the first in the text. Dates that are impossible, before today or more than
183 days after today are dropped before choosing.

Numeric dates: ``12.1.``, ``12.01.``, ``12.01``, ``12.01.2027`` and ``12.01.27`` are always
day.month (two-digit years are 20xx); ``2.5`` (no closing dot, one-digit month) may be a
decimal, so it is a date only right after an until cue ("bis 15.1"). ``2027-01-12`` is ISO.
Slashed (``12/01/2027``) and dashed (``12-01-2027``) dates are day/month, unless every
until, return or availability cue in the text is English: then a value over 12 decides the
order; when both are 12 or less, a weekday named just before the date that fits one reading
only decides, else the text's written dates do ("January 12" → month/day, "12 January" →
day/month); with no hint, or hints both ways, the date is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from engine.inbox.mime import fold

TEXT_MAX = 4000  # characters read: an auto-reply states its dates at the top
HORIZON_DAYS = 183  # a later date is more likely a typo or a stale notice than an absence
_LOOSE_CHARS = 50  # how far a return cue reaches for its date (same sentence only)
_BEFORE_CHARS = 40
_BEFORE_WORDS = 4


# --------------------------------------------------------------------------- vocabulary


def _folded(words: str) -> list[str]:
    return [fold(w) for w in words.split(",") if w.strip()]


# Month words, full and abbreviated, as they read after fold() (accents gone, ё→е, й→и).
# "out" and "set" (Portuguese abbreviations) are left out: English text uses them as words.
_MONTH_WORDS: dict[int, str] = {
    1: "january,jan,januar,janner,jan,janvier,janv,enero,ene,janeiro,gennaio,gen,januari,"
    "января,январь,янв",
    2: "february,feb,februar,feber,fevrier,fevr,fev,febrero,fevereiro,febbraio,februari,"
    "февраля,февраль,фев,февр",
    3: "march,mar,marz,maerz,mrz,mars,marzo,marco,maart,mrt,марта,март,мар",
    4: "april,apr,avril,avr,abril,abr,aprile,апреля,апрель,апр",
    5: "may,mai,mayo,maio,maggio,mag,mei,мая,май",
    6: "june,jun,juni,juin,junio,junho,giugno,giu,июня,июнь,июн",
    7: "july,jul,juli,juillet,juil,julio,julho,luglio,lug,июля,июль,июл",
    8: "august,aug,aout,agosto,ago,augustus,августа,август,авг",
    9: "september,sep,sept,septembre,septiembre,setiembre,setembro,settembre,sett,"
    "сентября,сентябрь,сен,сент",
    10: "october,oct,oktober,okt,octobre,octubre,outubro,ottobre,ott,октября,октябрь,окт",
    11: "november,nov,novembre,noviembre,novembro,ноября,ноябрь,ноя,нояб",
    12: "december,dec,dezember,dez,decembre,diciembre,dic,dezembro,dicembre,декабря,декабрь,дек",
}
MONTHS: dict[str, int] = {w: m for m, words in _MONTH_WORDS.items() for w in _folded(words)}

# Weekday words (Mon=0), for filler between a cue and its date and to check a slashed date.
_WEEKDAY_WORDS: dict[int, str] = {
    0: "monday,mon,montag,lundi,lun,lunes,segunda,lunedi,maandag,понедельник,понедельника,пн",
    1: "tuesday,tue,tues,dienstag,mardi,martes,terca,martedi,dinsdag,вторник,вторника,вт",
    2: "wednesday,wed,mittwoch,mercredi,mer,miercoles,mie,quarta,mercoledi,woensdag,"
    "среда,среду,среды,ср",
    3: "thursday,thu,thur,thurs,donnerstag,jeudi,jeu,jueves,jue,quinta,giovedi,donderdag,"
    "четверг,четверга,чт",
    4: "friday,fri,freitag,vendredi,ven,viernes,vie,sexta,venerdi,vrijdag,"
    "пятница,пятницу,пятницы,пт",
    5: "saturday,sat,samstag,sonnabend,samedi,sam,sabado,sab,sabato,zaterdag,"
    "суббота,субботу,субботы,сб",
    6: "sunday,sun,sonntag,dimanche,dim,domingo,dom,domenica,zondag,воскресенье,воскресенья,вс",
}
WEEKDAYS: dict[str, int] = {w: d for d, words in _WEEKDAY_WORDS.items() for w in _folded(words)}

# Words that may stand between a tight cue and its date ("until the", "bis zum", "hasta el",
# "até o dia", "fino al giorno", "jusqu'au lundi"), plus short weekday forms too ambiguous to
# name a day ("mo", "do", "so").
_FILLER = frozenset(
    _folded(
        "the,on,of,at,and,including,inclusive,incl,next,this,coming,"
        "dem,den,der,zum,zur,am,einschliesslich,einschl,inkl,inklusive,und,mit,kommenden,nachsten,"
        "mo,di,mi,do,fr,sa,so,"
        "le,la,l,au,inclus,"
        "el,dia,del,incluido,proximo,proxima,"
        "o,a,ao,de,feira,"
        "il,lo,giorno,compreso,incluso,prossimo,prossima,"
        "en,met,"
        "включительно"
    )
) | frozenset(WEEKDAYS)
_TIGHT_PUNCT = frozenset(",:().'\"-")
_BREAK_PUNCT = frozenset("!?;|")
# A return cue followed by one of these gives no date ("back soon"): the date before it is
# more likely the start of the absence ("on leave from 4 January, back soon").
_SOON = frozenset(_folded("soon,shortly,later,bald,bientot,pronto,presto,logo,скоро,binnenkort"))
_CONJUNCTIONS = frozenset(_folded("and,und,et,y,e,и,en,but,aber,mais,pero,ma,mas,но,maar"))

# Cue phrases by kind: (phrases, language). Language "" is shared by several languages
# (short prepositions) and says nothing about how the text writes numeric dates.
UNTIL, RETURN, AVAIL, FROM, BETWEEN, SEP_TO, SEP_AND, DASH = (
    "until",
    "return",
    "avail",
    "from",
    "between",
    "sep_to",
    "sep_and",
    "dash",
)
_CUE_TABLE: list[tuple[str, str, str]] = [
    (UNTIL, "en", "until,till,til,'til,through,thru,up to,up until,up to and including,after"),
    (UNTIL, "de", "bis"),
    (UNTIL, "fr", "jusqu'au,jusqu'a,jusqu au,jusqu a,jusqu'a la,jusqu'a l',jusquau"),
    (UNTIL, "es", "hasta"),
    (UNTIL, "pt", "até,até o,até a,até ao,até à"),
    (UNTIL, "it", "fino al,fino a,fino all',sino al,sino a,fino a tutto"),
    (UNTIL, "ru", "до,по,вплоть до"),
    (UNTIL, "nl", "tot,tot en met,t/m,tot met"),
    (
        RETURN,
        "en",
        "back,return,returns,returning,resume,resumes,resuming,be in the office,"
        "in the office again,available again,reachable again,online again",
    ),
    (RETURN, "de", "zurück,zurueck,wieder"),
    (
        RETURN,
        "fr",
        "de retour,retour,reviens,reviendrai,rentre,rentrerai,reprends,reprendrai,"
        "à nouveau,de nouveau",
    ),
    (
        RETURN,
        "es",
        "de vuelta,vuelvo,volveré,regreso,regresaré,regresa,de nuevo,reincorporo,"
        "me reincorporaré,retorno",
    ),
    (
        RETURN,
        "pt",
        "de volta,volto,voltarei,retornarei,regresso,regressarei,novamente,de novo",
    ),
    (
        RETURN,
        "it",
        "rientro,rientrerò,rientrerà,di ritorno,ritorno,torno,tornerò,di nuovo,nuovamente",
    ),
    (
        RETURN,
        "ru",
        "вернусь,вернётся,буду в офисе,буду на работе,выйду на работу,снова,приступлю",
    ),
    (RETURN, "nl", "terug,weer"),
    (AVAIL, "en", "available,reachable,in the office,in office,at my desk"),
    (AVAIL, "de", "erreichbar,verfügbar,im büro,im buero,im haus"),
    (AVAIL, "fr", "disponible,joignable,au bureau,présent,présente"),
    (AVAIL, "es", "en la oficina,localizable"),
    (AVAIL, "pt", "disponível,no escritório,contactável"),
    (AVAIL, "it", "disponibile,reperibile,raggiungibile,in ufficio"),
    (AVAIL, "ru", "на связи,доступен,доступна"),
    (AVAIL, "nl", "bereikbaar,beschikbaar,aanwezig,op kantoor"),
    (FROM, "en", "from,starting,as of,beginning"),
    (FROM, "de", "ab,ab dem,ab den,vom,von"),
    (FROM, "fr", "du,à partir du,à partir de,à compter du,dès le"),
    (FROM, "es", "desde,a partir del"),
    (FROM, "pt", "a partir do"),
    (FROM, "it", "da,dal,dall',a partire dal,a partire da,a partire dall'"),
    (FROM, "ru", "с,со,начиная с"),
    (FROM, "nl", "van,vanaf,met ingang van"),
    (FROM, "", "de,del,a partir de"),
    (BETWEEN, "en", "between"),
    (BETWEEN, "de", "zwischen"),
    (BETWEEN, "ru", "между"),
    (BETWEEN, "nl", "tussen"),
    (BETWEEN, "", "entre,tra,fra"),
    (SEP_TO, "en", "to"),
    (SEP_TO, "", "au,al,a,ao,all'"),
    (SEP_AND, "en", "and"),
    (SEP_AND, "", "und,et,y,e,и,en"),
]
CUES: dict[str, tuple[str, str]] = {}
for _kind, _lang, _phrases in _CUE_TABLE:
    for _phrase in _folded(_phrases):
        CUES.setdefault(_phrase, (_kind, _lang))


def _alternation(words: list[str]) -> str:
    """Longest first, so "tot en met" is found before "tot" and "janvier" before "jan"."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


def _cue_alternative(phrase: str) -> str:
    # A phrase ending in an apostrophe ("dall'") runs straight into its number.
    # A word followed by "-" is part of a compound ("e-mail"), not the cue.
    tail = r"(?![\w-])" if phrase[-1].isalnum() else ""
    return re.escape(phrase) + tail


# --------------------------------------------------------------------------- patterns
# Every quantifier is bounded ({m,n}) or applies to a single character class, and no group
# under a quantifier has overlapping alternatives: each match attempt reads a bounded stretch,
# so scanning a text is linear in its length (tests/unit/test_regex_linear.py checks them).

_MONTH_ALT = _alternation(list(MONTHS))
_ORDINAL = r"(?:st|nd|rd|th|er|re|o|°|\.)?"

# "5 pm", "17 Uhr", "17h30", "9.30 Uhr", "12:00": removed first, so "until 5 pm on 12
# January" reads "until on 12 january" and a time is never read as a date.
_TIME = re.compile(
    r"(?<![\d.:])\d{1,2}(?:[:.]\d{2})? ?(?:uhr|h(?:\d{2})?|[ap]\.?m\.?)(?!\w)"
    r"|(?<![\d.:])\d{1,2}:\d{2}(?![\d:])"
)
# "12 January 2027", "12th of January", "1er janvier", "12. Januar", "12 de enero de 2027",
# "12 января", "12-jan-2027".
_DAY_MONTH = re.compile(
    r"(?<![\d.,/:])(\d{1,2})" + _ORDINAL + r"(?:[ .-]{1,2})?(?:(?:de|of|del|di) )?"
    r"(" + _MONTH_ALT + r")(?![^\W\d_])"
    r"(?:[ ,.-]{1,2}(?:de |del )?(\d{4})(?!\d))?"
)
# "January 12th, 2027", "Jan. 12".
_MONTH_DAY = re.compile(
    r"(?<![^\W\d_])(" + _MONTH_ALT + r")(?![^\W\d_])\.?,? ?(?:the )?(\d{1,2})"
    r"(?:st|nd|rd|th)?(?![\d:]|\.\d|[^\W\d_])(?:,? ?(\d{4})(?!\d))?"
)
_ISO = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
# "12.1.", "12.01.2027", "12.01.27", "12.01", "12.1": day.month everywhere. Group 3 is the
# closing dot (and year); without it and with a one-digit month ("2.5") it may be a decimal.
_DOTTED = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})(\.(?:(\d{4}|\d{2})(?!\d))?)?(?!\d)")
_SLASHED = re.compile(r"(?<![\d/.])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])")
_DASHED = re.compile(r"(?<![\d-])(\d{1,2})-(\d{1,2})-(\d{4}|\d{2})(?![\d-])")
# A day number alone: the start of "from 3 to 12 January", the end of "January 3 to 12".
_BARE_DAY = re.compile(r"(?<![\w.,/:])(\d{1,2})" + _ORDINAL + r"(?![\w/:]|[.,]\d)")
_CUE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(_cue_alternative(p) for p in sorted(CUES, key=lambda p: (-len(p), p)))
    + ")"
)
_DASH_CUE = re.compile(r"(?<=[\d.\s])-(?=[\s\d])")
_GAP_TOKEN = re.compile(r"[^\W_]+|[^\w\s]")
_NEGATION = re.compile(
    r"(?<!\w)(?:not|never|nicht|kein|keine|pas|no|non|nao|не|niet|geen)(?!\w)|n't(?!\w)"
)

# Apostrophes and dashes to one form each, so "jusqu’au" and "3–12" read like "jusqu'au", "3-12".
_PUNCT = str.maketrans(
    {c: "'" for c in "\u2018\u2019\u02bc\u00b4`\u2032"}
    | {c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"}
)
# Words a "." may follow inside one sentence ("Mon. 12 Jan", "incl. 12.1.").
_ABBREVIATIONS = frozenset(WEEKDAYS) | frozenset(_folded("incl,inkl,einschl,ca,approx,z,b,d,h"))
_DATE, _DAY = "date", "day"
_PRIORITY = {"dm": 0, "iso": 1, "dotted": 1, "decimal": 1, "slash": 1, "md": 2, _DAY: 3}


# --------------------------------------------------------------------------- public API


def away_until(text: str, received: datetime) -> date | None:
    """The last day the sender is away, read from an out-of-office reply, or None.

    ``received`` is the reply's arrival time in the zone it should be read in; its date is
    "today", the reference for a date without a year (the first such day on or after today)
    and for the window a usable answer must fall in (today .. today + 183 days). Only the first
    4,000 characters are read. None when no date is tied to an absence or return cue, or the
    date is impossible, past or too far ahead: a caller then falls back to its usual delay
    rather than trusting a guess.
    """
    today = received.date()
    norm = _normalise(text)
    items = _items(norm)
    english = _english_only(items)
    order = _written_order(items)
    horizon = today + timedelta(days=HORIZON_DAYS)
    best: tuple[tuple[int, int], date] | None = None
    for bound in _bindings(norm, items):
        day_month = _orient(norm, bound.item, english, order, today)
        if day_month is None:
            continue
        stated = _stated(day_month[0], day_month[1], bound.item.year, today)
        if stated is None:
            continue
        last = stated - timedelta(days=1) if bound.is_return else stated
        if not today <= last <= horizon:
            continue
        key = (bound.rank, bound.order)
        if best is None or key < best[0]:
            best = (key, last)
    return best[1] if best else None


def next_working_day(after: date, working_days: frozenset[int]) -> date:
    """The first day strictly after ``after`` whose ``weekday()`` (Mon=0) is a working day.

    A follow-up planned for "the day after the absence" should not land on a weekend; the
    working days are the sender's (or the campaign's), so they are passed in.
    """
    days = working_days & frozenset(range(7))
    if not days:
        raise ValueError(f"no working day (0..6) in {sorted(working_days)!r}")
    for step in range(1, 8):
        day = after + timedelta(days=step)
        if day.weekday() in days:
            return day
    raise AssertionError("unreachable: a week holds every weekday")


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class _Item:
    """A date, a bare day number or a cue word, by its span in the normalised text."""

    start: int
    end: int
    kind: str  # _DATE, _DAY or a cue kind
    day: int = 0
    month: int = 0  # for a slashed date: the second number, its meaning still open
    year: int | None = None
    form: str = ""  # dates: "dm", "md", "iso", "dotted", "slash"
    lang: str = ""  # cues: the language the phrase belongs to ("" when shared)


@dataclass(frozen=True, slots=True)
class _Bound:
    """A date a cue refers to, and whether it is the first day back (not the last away)."""

    rank: int  # 1 until/range end, 2 return cue then date, 3 date then return cue
    order: int
    item: _Item
    is_return: bool


def _normalise(text: str) -> str:
    """Folded text, one space between words, "|" for a blank line, clock times removed."""
    folded = _TIME.sub(" ", fold(text[:TEXT_MAX]).translate(_PUNCT))
    words: list[str] = []
    blank = False
    for line in folded.splitlines():
        parts = line.split()
        if not parts:
            blank = True
            continue
        if blank and words:
            words.append("|")
        blank = False
        words.extend(parts)
    return " ".join(words)


def _year(raw: str | None) -> int | None:
    if raw is None:
        return None
    return 2000 + int(raw) if len(raw) == 2 else int(raw)


def _items(text: str) -> list[_Item]:
    """Every date, bare day and cue, without overlaps, in text order.

    Where two readings overlap, the one starting first wins, and at the same start a date
    beats a bare day and a cue; a day-month date beats an overlapping month-day one, so the
    French "mar. 12 janv." (Tuesday) is not read as March 12.
    """
    dates: list[_Item] = []
    covered = bytearray(len(text) + 1)
    for m in _DAY_MONTH.finditer(text):
        dates.append(_Item(m.start(), m.end(), _DATE, int(m[1]), MONTHS[m[2]], _year(m[3]), "dm"))
        covered[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    for m in _MONTH_DAY.finditer(text):
        if not any(covered[m.start() : m.end()]):
            dates.append(
                _Item(m.start(), m.end(), _DATE, int(m[2]), MONTHS[m[1]], _year(m[3]), "md")
            )
    for m in _ISO.finditer(text):
        dates.append(_Item(m.start(), m.end(), _DATE, int(m[3]), int(m[2]), int(m[1]), "iso"))
    for m in _DOTTED.finditer(text):
        form = "decimal" if m[3] is None and len(m[2]) == 1 else "dotted"
        dates.append(_Item(m.start(), m.end(), _DATE, int(m[1]), int(m[2]), _year(m[4]), form))
    for pattern in (_SLASHED, _DASHED):
        for m in pattern.finditer(text):
            dates.append(
                _Item(m.start(), m.end(), _DATE, int(m[1]), int(m[2]), _year(m[3]), "slash")
            )
    others: list[_Item] = [
        _Item(m.start(), m.end(), _DAY, int(m[1]), form=_DAY) for m in _BARE_DAY.finditer(text)
    ]
    for m in _CUE.finditer(text):
        kind, lang = CUES[m[0]]
        others.append(_Item(m.start(), m.end(), kind, lang=lang))
    others.extend(_Item(m.start(), m.end(), DASH) for m in _DASH_CUE.finditer(text))

    found = sorted(dates + others, key=lambda it: (it.start, _PRIORITY.get(it.form, 9), -it.end))
    kept: list[_Item] = []
    end = 0
    for item in found:
        if item.start >= end:
            kept.append(item)
            end = item.end
    return kept


def _english_only(items: list[_Item]) -> bool:
    """Whether the text's cue words are English only (so a slashed date may be month/day)."""
    langs = {it.lang for it in items if it.kind in (UNTIL, RETURN, AVAIL) and it.lang}
    return langs == {"en"}


def _written_order(items: list[_Item]) -> str | None:
    """ "dm" or "md" when the text writes its dates with month names one way only."""
    forms = {it.form for it in items if it.form in ("dm", "md")}
    return forms.pop() if len(forms) == 1 else None


# --------------------------------------------------------------------------- binding


def _tokens(gap: str) -> list[str]:
    return _GAP_TOKEN.findall(gap)


def _tight(gap: str) -> bool:
    """Only filler words and light punctuation between a cue and its date."""
    if len(gap) > 40:
        return False
    return all(tok in _FILLER or tok in _TIGHT_PUNCT for tok in _tokens(gap))


def _same_sentence(gap: str, limit: int) -> bool:
    """At most ``limit`` characters, and no sentence or paragraph ends inside."""
    if len(gap) > limit:
        return False
    prev = ""
    for tok in _tokens(gap):
        if tok in _BREAK_PUNCT or (tok == "." and prev not in _ABBREVIATIONS):
            return False
        prev = tok
    return True


def _close_before(gap: str) -> bool:
    """A date this close before a return cue is the return day ("ab dem 13.1. wieder")."""
    if not _same_sentence(gap, _BEFORE_CHARS):
        return False
    words = [tok for tok in _tokens(gap) if tok[0].isalnum()]
    return len(words) <= _BEFORE_WORDS and not any(w in _CONJUNCTIONS for w in words)


def _clause_before(text: str, pos: int, width: int) -> str:
    """Up to ``width`` characters before ``pos``, from the last sentence break on."""
    window = text[max(0, pos - width) : pos]
    cut = max(window.rfind(c) for c in _BREAK_PUNCT)
    return window[cut + 1 :]


def _negated_return(text: str, items: list[_Item], ci: int) -> bool:
    """ "I won't be back until 13 January": a negated return cue just before an until cue."""
    cue = items[ci]
    for j in range(ci - 1, max(-1, ci - 4), -1):
        prev = items[j]
        if not _same_sentence(text[prev.end : cue.start], 30):
            return False
        if prev.kind == RETURN:
            window = _clause_before(text, cue.start, cue.start - prev.start + 30)
            return _NEGATION.search(window) is not None
        if prev.kind in (_DATE, _DAY):
            return False
    return False


def _range_start(text: str, items: list[_Item], ci: int) -> _Item | None:
    """The date or day just before cue ``ci`` (filler only between), or None."""
    if ci < 1:
        return None
    start = items[ci - 1]
    if start.kind in (_DATE, _DAY) and _tight(text[start.end : items[ci].start]):
        return start
    return None


def _opener(text: str, items: list[_Item], si: int) -> str | None:
    """The kind of cue opening a range whose start is item ``si`` ("from", "between")."""
    if si < 1:
        return None
    cue = items[si - 1]
    return cue.kind if _tight(text[cue.end : items[si].start]) else None


def _tight_binding(text: str, items: list[_Item], i: int) -> _Bound | None:
    """An until cue or a range separator directly before the date or day ``i``."""
    it, cue = items[i], items[i - 1]
    start = _range_start(text, items, i - 1)
    if cue.kind in (SEP_TO, SEP_AND, DASH):
        if start is None:
            return None
        opener = _opener(text, items, i - 2)
        if cue.kind == SEP_AND and opener != BETWEEN:
            return None
        if cue.kind == SEP_TO and opener != FROM and start.kind != _DATE:
            return None
    elif cue.kind != UNTIL:
        return None
    if it.kind == _DAY:  # "January 3 to 12": the end takes the start's month and year
        if start is None or start.kind != _DATE or start.form == "slash":
            return None
        if it.day <= start.day:
            return None
        it = _Item(it.start, it.end, _DATE, it.day, start.month, start.year, start.form)
    is_return = cue.kind == UNTIL and _negated_return(text, items, i - 1)
    return _Bound(1, it.start, it, is_return)


def _loose_binding(text: str, items: list[_Item], ci: int, from_bound: set[int]) -> _Bound | None:
    """The date a return (or availability) cue refers to: after it, else just before it."""
    cue = items[ci]
    if cue.kind == AVAIL and _NEGATION.search(_clause_before(text, cue.start, 30)):
        return None
    hit, rank = -1, 0
    for j in range(ci + 1, len(items)):
        if not _same_sentence(text[cue.end : items[j].start], _LOOSE_CHARS):
            break
        if items[j].kind == _DATE:
            hit, rank = j, 2
            break
    after = [tok for tok in _tokens(text[cue.end : cue.end + 16]) if tok[0].isalnum()]
    if hit < 0 and not (after and after[0] in _SOON):
        for j in range(ci - 1, -1, -1):
            if not _close_before(text[items[j].end : cue.start]):
                break
            if items[j].kind == _DATE:
                hit, rank = j, 3
                break
    if hit < 0 or items[hit].form == "decimal":  # "back in 2.5 weeks": only a tight cue
        return None
    if cue.kind == AVAIL:
        if hit not in from_bound:  # "available" alone says nothing about a date
            return None
        rank = 3
    return _Bound(rank, items[hit].start, items[hit], True)


def _bindings(text: str, items: list[_Item]) -> list[_Bound]:
    """Every date tied to a cue, with the meaning the cue gives it."""
    out: list[_Bound] = []
    from_bound: set[int] = set()
    for i in range(1, len(items)):
        it, cue = items[i], items[i - 1]
        if it.kind not in (_DATE, _DAY) or not _tight(text[cue.end : it.start]):
            continue
        if cue.kind == FROM:
            from_bound.add(i)
            continue
        bound = _tight_binding(text, items, i)
        if bound is not None:
            out.append(bound)
    for ci, cue in enumerate(items):
        if cue.kind in (RETURN, AVAIL):
            bound = _loose_binding(text, items, ci, from_bound)
            if bound is not None:
                out.append(bound)
    return out


# --------------------------------------------------------------------------- calendar


def _stated(day: int, month: int, year: int | None, today: date) -> date | None:
    """The calendar date meant: with no year, the first such day on or after today."""
    if year is not None:
        try:
            return date(year, month, day)
        except ValueError:
            return None
    for y in range(today.year, today.year + 9):  # 29 February waits for a leap year
        try:
            stated = date(y, month, day)
        except ValueError:
            continue
        if stated >= today:
            return stated
    return None


def _weekday_before(text: str, pos: int) -> int | None:
    words = [tok for tok in _tokens(text[max(0, pos - 16) : pos]) if tok[0].isalpha()]
    return WEEKDAYS.get(words[-1]) if words else None


def _orient(
    text: str, it: _Item, english: bool, order: str | None, today: date
) -> tuple[int, int] | None:
    """(day, month) of a date; for a slashed one, the reading the module docstring describes."""
    if it.form != "slash" or not english:
        return it.day, it.month
    a, b = it.day, it.month
    if a == b or (a > 12 and b <= 12):
        return a, b
    if b > 12:
        return (b, a) if a <= 12 else None
    weekday = _weekday_before(text, it.start)
    if weekday is not None:
        fits = []
        for day, month in ((a, b), (b, a)):
            stated = _stated(day, month, it.year, today)
            if stated is not None and stated.weekday() == weekday:
                fits.append((day, month))
        if len(fits) == 1:
            return fits[0]
    if order == "dm":
        return a, b
    if order == "md":
        return b, a
    return None
