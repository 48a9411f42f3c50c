"""Header spellings: which column names mean email, first name, last name, company, full name,
and the lead's timezone and country (read for its zone, and kept as custom fields too).

A header is compared by :func:`header_key`: lowercase, accents dropped, anything but letters
and digits removed (``"E-Mail Address"`` -> ``"emailaddress"``, ``"Эл. почта"`` ->
``"элпочта"``, ``"Prénom"`` -> ``"prenom"``). The spellings are listed per language in
:data:`_SPELLINGS` as people write them and keyed the same way, so a new one is one more word
in a list. The language a header row is written in also hints at the code page of a legacy
file (see ``decoding``).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "AMBIGUOUS_NAME_ALIASES",
    "COMPANY_ALIASES",
    "COUNTRY_ALIASES",
    "EMAIL_ALIASES",
    "EMAIL_HEADER_NAMES",
    "FIO_ALIASES",
    "FIRST_ALIASES",
    "FULL_NAME_ALIASES",
    "JAPANESE_NAME_ALIASES",
    "LAST_ALIASES",
    "TIMEZONE_ALIASES",
    "alias_key",
    "clean_header",
    "header_key",
    "header_languages",
    "normalise_header",
]

# field -> language -> spellings, as people write them (keys are made by header_key).
_SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "email": {
        "en": (
            "email",
            "e-mail",
            "email address",
            "mail",
            "work email",
            "business email",
            "emails",
            "email id",
            "e-mail address",
            "mail address",
        ),
        "de": ("E-Mail-Adresse", "Mailadresse", "E-Mail Adresse"),
        "fr": ("Courriel", "Adresse e-mail", "Adresse mail", "Adresse électronique", "Mél"),
        "es": ("Correo", "Correo electrónico", "Dirección de correo", "Email personal"),
        "pt": ("E-mail", "Endereço de e-mail", "Correio eletrónico", "Correio eletrônico"),
        "it": ("Indirizzo email", "Posta elettronica", "Indirizzo e-mail"),
        "nl": ("E-mailadres", "Emailadres", "Mailadres"),
        "pl": ("Adres e-mail", "Poczta", "Adres email"),
        "tr": ("E-posta", "Eposta", "E-posta adresi"),
        "ru": (
            "Почта",
            "Эл. почта",
            "Электронная почта",
            "Емейл",
            "Имейл",
            "Адрес почты",
            "E-mail адрес",
        ),
        "uk": ("Пошта", "Ел. пошта", "Електронна пошта"),
        "el": ("Ηλεκτρονικό ταχυδρομείο", "Διεύθυνση email"),
        "ja": ("メール", "メールアドレス", "Eメール", "電子メール"),
        "zh": ("邮箱", "电子邮件", "電子郵件", "邮件", "郵箱", "电子邮箱", "邮箱地址"),
        "ko": ("이메일", "이메일 주소", "메일", "전자우편"),
    },
    "first": {
        "en": ("first name", "first", "given name", "forename", "firstname"),
        "de": ("Vorname",),
        "fr": ("Prénom",),
        "es": ("Nombre", "Nombre de pila"),
        "pt": ("Nome", "Primeiro nome", "Nome próprio"),
        "it": ("Nome di battesimo",),
        "nl": ("Voornaam",),
        "pl": ("Imię",),
        "tr": ("Ad", "İsim", "Adı"),
        "ru": ("Имя",),
        "uk": ("Ім'я", "Імя", "Ім’я"),
        "el": ("Όνομα",),
        "ja": ("名", "下の名前"),
        "zh": ("名",),
    },
    "last": {
        "en": ("last name", "surname", "family name", "lastname"),
        "de": ("Nachname", "Familienname"),
        "fr": ("Nom", "Nom de famille"),
        "es": ("Apellido", "Apellidos", "Apellido(s)"),
        "pt": ("Sobrenome", "Apelido"),
        "it": ("Cognome",),
        "nl": ("Achternaam",),
        "pl": ("Nazwisko",),
        "tr": ("Soyad", "Soyadı", "Soyisim"),
        "ru": ("Фамилия",),
        "uk": ("Прізвище",),
        "el": ("Επώνυμο",),
        "ja": ("姓", "苗字", "名字"),
        "zh": ("姓氏",),
        "ko": ("성",),
    },
    "company": {
        "en": (
            "company",
            "company name",
            "organization",
            "organisation",
            "account",
            "account name",
            "employer",
        ),
        "de": ("Firma", "Unternehmen", "Firmenname"),
        "fr": ("Société", "Entreprise", "Nom de l'entreprise"),
        "es": ("Empresa", "Compañía", "Nombre de la empresa"),
        "pt": ("Empresa", "Companhia", "Organização"),
        "it": ("Azienda", "Società", "Ditta"),
        "nl": ("Bedrijf", "Bedrijfsnaam", "Organisatie"),
        "pl": ("Firma", "Nazwa firmy", "Przedsiębiorstwo", "Organizacja"),
        "tr": ("Şirket", "Firma adı", "Şirket adı", "Kurum"),
        "ru": ("Компания", "Организация", "Фирма", "Название компании"),
        "uk": ("Компанія", "Організація", "Фірма"),
        "el": ("Εταιρεία",),
        "ja": ("会社", "会社名", "企業名", "勤務先"),
        "zh": ("公司", "公司名称", "单位", "企業", "公司名"),
        "ko": ("회사", "회사명", "기업", "소속"),
    },
    "full": {
        "en": ("name", "full name", "contact name"),
        "de": ("Vollständiger Name",),
        "fr": ("Nom complet",),
        "es": ("Nombre completo",),
        "pt": ("Nome completo",),
        "it": ("Nome completo", "Nominativo"),
        "nl": ("Volledige naam", "Naam"),
        "pl": ("Imię i nazwisko",),
        "tr": ("Ad Soyad", "Adı Soyadı", "Tam ad"),
        "ru": ("ФИО", "Ф.И.О.", "Полное имя"),
        "uk": ("ПІБ", "П.І.Б."),
        "el": ("Ονοματεπώνυμο",),
        "ja": ("氏名", "名前", "お名前"),
        "zh": ("姓名", "全名"),
        "ko": ("이름", "성명"),
    },
    "timezone": {
        "en": ("timezone", "tz", "time zone", "timezone name", "iana timezone"),
        "de": ("Zeitzone",),
        "fr": ("Fuseau horaire",),
        "es": ("Zona horaria",),
        "pt": ("Fuso horário",),
        "it": ("Fuso orario",),
        "nl": ("Tijdzone",),
        "pl": ("Strefa czasowa",),
        "tr": ("Saat dilimi",),
        "ru": ("Часовой пояс",),
        "uk": ("Часовий пояс",),
        "ja": ("タイムゾーン",),
        "zh": ("时区", "時區"),
        "ko": ("시간대",),
    },
    "country": {
        "en": ("country", "country code", "country name", "country iso"),
        "de": ("Land",),
        "fr": ("Pays",),
        "es": ("País",),
        "pt": ("País",),
        "it": ("Paese", "Nazione"),
        "nl": ("Land",),
        "pl": ("Kraj",),
        "tr": ("Ülke",),
        "ru": ("Страна",),
        "uk": ("Країна",),
        "el": ("Χώρα",),
        "ja": ("国", "国名"),
        "zh": ("国家", "國家"),
        "ko": ("국가", "나라"),
    },
}

#: What the "no email column" message tells the operator to use.
EMAIL_HEADER_NAMES = (
    "email",
    "e-mail",
    "email address",
    "e-mail address",
    "mail",
    "work email",
    "business email",
)

_HEADER_SEPARATORS = re.compile(r"[\s\-]+")

_HEADER_DROP = re.compile(r"[^a-z0-9_]")

_NOT_WORD = re.compile(r"[\W_]+")


def clean_header(raw: str) -> str:
    return raw.strip().strip("\ufeff").strip().strip("\"'`").strip()


def normalise_header(raw: str) -> str:
    """Lowercase, accents dropped, spaces/dashes to underscores, anything not [a-z0-9_] removed:
    the custom field name a template uses (``{{job_title}}``)."""
    text = unicodedata.normalize("NFKD", clean_header(raw))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _HEADER_SEPARATORS.sub("_", text)
    return _HEADER_DROP.sub("", text).strip("_")


def alias_key(normalised: str) -> str:
    return normalised.replace("_", "")


def header_key(raw: str) -> str:
    """The key a header is matched by in any script: case folded, accents dropped (NFKD then
    combining marks removed, recomposed so Hangul stays whole), Turkish ı as i (``SOYADI`` is
    ``Soyadı``), anything but letters and digits removed."""
    text = unicodedata.normalize("NFKD", clean_header(raw).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("ı", "i")
    return _NOT_WORD.sub("", unicodedata.normalize("NFC", text))


def _keys(field: str) -> frozenset[str]:
    return frozenset(header_key(s) for spellings in _SPELLINGS[field].values() for s in spellings)


EMAIL_ALIASES = _keys("email")
FIRST_ALIASES = _keys("first")
LAST_ALIASES = _keys("last")
COMPANY_ALIASES = _keys("company")
FULL_NAME_ALIASES = _keys("full") - FIRST_ALIASES - LAST_ALIASES
TIMEZONE_ALIASES = _keys("timezone")
COUNTRY_ALIASES = _keys("country")

#: Full-name headers that mean the given name when the file has a separate last-name column
#: (Korean forms ask 성 + 이름; "Name" beside "Surname").
AMBIGUOUS_NAME_ALIASES = frozenset(header_key(s) for s in ("name", "이름", "名前", "naam", "имя"))

#: Russian/Ukrainian full names are written Фамилия Имя Отчество: the given name is the second.
FIO_ALIASES = frozenset(header_key(s) for s in ("ФИО", "Ф.И.О.", "ПІБ", "П.І.Б."))

#: Japanese full-name headers: a name written without a space is kept whole as the first name.
JAPANESE_NAME_ALIASES = frozenset(header_key(s) for s in ("氏名", "名前", "お名前"))

_ALL_KEYS = EMAIL_ALIASES | FIRST_ALIASES | LAST_ALIASES | COMPANY_ALIASES | FULL_NAME_ALIASES
_ALL_KEYS |= TIMEZONE_ALIASES | COUNTRY_ALIASES

_LANGUAGES: dict[str, frozenset[str]] = {}
for _by_language in _SPELLINGS.values():
    for _language, _spellings in _by_language.items():
        for _spelling in _spellings:
            _k = header_key(_spelling)
            _LANGUAGES[_k] = _LANGUAGES.get(_k, frozenset()) | {_language}

_HEADER_CELL_SEPARATORS = re.compile(r"[,;\t|]")


def header_languages(line: str) -> tuple[int, set[str]]:
    """How many cells of a header line are known column names, and the languages they are
    written in (non-ASCII spellings only: ``email`` says nothing about the code page)."""
    hits = 0
    languages: set[str] = set()
    for raw in _HEADER_CELL_SEPARATORS.split(line[:4096]):
        key = header_key(raw)
        if key in _ALL_KEYS:
            hits += 1
            if not key.isascii() or raw.isascii() is False:
                languages |= _LANGUAGES.get(key, frozenset())
            elif len(_LANGUAGES.get(key, ())) == 1:
                languages |= _LANGUAGES[key]
    return hits, languages
