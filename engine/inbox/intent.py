"""What a human reply to a cold email wants: a meeting, an answer, later, someone else, ...

:func:`classify_intent` reads the NEW text of a reply (quotes and signature already removed by
:mod:`~engine.inbox.quotes`) and returns one :class:`Intent`. Opt-outs are not its business:
:mod:`~engine.inbox.optout` runs first and such replies never get here, so "not interested"
needs no rule. Rules are phrase lists in English, German, French, Spanish, Portuguese, Italian,
Russian and Dutch, matched on :func:`~engine.inbox.mime.fold`-ed text (casefolded, accents
removed, so "ё" reads as "е" and "й" as "и"; the phrases are folded the same way).

Precedence, first match wins:

1. ``referral``: the reply sends us to someone else: "please contact Maria", "écrivez plutôt à
   jean@…", "dafür ist Herr Weber zuständig", or an address that is not the writer's own.
   First, because "I'm not the right person, talk to Ben" names the way forward.
2. ``wrong_person``: not the right contact, no longer works there, not responsible, without
   naming anyone.
3. ``meeting``: asks for or proposes a call or a time ("let's talk Tuesday at 3", "send me your
   calendar", "können wir telefonieren"), or names a day/hour with "free", "works", "?".
   When the reply also says "later" ("busy until March, let's talk then"), it is a meeting only
   if it names a concrete day or hour; otherwise ``not_now``.
4. ``not_now``: later, next quarter, busy, "not a good time", "pas pour l'instant".
5. ``question``: a price word, "how does it work", a sentence opening with an interrogative
   ("what's the minimum term"), or a sentence with "?" and an information-seeking cue
   (interrogative, "do you", "vocês", "¿", "есть ли", ...). A sentence that
   only asks for material ("can you send more info?", "what are the next steps?") counts as
   interest, not as a question.
6. ``interested``: "sounds good", "tell me more", "интересно", "ça m'intéresse", a bare "yes",
   unless the reply also declines ("looks nice, but we already have a provider" is ``other``).
7. ``other``: everything else (thanks, "got it", "we already have a provider").

A cue with a negation in its clause, among the four words before it or right after it ("not
interesting", "no need for a call", "ça ne m'intéresse pas"), does not count; the phrases
that carry their own negation ("not a good time", "not the right person") are listed whole.

The subject is a hint only: when the text says nothing (``other``) and the subject has no
reply/forward prefix (the writer typed it, it is not ours quoted back), the subject is read the
same way.

Hostile input: the text is capped at :data:`TEXT_MAX` characters and the subject at
:data:`SUBJECT_MAX` before anything else; every pattern is a literal alternation with ``\\b``
or a bounded gap, so each runs in linear time (``tests/unit/test_regex_linear.py``).
"""

from __future__ import annotations

import re
from enum import StrEnum

from engine.inbox.mime import fold

__all__ = ["SUBJECT_MAX", "TEXT_MAX", "Intent", "classify_intent"]

TEXT_MAX = 4000
SUBJECT_MAX = 300


class Intent(StrEnum):
    """The label of a human reply; the values are stored, so do not rename them."""

    INTERESTED = "interested"
    MEETING = "meeting"
    QUESTION = "question"
    NOT_NOW = "not_now"
    REFERRAL = "referral"
    WRONG_PERSON = "wrong_person"
    OTHER = "other"


_GAP = r"[^.,;!?\n]{0,30}"  # a bounded gap inside one clause


def _phrase(p: str) -> str:
    out: list[str] = []
    for ch in fold(p):
        if ch == "*":
            out.append(r"\w*")
        elif ch == "~":
            out.append(_GAP)
        elif ch == "#":
            out.append(r"\d{1,2}")
        else:
            out.append(re.escape(ch))
    body = "".join(out)
    first, last = p[0], p[-1]
    if first.isalnum() or first == "#":
        body = r"\b" + body
    if last.isalnum() or last == "#":
        body += r"\b"
    return body


def _words(*phrases: str) -> re.Pattern[str]:
    """One alternation of folded phrases. In a phrase ``*`` is the rest of a word, ``~`` a gap
    of up to 30 characters in the same clause, ``#`` one or two digits."""
    return re.compile("|".join(_phrase(p) for p in phrases))


_CLAUSE_END = re.compile(r"[.,;:!?()\n]")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_EMAIL = re.compile(r"\w@[\w-]+\.\w")
# A reply or forward of ours: only the first prefix matters, so no repetition is needed.
_SUBJECT_PREFIX = re.compile(
    r"(?:re|aw|wg|fw|fwd|sv|vs|antw|r|rif|tr|отв|ответ) ?(?:\[\d+\])?:", re.I
)

