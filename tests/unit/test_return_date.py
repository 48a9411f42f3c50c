"""Reading the last day away out of out-of-office replies (engine.inbox.return_date).

The table holds whole auto-replies as Outlook, Gmail and other responders send them, each read
on a given day. "Today" is Monday 4 January 2027 unless a case says otherwise; the weekday
names in the texts are the real ones for those dates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.inbox.return_date import TEXT_MAX, away_until, next_working_day

CET = timezone(timedelta(hours=1))
MON_4_JAN = datetime(2027, 1, 4, 9, 30, tzinfo=CET)
SUN_20_DEC = datetime(2026, 12, 20, 18, 0, tzinfo=CET)
SAT_10_APR = datetime(2027, 4, 10, 8, 0, tzinfo=timezone(timedelta(hours=2)))

# (id, text, received, expected last day away or None)
CASES: list[tuple[str, str, datetime, date | None]] = [
    # ------------------------------------------------------------------ English
    (
        "en-outlook-until-weekday-date-year",
        "Thank you for your email.\n\nI am currently out of the office with limited access to "
        "email until Tuesday 12 January 2027. I will respond to your message on my return.\n\n"
        "Kind regards,\nJane Doe\nHead of Procurement",
        MON_4_JAN,
        date(2027, 1, 12),
    ),
    (
        "en-gmail-back-on-md-ordinal",
        "Hi,\n\nI'm on annual leave and will be back on Wednesday, January 13th. For urgent "
        "matters please contact bob@acme.example.\n\nThanks,\nJane",
        MON_4_JAN,
        date(2027, 1, 12),
    ),
    (
        "en-year-rollover-back-on",
        "Hello,\n\nOur office is closed for the holidays. I'll be back on 7 January.\n\n"
        "Merry Christmas and a happy new year!\nTom",
        SUN_20_DEC,
        date(2027, 1, 6),
    ),
    (
        "en-year-rollover-until",
        "Automatic reply: I am out of the office until 5 January with no access to email.",
        SUN_20_DEC,
        date(2027, 1, 5),
    ),
    (
        "en-march-named-in-april-is-next-march-too-far",
        "Thank you for your message. I am out of the office until 2 March.\n\nBest,\nAnna",
        SAT_10_APR,
        None,
    ),
    (
        "en-explicit-past-year",
        "I am out of the office until 2 March 2027. Please contact sales@acme.example.",
        SAT_10_APR,
        None,
    ),
    (
        "en-more-than-six-months",
        "Hello, I am on parental leave until 30 September 2027. My colleague Sam covers my "
        "accounts.\nRegards, Priya",
        MON_4_JAN,
        None,
    ),
    (
        "en-183-days-is-the-last-allowed",
        "I'm on sabbatical until 6 July. Emails will not be forwarded.",
        MON_4_JAN,
        date(2027, 7, 6),
    ),
    (
        "en-184-days-is-too-far",
        "I'm on sabbatical until 7 July. Emails will not be forwarded.",
        MON_4_JAN,
        None,
    ),
    (
        "en-31-february",
        "Hi there, I'm out until 31 February. Cheers, Max",
        MON_4_JAN,
        None,
    ),
    (
        "en-no-cue-only-a-sent-date",
        "Thanks for your email of 3 January. I am out of the office with no access to email "
        "and will reply as soon as I can.\n\nKind regards,\nLiam",
        MON_4_JAN,
        None,
    ),
    (
        "en-sent-date-and-return-date",
        "Your message sent on 4 January 2027 has been received.\n\nI am away and will return on "
        "18 January 2027.\n\nBest wishes,\nOlivia",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "en-range-from-to",
        "Hello,\nI'm on holiday from 3 to 12 January with no access to email. I'll reply when "
        "I'm back.\nBest, Noah",
        MON_4_JAN,
        date(2027, 1, 12),
    ),
    (
        "en-range-between-and",
        "Please note that I am away between 4 and 15 January. For anything urgent call the office.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "en-range-month-day-bare-end",
        "I am travelling from January 4 to 15 and checking email only occasionally.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "en-range-bare-end-before-its-start",
        "I'm away January 28-3, sorry for the slow reply.",
        SUN_20_DEC,
        None,
    ),
    (
        "en-range-dash",
        "Out of office 4-15 January. Back soon!",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "en-through-md",
        "I will be out of the office through January 15, 2027. I will respond when I return.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "en-return-ordinal-of",
        "Good morning. I return on the 13th of January and will answer your email then.",
        MON_4_JAN,
        date(2027, 1, 12),
    ),
    (
        "en-wont-be-back-until",
        "I won't be back until Monday 18 January. Apologies for the delay.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "en-until-further-notice-then-a-date",
        "I'm out of the office until further notice. Your email of 3 January has been "
        "forwarded to my team.",
        MON_4_JAN,
        None,
    ),
    (
        "en-clock-time-before-the-date",
        "I will be out of the office until 5 pm on Friday 8 January. Thanks for your patience.",
        MON_4_JAN,
        date(2027, 1, 8),
    ),
    (
        "en-returning-weekday-date",
        "Hi! I'm currently travelling, returning Monday 18 January. Talk soon, Ava",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "en-weekday-only",
        "I'm out of the office until Monday. Please resend anything urgent then.",
        MON_4_JAN,
        None,
    ),
    (
        "en-day-without-month",
        "Thanks for reaching out. I am back after the 12th.",
        MON_4_JAN,
        None,
    ),
    (
        "en-back-today-is-not-away",
        "Out of office: I'm back on 4 January.",
        MON_4_JAN,
        None,
    ),
    (
        "en-back-tomorrow-means-away-today",
        "Out of office: I'm back on 5 January.",
        MON_4_JAN,
        date(2027, 1, 4),
    ),
    (
        "en-until-beats-a-later-return-statement",
        "I'll be back on Monday 18 January.\nI'm out of the office until Friday 15 January and "
        "have no access to email.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "en-gmail-quote-header-after-the-reply",
        "I'm away until January 15.\n\nOn Mon, Jan 4, 2027 at 9:12 AM Sam <sam@ourdomain.com> "
        "wrote:\n> Hi Jane, quick question about next week",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "en-iso",
        "Out of office until 2027-01-12. For support write to help@acme.example.",
        MON_4_JAN,
        date(2027, 1, 12),
    ),
    (
        "en-slash-month-day-unambiguous",
        "I am out of the office until 01/15/2027. Please expect a delayed response.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "en-slash-day-month-unambiguous",
        "Hello, I'm on leave. Back on 13/01/2027.\nRegards, Harry",
        MON_4_JAN,
        date(2027, 1, 12),
    ),
    (
        "en-slash-ambiguous-no-hint",
        "I am out of the office until 02/03/2027. Please expect a delayed response.",
        MON_4_JAN,
        None,
    ),
    (
        "en-slash-ambiguous-weekday-decides",
        "I am out of the office until Tuesday 01/12/2027. Please expect a delayed response.",
        MON_4_JAN,
        date(2027, 1, 12),
    ),
    (
        "en-slash-ambiguous-written-dates-say-month-first",
        "I'm out of office until 01/08 and back in on Monday, January 11.",
        MON_4_JAN,
        date(2027, 1, 8),
    ),
    (
        "en-slash-ambiguous-written-dates-say-day-first",
        "I'm out of office until 08/01 and back in on Monday 11 January.",
        MON_4_JAN,
        date(2027, 1, 8),
    ),
    (
        "en-available-from",
        "Thank you for your email. I will be available from 13 January.",
        MON_4_JAN,
        date(2027, 1, 12),
    ),
    (
        "en-away-from-a-date-only",
        "I am out of the office from 3 January and will return on Monday.",
        MON_4_JAN,
        None,
    ),
    (
        "en-tz-local-day-not-utc",
        "I'm out of the office until 11 January.",
        datetime(2027, 1, 11, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
        date(2027, 1, 11),
    ),
    (
        "en-leap-day",
        "On leave until 29 February, back on 1 March.",
        datetime(2028, 1, 10, 9, 0, tzinfo=CET),
        date(2028, 2, 29),
    ),
    (
        "en-from-a-date-back-soon",
        "Hi, I am on leave from Monday 4 January, back soon. Happy holidays!",
        SUN_20_DEC,
        None,
    ),
    (
        "en-thanks-again-and-a-meeting-date",
        "Thanks again for your message about our call on 15 January. I'm out of the office and "
        "will reply when I'm back.",
        SUN_20_DEC,
        None,
    ),
    (
        "en-decimal-is-not-a-date",
        "I'm on a course and will be back in 2.5 weeks. Best, Ella",
        MON_4_JAN,
        None,
    ),
    (
        "en-in-the-office-again",
        "Hello, I'll be in the office again on Monday 18 January. Regards, Ben",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    # ------------------------------------------------------------------ German
    (
        "de-bis-einschliesslich",
        "Sehr geehrte Damen und Herren,\n\nvielen Dank für Ihre Nachricht. Ich bin bis "
        "einschließlich 15. Januar 2027 nicht im Büro. In dringenden Fällen wenden Sie sich "
        "bitte an info@firma.example.\n\nMit freundlichen Grüßen\nKlaus Müller",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "de-ab-dem-wieder-im-buero",
        "Guten Tag,\nich bin im Urlaub. Ab dem 18.1. bin ich wieder im Büro.\nViele Grüße",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "de-vom-bis-range",
        "Hallo,\nich bin vom 4. bis 15. Januar im Urlaub und lese keine E-Mails.\nBeste Grüße\n"
        "Anna",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "de-bis-dotted-full-year",
        "Vielen Dank für Ihre E-Mail. Ich bin bis 15.01.2027 abwesend.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "de-bis-dotted-two-digit-year",
        "Abwesenheitsnotiz: bis 15.01.27 nicht erreichbar.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "de-am-weekday-wieder-erreichbar",
        "Ich bin am Montag, den 18.01. wieder erreichbar.\nMit freundlichen Grüßen",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "de-ab-dem-nicht-erreichbar",
        "Ab dem 5.1. bin ich nicht erreichbar. Vielen Dank.",
        MON_4_JAN,
        None,
    ),
    (
        "de-ab-dem-start-only",
        "Ab dem 3. Januar bin ich im Urlaub. Ihre Nachricht wird nicht weitergeleitet.",
        MON_4_JAN,
        None,
    ),
    (
        "de-maerz-with-uhr",
        "Ich bin bis zum 2. März, 12 Uhr nicht erreichbar.",
        MON_4_JAN,
        date(2027, 3, 2),
    ),
    (
        "de-zurueck-am",
        "Zurück am 18.01. – bis dahin lese ich keine Mails.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "de-bis-day-dot-month-no-closing-dot",
        "Hallo, ich bin bis 15.1 nicht erreichbar. Gruß, Jan",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "de-year-before-a-full-stop",
        "Ich bin bis 15.01.2027. Danach bin ich wieder da.",
        datetime(2026, 1, 10, 9, 0, tzinfo=CET),
        None,
    ),
    (
        "de-thirteenth-month",
        "Ich bin bis 15.13.2027 nicht im Büro.",
        MON_4_JAN,
        None,
    ),
    (
        "de-nicht-erreichbar-from-a-date",
        "Ab dem 5.1. bin ich nicht per E-Mail erreichbar.",
        MON_4_JAN,
        None,
    ),
    # ------------------------------------------------------------------ French
    (
        "fr-du-au-inclus",
        "Bonjour,\n\nJe suis absent du 4 au 15 janvier inclus.\n\nCordialement,\nPierre",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "fr-de-retour-le-lundi",
        "Merci pour votre message. Je serai de retour le lundi 18 janvier.\nBien à vous",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "fr-jusquau-abbreviated-month",
        "Bonjour, je suis en congés jusqu'au 15 janv. 2027. Bonne journée !",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "fr-a-partir-du-de-nouveau-disponible",
        "À partir du 18 janvier, je serai de nouveau disponible. Merci de votre patience.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "fr-premier-fevrier",
        "Je suis absente jusqu’au 1er février. Cordialement, Claire",
        MON_4_JAN,
        date(2027, 2, 1),
    ),
    (
        "fr-curly-apostrophe-weekday",
        "Je suis absente jusqu’au vendredi 15 janvier. Pour toute urgence : 01 23 45 67 89.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "fr-pas-de-retour-avant",
        "Bonjour, je ne serai pas de retour avant le 18 janvier. Merci.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "fr-fevr-abbreviation",
        "Réponse automatique : je suis en déplacement jusqu'au 5 févr. Merci.",
        MON_4_JAN,
        date(2027, 2, 5),
    ),
    # ------------------------------------------------------------------ Spanish
    (
        "es-hasta-el-lunes",
        "Hola,\n\nestaré fuera de la oficina hasta el lunes 18 de enero.\n\nUn saludo,\nLucía",
        MON_4_JAN,
        date(2027, 1, 18),
    ),
    (
        "es-del-al-range",
        "Gracias por su mensaje. Estoy de vacaciones del 4 al 15 de enero.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "es-volvere-with-year",
        "Respuesta automática: volveré el 18 de enero de 2027. Saludos cordiales.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "es-de-vuelta-a-partir-del",
        "Estaré de vuelta a partir del 18 de enero. Para urgencias, escriba a ventas@x.example.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "es-no-volvere-hasta",
        "Buenos días. No volveré hasta el lunes 18 de enero. Gracias por su paciencia.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "es-slash-is-day-month",
        "Estoy fuera de la oficina hasta el 05/02. Gracias.",
        MON_4_JAN,
        date(2027, 2, 5),
    ),
    (
        "es-regreso-primero",
        "Regreso el 1º de febrero. Atentamente, Javier",
        MON_4_JAN,
        date(2027, 1, 31),
    ),
    # ------------------------------------------------------------------ Portuguese
    (
        "pt-ate-dia",
        "Olá,\nestou de férias até dia 15 de janeiro.\nAbraços,\nJoão",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "pt-de-volta-a-partir-de",
        "Obrigado pelo seu e-mail. Estarei de volta a partir de 18 de janeiro.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "pt-retorno-slash",
        "Estou fora do escritório. Retorno no dia 18/01.\nAtenciosamente",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "pt-de-a-range",
        "Estou ausente de 4 a 15 de janeiro de 2027, sem acesso ao e-mail.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "pt-ate-a-proxima-segunda-feira",
        "Estarei ausente até à próxima segunda-feira, dia 11 de janeiro. Cumprimentos",
        MON_4_JAN,
        date(2027, 1, 11),
    ),
    # ------------------------------------------------------------------ Italian
    (
        "it-fino-al",
        "Buongiorno,\nsono fuori ufficio fino al 15 gennaio.\nCordiali saluti\nMarco",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "it-rientrero-lunedi",
        "Grazie per la sua email. Rientrerò in ufficio lunedì 18 gennaio.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "it-dal-al-with-year",
        "Sarò assente dal 4 al 15 gennaio 2027 con accesso limitato alla posta.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "it-di-ritorno-degree-ordinal",
        "Sono in viaggio, sarò di ritorno il 1° febbraio. Saluti, Giulia",
        MON_4_JAN,
        date(2027, 1, 31),
    ),
    (
        "it-non-rientrero-fino-al",
        "Gentile cliente, non rientrerò fino al 18 gennaio. Cordialmente, Paolo",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "it-da-a-weekdays",
        "Sarò fuori sede da lunedì 4 a venerdì 15 gennaio.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "it-dall-apostrophe",
        "Sono in ferie dall'8 al 15 gennaio. Per urgenze contattare il centralino.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    # ------------------------------------------------------------------ Russian
    (
        "ru-s-po-range",
        "Здравствуйте!\n\nЯ в отпуске с 4 по 15 января.\n\nС уважением,\nИван Петров",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "ru-vernus-na-rabotu",
        "Добрый день! Вернусь на работу 18 января. Спасибо за понимание.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "ru-otsutstvuyu-do-dotted",
        "Автоматический ответ: отсутствую до 15.01.2027.",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "ru-date-then-budu-v-ofise",
        "Я в командировке. С 18 января буду в офисе.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "ru-do-fevralya",
        "Я нахожусь на больничном до 2 февраля, ответ будет позже.",
        MON_4_JAN,
        date(2027, 2, 2),
    ),
    (
        "ru-ne-vernus-do",
        "Добрый день. Не вернусь до 18 января, отвечу после возвращения.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "ru-abbreviated-dek",
        "Я в отпуске до 30 дек. С уважением, Ольга",
        datetime(2026, 12, 10, 9, 0, tzinfo=timezone(timedelta(hours=3))),
        date(2026, 12, 30),
    ),
    (
        "ru-yo-vernyotsya",
        "Сотрудник в отпуске. Он вернётся 18 января.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    # ------------------------------------------------------------------ Dutch, mixed
    (
        "nl-tot-en-met",
        "Beste,\nik ben afwezig tot en met 15 januari.\nMet vriendelijke groet,\nSanne",
        MON_4_JAN,
        date(2027, 1, 15),
    ),
    (
        "nl-vanaf-weer-op-kantoor",
        "Vanaf 18 januari ben ik weer op kantoor.",
        MON_4_JAN,
        date(2027, 1, 17),
    ),
    (
        "de-en-bilingual-slash-is-day-month",
        "Ich bin bis 08/01 nicht im Büro.\n\nI am out of the office until 08/01.",
        MON_4_JAN,
        date(2027, 1, 8),
    ),
]


def test_the_table_is_big_and_covers_every_language() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 60
    assert {i.split("-")[0] for i in ids} >= {"en", "de", "fr", "es", "pt", "it", "ru"}


@pytest.mark.parametrize(
    ("text", "received", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_reads_the_last_day_away(text: str, received: datetime, expected: date | None) -> None:
    assert away_until(text, received) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I'm out of office until 12 January",
        "Back on 13 January",
        "I return on the 13th of January",
        "ab dem 13.1. wieder im Büro",
        "de retour le 13 janvier",
        "from 3 to 12 January",
        "between 3 and 12 January",
        "vom 3. bis 12. Januar",
        "until Monday 12 January",
        "до 12 января",
        "с 13 января буду в офисе",
        "hasta el 12 de enero",
        "até 12 de janeiro",
        "fino al 12 gennaio",
        "bis 12.01.",
        "bis 12.1.",
        "bis 12.01.27",
        "until 2027-01-12",
        "hasta 12/01/2027",
        "until Jan. 12",
        "jusqu'au 12 janv.",
        "bis 12. Jänner",
        "bis 12. Maerz",
        "bis 12. März",
    ],
)
def test_the_briefs_phrasings(text: str) -> None:
    received = datetime(2027, 1, 5, 12, 0, tzinfo=CET)
    expected = date(2027, 3, 12) if "rz" in text else date(2027, 1, 12)
    assert away_until(text, received) == expected


def test_a_statement_past_the_read_limit_is_not_seen() -> None:
    statement = "I am out of the office until 12 January."
    assert away_until(statement, MON_4_JAN) == date(2027, 1, 12)
    assert away_until(" " * (TEXT_MAX - 10) + statement, MON_4_JAN) is None


@pytest.mark.parametrize(
    "chunk",
    [
        "12.1.",
        "1",
        "12.01.2027 ",
        "januar ",
        "bis 12. januar 2027 ",
        "from 3 to ",
        "until 01/12/",
        "2027-01-",
        "back on the ",
        "вернусь 13 января ",
        "12 jan. ",
    ],
)
def test_a_megabyte_of_dates_and_cues_returns(chunk: str) -> None:
    text = (chunk * (1_000_000 // len(chunk) + 1))[:1_000_000]
    result = away_until(text, MON_4_JAN)
    assert result is None or MON_4_JAN.date() <= result <= date(2027, 7, 6)


@pytest.mark.parametrize(
    ("after", "working_days", "expected"),
    [
        (date(2027, 1, 15), frozenset(range(5)), date(2027, 1, 18)),  # Friday -> Monday
        (date(2027, 1, 16), frozenset(range(5)), date(2027, 1, 18)),  # Saturday -> Monday
        (date(2027, 1, 18), frozenset(range(5)), date(2027, 1, 19)),  # strictly after
        (date(2027, 1, 14), frozenset({6, 0, 1, 2, 3}), date(2027, 1, 17)),  # Sun-Thu week
        (date(2027, 1, 13), frozenset({2}), date(2027, 1, 20)),  # only Wednesdays
        (date(2026, 12, 31), frozenset({4}), date(2027, 1, 1)),  # across the year
    ],
)
def test_next_working_day(after: date, working_days: frozenset[int], expected: date) -> None:
    got = next_working_day(after, working_days)
    assert got == expected
    assert got.weekday() in working_days and got > after


@pytest.mark.parametrize("working_days", [frozenset(), frozenset({7, -1})])
def test_next_working_day_needs_a_working_day(working_days: frozenset[int]) -> None:
    with pytest.raises(ValueError):
        next_working_day(date(2027, 1, 15), working_days)