# Words that negate a cue when among the four words before it in the same clause. Not "ne":
# in Italian it means "of it" ("ne sono interessato"); French "ne ... pas" is caught by "pas".
_NEGATION = _words(
    "not", "no", "don't", "dont", "doesn't", "doesnt", "isn't", "isnt", "never", "without",
    "can't", "cant", "won't", "wont", "nicht", "kein", "keine", "keinen", "keinerlei", "nie",
    "ohne", "pas", "n'", "jamais", "sans", "non", "nao", "nem", "nunca", "sin", "senza",
    "не", "нет", "ни", "без", "niet", "geen", "nooit",
)  # fmt: skip
# A negation after the cue: "ça ne m'intéresse pas", "das interessiert uns nicht".
_NEGATION_AFTER = frozenset({"pas", "nicht", "niet"})
# "my e-mail is", "mein", "mon adresse": an address that is the writer's own.
_MY = frozenset(
    fold(w) for w in "my mein meine mon ma mes mi mis meu minha mio mia мой мою моя mijn".split()
)
# "who handles this?", "wer ist zuständig?": asking, not naming.
_WHO = frozenset(fold(w) for w in "who wer qui quien quem chi кто wie".split())


# The writer themself, or us: "contact me", "talk to you", "me contacter".
_SELF = frozenset(
    fold(w)
    for w in "me us you your yours myself again back later soon mich mir uns dich dir moi nous vous "
    "te mi nos mim comigo nosotros usted ustedes voce voces noi мне меня нам нас вам вас "
    "тебе тебя mij ons jou je u about regarding this that it".split()
)
# The writer will do it: "I'll talk to my boss", "vou falar com meu sócio", "ne parlo con".
_FIRST = frozenset(
    fold(w)
    for w in "i i'll ill i'd we we'll we'd ich wir werde je vais yo voy vamos eu vou io ne я мы "
    "ik wij ga".split()
)
# ... or says it must: "I need to speak to my boss", "wir müssen mit ... sprechen".
_MODAL = frozenset(
    fold(w)
    for w in "to need must gotta have will can could going muss mussen werde dois devons "
    "tengo debo tenemos preciso tenho precisamos devo dobbiamo должен нужно надо moet".split()
)

_REFERRAL_DIRECTIVE = _words(
    # en
    "please contact", "contact my", "contact our", "contact him", "contact her",
    "speak to", "speak with", "talk to", "talk with", "reach out to", "get in touch with",
    "please email", "please e-mail", "email him", "email her", "write to",
    "loop in", "looping in", "cc'd", "cc'ing", "cc-ing", "copied in", "copying in",
    "forwarded this to", "forwarded your email to", "forwarded your message to",
    "forwarded to", "forwarded it to", "i forwarded", "i've forwarded", "i have forwarded",
    "i cc'd", "i've cc'd", "i've copied", "i have copied", "i've looped in",
    "forward this to", "the right person is", "the best person is", "the right contact is",
    "you'll want", "you want to speak", "the one to talk to", "the person to talk to",
    "is responsible for", "is in charge of", "handles", "looks after", "runs our",
    "takes care of", "would be the one",
    # de
    "wenden sie sich an", "wenden sie sich bitte an", "wenden sie sich gerne an",
    "sprechen sie bitte mit", "bitte sprechen sie mit",
    "wende dich an", "melden sie sich bei", "melde dich bei", "schreiben sie an",
    "schreiben sie bitte an", "sprechen sie mit", "kontaktieren sie", "ansprechpartner ist",
    "ansprechpartnerin ist", "ansprechpartner dafur ist", "ansprechpartner hierfur ist",
    "ansprechpartnerin dafur ist", "ist~zustandig", "zustandig ist", "kummert sich",
    "habe ihre nachricht weitergeleitet", "weitergeleitet an", "in kopie",
    # fr
    "contactez", "contacter", "ecrivez a", "ecrivez plutot a", "ecrire a", "adressez-vous a",
    "vous adresser a", "de voir avec", "faut voir avec", "voyez avec", "s'occupe de", "s'en occupe",
    "est en charge", "qui gere", "s'en charge", "est charge de", "le bon interlocuteur est", "la bonne personne est", "transmis a",
    "en copie",
    # es
    "contacta con", "contacte con", "contactar con", "contacta a", "habla con", "hable con",
    "hablar con", "escribele", "escribale", "escribe a", "dirigete a", "te paso su",
    "le paso su", "su correo es", "el responsable~ es", "la responsable~ es", "lo lleva",
    "se encarga", "te pongo en copia", "en copia",
    # pt
    "fale com", "fala com", "falar com", "procure o", "procure a", "entre em contato com",
    "entrar em contato com", "contate", "escreva para", "escreve para", "o responsavel~ e o",
    "o responsavel~ e a", "a responsavel~ e a", "a responsavel~ e o", "quem cuida", "cuida disso", "em copia",
    # it
    "contatta", "contattate", "contattare", "scrivi a", "scrivete a", "scrivere a",
    "rivolgiti a", "rivolgersi a", "si rivolga a", "parla con", "parlare con",
    "se ne occupa", "si occupa", "in copia",
    # ru
    "обратитесь к", "обращайтесь к", "свяжитесь с", "напишите ему", "напишите ей",
    "пишите ему", "пишите ей", "его почта", "ее почта", "его адрес", "ее адрес",
    "занимается", "отвечает за", "ответственный", "ответственная", "в копии",
    "поставил в копию",
    # nl
    "neem contact op met", "contact opnemen met", "mail naar", "spreek met", "wend je tot",
    "wendt u zich tot", "gaat hierover", "gaat daarover", "is verantwoordelijk",
    "moet je bij", "moet u bij", "in de cc",
)  # fmt: skip

_WRONG_PERSON = _words(
    # en
    "not the right person", "not the right contact", "not the best person",
    "not the correct person", "not the person", "wrong person", "wrong contact",
    "no longer work", "no longer with", "no longer at", "no longer employed",
    "don't work there", "dont work there", "don't work at", "do not work at",
    "left the company", "left the business", "i've left", "i have left", "not responsible",
    "not in charge", "don't handle", "dont handle", "do not handle", "not my area",
    "not my department", "not my remit", "not something i handle", "don't deal with",
    "not involved in", "i've retired", "i have retired", "i retired", "sorry, wrong",
    "you have the wrong", "got the wrong", "wrong email", "wrong address", "different role",
    "new role", "don't cover", "no longer cover", "no longer handle", "not my job",
    # de
    "nicht zustandig", "nicht der richtige", "nicht die richtige", "falsche ansprechpartner",
    "falschen ansprechpartner", "falsche ansprechpartnerin", "bei mir falsch",
    "bei mir leider falsch", "nicht mehr bei", "nicht mehr in der", "nicht mehr im",
    "nicht mehr tatig", "arbeite nicht mehr", "nicht mehr fur", "verlassen", "nicht verantwortlich",
    "nicht mein bereich", "nicht mein thema",
    # fr
    "pas la bonne personne", "pas le bon interlocuteur", "pas le bon contact",
    "pas la bonne interlocutrice", "ne travaille plus", "ne suis plus chez",
    "ne fais plus partie", "plus en poste", "ai quitte", "ne gere pas", "ne gere plus", "pas en charge", "ne m'occupe pas", "ne m'occupe plus",
    "pas de mon ressort", "pas mon domaine", "pas responsable",
    # es
    "no soy la persona", "no soy el indicado", "no soy la indicada", "persona equivocada",
    "ya no trabajo", "ya no estoy en", "no trabajo en", "deje la empresa", "no me encargo",
    "no llevo", "no es mi area", "no soy responsable", "no soy el responsable",
    "no soy la responsable", "de mi competencia",
    # pt
    "nao sou a pessoa", "nao sou o responsavel", "nao sou a responsavel", "pessoa errada",
    "nao trabalho mais", "ja nao trabalho", "nao estou mais na", "nao estou mais no",
    "sai da empresa", "nao sou eu quem", "nao cuido", "nao e comigo", "nao e minha area",
    # it
    "non sono la persona", "persona sbagliata", "non lavoro piu", "non sono piu in",
    "non sono piu presso", "ho lasciato", "non sono io il responsabile",
    "non sono il responsabile", "non mi occupo", "di mia competenza", "non e il mio ambito",
    "non e il mio settore", "non e il mio campo", "not my field",
    # ru
    "не работаю", "уволил*", "не занимаюсь", "не отвечаю за", "не ко мне", "не по адресу",
    "не тот человек", "не тому человеку", "не моя зона", "не в моей компетенции",
    # nl
    "niet de juiste persoon", "niet de juiste contactpersoon", "werk hier niet meer",
    "werk niet meer", "niet meer werkzaam", "niet verantwoordelijk", "ga hier niet over",
    "ga daar niet over", "verkeerde persoon",
)  # fmt: skip

# Explicit meeting asks/proposals (negatable: "no need for a call").
_MEETING = _words(
    # en
    "call", "phone", "meeting", "meet", "zoom", "google meet", "ms teams", "via teams",
    "on teams", "per teams", "uber teams", "sur teams", "por teams", "su teams", "calendar",
    "calendly", "invite", "schedule a", "schedule some", "schedule time", "schedule something",
    "let's schedule", "book a", "book some time", "can we talk", "could we talk", "we can talk", "grab a slot", "grab a time", "slot",
    "let's talk", "lets talk", "let's chat", "lets chat", "let's connect", "let's speak",
    "happy to chat", "happy to talk", "happy to connect", "love to chat", "hop on",
    "jump on", "catch up", "demo", "walkthrough", "# min", "# mins", "# minutes",
    "quick chat", "chat", "ring me", "a few times", "some times", "times that work",
    "time that works", "when works", "when are you free", "when do you have time",
    "when can we", "wann hatten sie zeit", "wann haben sie zeit", "wann passt es",
    "uns sprechen", "sprechen uns", "quand etes-vous", "quand seriez-vous", "cuando podemos",
    "cuando puedes", "cuando tienes", "quando podemos", "quando voce pode", "quando sei",
    "quando possiamo", "когда удобно", "когда вам удобно", "wanneer heb je tijd",
    "wanneer kunnen we",
    # de
    "telefonieren", "telefonat", "telefonisch", "anrufen", "rufen sie mich", "ruf mich",
    "gesprach", "termin", "termine", "terminvorschl*", "terminanfrage", "uns treffen",
    "treffen uns", "treffen wir", "ein treffen", "einem treffen", "einladung", "kalender", "kurz sprechen",
    "sprechen wir", "konnen wir sprechen", "austauschen", "videocall", "video-call",
    # fr
    "appeler", "s'appeler", "appelez-moi", "appel", "telephone", "rendez-vous", "rdv",
    "reunion", "rencontrer", "se voir", "visio", "invitation", "calendrier", "creneau",
    "en parler", "echanger",
    # es
    "llamada", "llamar", "llamame", "llamarte", "reunirnos", "reunamos", "videollamada",
    "hablemos", "hablar por telefono", "agendar", "agendemos", "calendario", "invitacion",
    "hueco", "cita", "charlar", "quedamos",
    # pt
    "reuniao", "ligar", "me liga", "ligacao", "chamada", "videochamada", "conversar",
    "conversarmos", "marcar", "link de agenda", "minha agenda", "sua agenda", "convite",
    "horario", "bater um papo",
    # it
    "chiamata", "chiamami", "chiamarci", "mi chiami", "chiamatemi", "telefono", "telefonata", "sentirci",
    "ci sentiamo", "sentiamoci", "appuntamento", "incontro", "incontrarci", "vederci",
    "riunione", "fissare", "fissiamo", "videochiamata", "parlarne",
    # ru
    "созвон*", "позвон*", "перезвон*", "звонок", "звонк*", "встреч*", "встрет*", "по телефону",
    "поговорить", "поговорим", "обсудить", "обсудим", "календар*", "приглашени*", "зум",
    "демо",
    # nl
    "bellen", "bel me", "bel maar", "bel gerust", "bel even", "belletje", "afspraak", "gesprek", "uitnodiging", "mijn agenda",
    "kalender", "langskomen", "kennismaken",
)  # fmt: skip

# A concrete day or hour: decides meeting over not_now, and with "free"/"?" makes a meeting.
_TIME_REF = _words(
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "tue",
    "tues", "wed", "thu", "thurs", "fri", "tomorrow", "tmrw", "today at", "later today", "tonight",
    "this afternoon", "next week", "this week", "montag", "dienstag", "mittwoch",
    "donnerstag", "freitag", "samstag", "sonntag", "nachste woche",
    "kommende woche", "diese woche", "lundi", "mardi", "mercredi", "jeudi", "vendredi",
    "samedi", "demain", "semaine prochaine", "cette semaine", "lunes",
    "martes", "miercoles", "jueves", "viernes", "sabado", "domingo", "manana",
    "proxima semana", "semana que viene", "esta semana", "segunda", "terca", "quarta",
    "quinta", "sexta", "amanha", "semana que vem", "lunedi", "martedi",
    "mercoledi", "giovedi", "venerdi", "domani", "prossima settimana",
    "questa settimana", "понедельник*", "вторник*", "среду", "среда", "четверг*",
    "пятниц*", "суббот*", "воскресень*", "завтра", "на следующей неделе",
    "на этой неделе", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag",
    "volgende week", "deze week", "#:#", "#h#", "#h", "# h", "#am", "# am",
    "#pm", "# pm", "# uhr", "# hs", "at #", "um #", "a las #", "as #", "alle #", "в #",
    "om #", "vers #", "verso le #",
)  # fmt: skip
_TOMORROW_DE = re.compile(r"\bmorgen\b")
_GOOD_MORNING = re.compile(r"\b(?:guten|goede) morgen\b")
_AVAILABLE = _words(
    "free", "available", "availability", "works for me", "work for you", "works for you",
    "does that work", "how about", "what about", "suit", "suits", "around", "frei", "erreichbar",
    "passt", "verfugbar", "zeit", "dispo", "disponible", "ca vous va", "vous convient",
    "libre", "te viene bien", "le viene bien", "te va bien", "livre", "disponivel",
    "disponibilidade", "pode ser", "fica bom", "libero", "libera", "disponibile", "va bene",
    "ti va", "удобно", "свободен", "свободна", "могу", "подойдет", "schikt", "past",
    "beschikbaar", "vrij",
)  # fmt: skip

_NOT_NOW = _words(
    # en
    "not now", "not right now", "not at the moment", "not at this time", "not at this stage",
    "not a good time", "bad time", "not the right time", "timing isn't right",
    "timing is not", "timing is bad", "busy", "swamped", "slammed", "snowed under",
    "maybe later", "later this year", "later in the year", "next quarter", "next year",
    "in a few months", "in a couple of months", "in # months", "circle back",
    "check back", "follow up in", "follow up next", "follow up after", "reach out in",
    "reach out again", "reach out next", "ping me in", "ping me again", "ping me after",
    "try me again", "try again in", "revisit", "not a priority", "no budget",
    "don't have budget", "don't have the budget", "budget is tight", "no hay presupuesto",
    "nao temos orcamento", "non abbiamo budget",
    "after the holidays", "after summer", "after the summer", "in the new year", "too early",
    "at the earliest", "fruhestens", "au plus tot", "como muy pronto", "wieder ein thema",
    "pas le budget", "no time", "pas le temps", "no tengo tiempo", "sem tempo",
    "non ho tempo", "нет времени", "next month", "nachsten monat", "le mois prochain",
    "mes que viene", "proximo mes", "mes que vem", "prossimo mese", "mese prossimo",
    "volgende maand",
    "too soon", "second half", "zu fruh", "zweiten halbjahr", "trop tot", "revenez vers",
    "second semestre", "au t1", "au t2", "au t3", "au t4", "demasiado pronto",
    "segundo semestre", "muito cedo", "troppo presto", "secondo semestre", "рано",
    "втором полугодии", "te vroeg", "tweede helft",
    "after the new year",
    # de
    "passt es zeitlich", "zeitlich nicht", "zeitlich schlecht", "keine zeit", "keine kapazit*",
    "spater", "zu einem spateren zeitpunkt", "nachstes jahr", "nachsten jahr",
    "nachsten quartal", "nachstes quartal", "kommendes jahr", "im herbst", "im fruhjahr",
    "im fruhling", "im sommer", "im winter", "im neuen jahr", "nach dem sommer",
    "kein budget", "gerne wieder",
    # fr
    "pas le bon moment", "pas pour l'instant", "pas maintenant", "pas en ce moment",
    "plus tard", "l'annee prochaine", "l'an prochain", "trimestre prochain",
    "prochain trimestre", "dans quelques mois", "dans # mois", "revenez vers moi",
    "recontactez-moi", "recontacter", "reprenez contact", "relancez-moi", "debord*",
    "apres l'ete", "a la rentree", "pas de budget", "pas prioritaire", "pas une priorite",
    # es
    "no es buen momento", "no es el momento", "mas adelante", "mas tarde",
    "proximo trimestre", "proximo ano", "el ano que viene", "liados", "liado", "a tope",
    "ocupados", "ocupado", "vuelve a escribirme", "escribeme en", "vuelve a contactar*",
    "contactame en", "dentro de unos meses", "sin presupuesto", "no tenemos presupuesto",
    "despues del verano", "no es prioridad",
    # pt
    "nao e um bom momento", "nao e o momento", "mais para frente", "mais pra frente",
    "proximo ano", "ano que vem", "corrido", "sem orcamento", "me procure",
    "volte a falar", "fale comigo depois", "fala comigo depois", "daqui a alguns meses",
    "nao e prioridade",
    # it
    "non e il momento", "piu avanti", "piu tardi", "prossimo anno", "l'anno prossimo",
    "prossimo trimestre", "impegnati", "impegnato", "impegnata", "pieni di lavoro",
    "ricontattami", "ricontattarmi", "riscrivimi", "risentiamoci", "risentirci",
    "dopo l'estate", "dopo le vacanze", "tra qualche mese", "fra qualche mese",
    "non e una priorita", "nessun budget",
    # ru
    "не сейчас", "неподходящее время", "не лучшее время", "не до этого", "позже", "позднее",
    "в следующем квартале", "в следующем году", "в следующем месяце", "после нового года",
    "после праздников", "заняты", "занят", "загружены", "через месяц", "через пару месяцев",
    "через полгода", "через несколько месяцев", "вернемся к этому", "вернуться к этому",
    "нет бюджета", "не приоритет",
    # nl
    "nu even niet", "nu niet", "later", "volgend kwartaal", "volgend jaar", "druk",
    "na de zomer", "over een paar maanden", "geen budget", "geen tijd", "daarna nog eens",
    "later nog eens", "nog eens contact",
    "geen prioriteit",
    # quarters, halves
    "q1", "q2", "q3", "q4", "h2",
)  # fmt: skip
_MONTH_LATER = re.compile(
    r"\b(?:in|until|till|after|from|by|around|end of|early|late|mid|im|ab|bis|nach|anfang|"
    r"ende|mitte|en|jusqu'en|apres|a partir de|debut|fin|hasta|despues de|em|ate|depois de|"
    r"a|fino a|dopo|da|entro|verso|в|до|после|с|к|tot|na|vanaf|begin|eind) "
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|januar|februar|marz|mai|juni|juli|oktober|dezember|janvier|fevrier|mars|"
    r"avril|juin|juillet|aout|septembre|octobre|novembre|decembre|enero|febrero|marzo|abril|"
    r"mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|janeiro|"
    r"fevereiro|marco|maio|junho|julho|setembro|outubro|novembro|dezembro|gennaio|febbraio|"
    r"aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|januari|februari|maart|mei|"
    r"augustus|январ\w*|феврал\w*|март\w*|апрел\w*|мая|мае|июн\w*|июл\w*|август\w*|"
    r"сентябр\w*|октябр\w*|ноябр\w*|декабр\w*)\b(?![@.]\w)"
)
# "right now" + a negation in the same clause, either order: "pas pour l'instant",
# "im Moment leider nicht", "сейчас не", "ahora no es buen momento".
# A year ahead: "frühestens 2026", "in 2027".
_YEAR_LATER = re.compile(
    r"\b(?:in|ab|bis|nach|until|after|from|en|em|nel|dal|в|до|после|na|vanaf) 20[2-9]\d\b"
)
_NOW = fold(
    r"(?:right now|at the moment|currently|at this time|for now|im moment|momentan|derzeit|"
    r"aktuell|zurzeit|gerade|en ce moment|pour l'instant|actuellement|pour le moment|ahora|"
    r"de momento|por ahora|en este momento|agora|no momento|por enquanto|neste momento|adesso|"
    r"ora|per ora|al momento|in questo momento|сейчас|пока|в данный момент|nu|op dit moment|"
    r"momenteel)"
)
_NOW_NEG = (
    r"(?:not|no|don't|doesn't|isn't|can't|won't|nicht|kein\w*|schlecht|pas|non|nao|не|нет|"
    r"niet|geen)"
)
_NOW_THEN_NEG = re.compile(rf"\b{_NOW}\b[^.!?\n]{{0,40}}\b{_NOW_NEG}\b")
_NEG_THEN_NOW = re.compile(rf"\b{_NOW_NEG}\b[^.!?\n]{{0,30}}\b{_NOW}\b")

_PRICE = _words(
    "price", "prices", "pricing", "cost", "costs", "how much", "fee", "fees", "quote",
    "preis", "preise", "kosten", "kostet", "tarif", "tarifs", "prix", "combien", "cout",
    "couts", "precio", "precios", "cuesta", "cuanto", "tarifa", "tarifas", "coste",
    "preco", "precos", "custa", "custos", "valor", "prezzo", "prezzi", "costa", "costo",
    "costi", "costes", "quanto",
    "цена", "цены", "цену", "стоимость", "стоит", "сколько", "прайс", "prijs", "prijzen",
    "kost",
)  # fmt: skip
_HOW_IT_WORKS = _words(
    "how does it work", "how does this work", "how it works", "wie funktioniert",
    "comment ca marche", "comment ca fonctionne", "como funciona", "come funziona",
    "как это работает", "как работает", "hoe werkt",
)  # fmt: skip
# An information-seeking cue, counted in a sentence that ends in "?".
_INFO_CUE = _words(
    # en
    "how", "what", "what's", "whats", "which", "where", "when", "why", "who", "is there",
    "are there", "do you", "does it", "does this", "does that", "are you", "is it",
    "will it", "can it", "do we", "is this", "can i", "do i", "does your",
    # de
    "wie", "wer", "was", "welche", "welcher", "welches", "wo", "wann", "warum", "gibt es",
    "haben sie", "bieten sie", "sind ihre", "ist es", "funktioniert", "kann man",
    # fr
    "comment", "quel", "quelle", "quels", "quelles", "ou", "quand", "pourquoi",
    "est-ce que", "avez-vous", "vous avez", "y a-t-il", "proposez-vous", "faites-vous", "quoi",
    # es
    "como", "que", "cual", "cuales", "donde", "cuando", "por que", "hay", "teneis",
    "tienen", "ofrecen", "funciona",
    # pt
    "qual", "quais", "onde", "voces tem", "voce tem", "existe", "vcs tem", "atendem",
    # it
    "quale", "quali", "dove", "perche", "avete", "offrite", "c'e", "ci sono", "funziona",
    # ru
    "как", "какой", "какая", "какие", "каков", "что", "где", "когда", "почему", "зачем",
    "есть ли", "ли", "у вас", "вы работаете",
    # nl
    "hoe", "wat", "welke", "waar", "wanneer", "waarom", "is er", "zijn er",
    "hebben jullie", "werkt",
    # "you" asked something: "vocês oferecem ...?", "вы ...?"
    "you", "your", "sie", "ihr", "ihre", "vous", "votre", "vos", "usted", "ustedes", "voces",
    "voce", "vcs", "voi", "vostro", "vostra", "вы", "вас", "ваш*", "jullie",
    # comparisons
    "difference", "different", "unterschied", "diferencia", "diferenca", "differenza",
    "отлич*", "разница", "verschil",
)  # fmt: skip
# A sentence opening with an interrogative asks even without "?": "what's the minimum term".
_QUESTION_START = re.compile(
    r"(?:^|[\n.!?] ?)(?:"
    + "|".join(
        re.escape(fold(w))
        for w in (
            "what's", "whats", "what is", "what are", "how does", "how do", "how much",
            "how many", "how long", "which", "where", "do you", "does it", "does this",
            "is there", "are there", "wie viel", "wieviel", "wie lange", "gibt es", "welche",
            "quel est", "quelle est", "quels sont", "est-ce que", "combien", "cual es",
            "cuanto", "cuales son", "qual e", "quais sao", "quanto", "quale", "quali sono",
            "какой", "какая", "какие", "сколько", "есть ли", "wat is", "hoeveel", "is er",
        )
    )
    + r")\b"
)  # fmt: skip
# A "?" sentence that asks for material or the next step is interest, not a question.
_MORE_PLEASE = _words(
    "tell me more", "send me more", "send more", "more info", "more information",
    "more details", "next step", "next steps", "the deck", "a deck", "one-pager",
    "case study", "brochure", "broschure", "plaquette", "folleto", "catalogo", "mehr info*",
    "mehr erfahren", "unterlagen", "wie geht es weiter",
    "en dire plus", "plus d'info*", "documentation", "une presentation", "la suite",
    "mas informacion", "mas info", "saber mas", "cuentame mas", "siguientes pasos",
    "mais informacoes", "mais detalhes", "saber mais", "apresentacao", "proximos passos",
    "material*", "di piu", "in piu", "presentazione", "prossimi passi", "подробнее",
    "подробност*", "презентаци*", "следующие шаги", "meer info*", "vertel me meer",
)  # fmt: skip

_INTERESTED = _words(
    # en
    "interested", "intrested", "interesting", "sounds good", "sounds great", "sounds interesting",
    "tell me more", "learn more", "more info", "more information", "more details",
    "send me the", "send over", "deck", "one-pager", "could be useful", "keen",
    "definitely consider", "love to", "makes sense",
    "relevant", "next step", "next steps", "curious", "love this", "love it", "would be great",
    "in action", "promising", "vielversprechend", "prometteur", "prometedor", "promissor",
    "promettente", "перспективно", "veelbelovend",
    # de
    "interessant", "interesse", "interessiert", "klingt gut", "klingt spannend",
    "hort sich gut an", "spannend", "mehr info*", "unterlagen", "erzahlen sie mir mehr",
    "gerne", "gern", "konnte passen",
    # fr
    "interesse*", "interessant", "interessante", "en dire plus", "plus d'info*",
    "documentation", "presentation", "pourquoi pas", "preneur", "nous parle", "me parle",
    "tres bien", "on reflechit",
    # es
    "me interesa", "nos interesa", "interesante", "interesados", "interesado",
    "cuentame mas", "saber mas", "mas informacion", "suena bien", "encajar", "encaja",
    "dossier",
    # pt
    "interessante", "interessados", "interessado", "me conta mais", "saber mais",
    "mais informacoes", "mais detalhes", "apresentacao", "faz sentido", "gostei", "boa ideia",
    # it
    "interessa", "interessanti", "interessat*", "interesad*", "interessad*", "saperne di piu", "di piu", "in piu",
    "presentazione", "materiale", "fare al caso", "valutando",
    # ru
    "интересн*", "подробнее", "подробност*", "узнать больше", "презентаци*", "подойти",
    "подходит", "звучит", "присылайте", "пришлите",
    # nl
    "interessant", "vertel me meer", "meer info*", "klinkt goed", "lijkt me",
)  # fmt: skip
# "Yes", "sure", "sí", "да" ... at the start of a clause (elsewhere "si" is "if", "ja" "already").
_YES = re.compile(
    r"(?:^|[\n.,;!] ?)(?:"
    + "|".join(
        re.escape(fold(w))
        for w in (
            "yes", "yep", "yeah", "sure", "absolutely", "definitely", "of course", "ja",
            "jawohl", "klar", "super", "oui", "avec plaisir", "parfait", "si", "claro",
            "genial", "perfecto", "con gusto", "sim", "legal", "perfeito", "com certeza",
            "certo", "ottimo", "perfetto", "volentieri", "да", "ага", "конечно", "zeker",
            "natuurlijk",
        )
    )
    + r")\b"
)  # fmt: skip
# A reply that declines turns weak interest ("looks nice, but we already have one") to other.
_DECLINE = _words(
    "already have", "already use", "already using", "already work with", "already got",
    "we're covered", "all set", "no need", "don't need", "do not need", "happy with our",
    "bereits", "schon einen", "kein bedarf", "brauchen wir nicht", "deja", "pas besoin",
    "ya tenemos", "ya usamos", "ya contamos", "no lo necesitamos", "no necesitamos",
    "ja temos", "ja usamos", "nao precisamos", "abbiamo gia", "usiamo gia", "non ci serve",
    "non abbiamo bisogno", "уже есть", "уже работаем", "не нужно", "не нуждаемся",
    "hebben al", "geen behoefte", "niet nodig",
)  # fmt: skip


def _normalise(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    # Lines kept (a line ends a clause), blanks dropped, space runs made one: str methods,
    # not a regex, since r"\s*\n\s*" backtracks quadratically on a long run of spaces.
    lines = (" ".join(line.split()) for line in fold(text).splitlines())
    return "\n".join(line for line in lines if line)


def _negated(folded: str, start: int) -> bool:
    clause = _CLAUSE_END.split(folded[max(0, start - 40) : start])[-1]
    words = clause.split()[-4:]
    return bool(words) and _NEGATION.search(" ".join(words)) is not None


def _negated_after(folded: str, end: int) -> bool:
    clause = _CLAUSE_END.split(folded[end : end + 30])[0]
    return bool(_NEGATION_AFTER.intersection(clause.split()[:2]))


def _found(pattern: re.Pattern[str], folded: str) -> bool:
    """A match of ``pattern`` not negated in its clause."""
    return any(
        not _negated(folded, m.start()) and not _negated_after(folded, m.end())
        for m in pattern.finditer(folded)
    )


def _words_before(folded: str, start: int, n: int) -> list[str]:
    clause = _CLAUSE_END.split(folded[max(0, start - 60) : start])[-1]
    return clause.split()[-n:]


def _word_before(folded: str, start: int) -> str:
    words = _words_before(folded, start, 1)
    return words[-1] if words else ""


def _word_after(folded: str, end: int) -> str:
    words = folded[end : end + 20].split()
    return words[0].strip("-,;:") if words else ""


def _is_referral(folded: str) -> bool:
    for m in _REFERRAL_DIRECTIVE.finditer(folded):
        if _negated(folded, m.start()):
            continue
        before = _word_before(folded, m.start())
        if before in _SELF or before in _WHO or before in _FIRST:
            continue
        if before in _MODAL and _FIRST.intersection(_words_before(folded, m.start(), 4)):
            continue
        if _word_after(folded, m.end()) in _SELF:
            continue
        return True
    for m in _EMAIL.finditer(folded):
        before = _CLAUSE_END.split(folded[max(0, m.start() - 40) : m.start()])[-1]
        if not any(w in _SELF or w in _MY for w in before.split()):
            return True
    return False


def _has_time(folded: str) -> bool:
    if _TIME_REF.search(folded):
        return True
    m = _TOMORROW_DE.search(folded)
    return m is not None and not _GOOD_MORNING.search(folded)


def _is_not_now(folded: str) -> bool:
    return bool(
        _NOT_NOW.search(folded)
        or _MONTH_LATER.search(folded)
        or _YEAR_LATER.search(folded)
        or _NOW_THEN_NEG.search(folded)
        or _NEG_THEN_NOW.search(folded)
    )


def _is_question(folded: str) -> bool:
    if _found(_PRICE, folded) or _HOW_IT_WORKS.search(folded):
        return True
    for m in _SENTENCE.finditer(folded):
        sentence = m.group(0)
        if _MORE_PLEASE.search(sentence):
            continue
        if _QUESTION_START.match(sentence.strip()):
            return True
        if "?" not in sentence:
            continue
        if "¿" in sentence or _INFO_CUE.search(sentence):
            return True
    return False


def _classify(folded: str) -> Intent:
    if not folded:
        return Intent.OTHER
    if _is_referral(folded):
        return Intent.REFERRAL
    if _WRONG_PERSON.search(folded):
        return Intent.WRONG_PERSON
    not_now = _is_not_now(folded)
    has_time = _has_time(folded)
    if _found(_MEETING, folded) and (has_time or not not_now):
        return Intent.MEETING
    if has_time and not not_now and ("?" in folded or _AVAILABLE.search(folded)):
        return Intent.MEETING
    if not_now:
        return Intent.NOT_NOW
    if _is_question(folded):
        return Intent.QUESTION
    interested = _found(_INTERESTED, folded) or _found(_MORE_PLEASE, folded) or _YES.search(folded)
    if interested and not _DECLINE.search(folded):
        return Intent.INTERESTED
    return Intent.OTHER


def classify_intent(text: str, subject: str = "") -> Intent:
    """The intent of a human reply's new text, so the inbox can sort and answer it first.

    Never raises and returns quickly on any input: both strings are capped before any work.
    The subject only counts when the text yields ``other`` and the subject is not a reply to
    ours (no "Re:"), since a quoted-back subject is our words, not the prospect's.
    """
    intent = _classify(_normalise(text[:TEXT_MAX]))
    if intent is Intent.OTHER and subject:
        subject = subject[:SUBJECT_MAX]
        if not _SUBJECT_PREFIX.match(subject.lstrip()):
            intent = _classify(_normalise(subject))
    return intent
