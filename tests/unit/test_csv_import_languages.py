"""Lead lists as people have them: legacy encodings, header names in our users' languages,
full names split, names re-cased, and the import report's words about them."""

from __future__ import annotations

import pytest

from bot.format import import_text
from engine.leads.csv_import import parse_leads_csv
from engine.leads.lead_file.names import natural_case, split_name
from engine.leads.service import ImportReport

# encoding -> (header row, [(first, last)]) with names in the script of that code page
FIXTURES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "cp1251": ("Имя;Фамилия;Email;Компания", [("Иван", "Петров"), ("Ольга", "Смирнова")]),
    "koi8_r": ("Имя;Фамилия;Почта;Организация", [("Сергей", "Кузнецов"), ("Анна", "Попова")]),
    "cp1250": ("Imię;Nazwisko;Email;Firma", [("Łukasz", "Wiśniewski"), ("Zofia", "Wójcik")]),
    "iso8859_2": ("Imię;Nazwisko;Email;Firma", [("Ścibor", "Żak"), ("Małgorzata", "Kamińska")]),
    "iso8859_7": (
        "Όνομα;Επώνυμο;Email;Εταιρεία",
        [("Γιώργος", "Παπαδόπουλος"), ("Μαρία", "Νικολάου")],
    ),
    "iso8859_9": ("Ad;Soyad;E-posta;Şirket", [("Ayşe", "Yılmaz"), ("Çağrı", "Doğan")]),
    "shift_jis": ("名;姓;メールアドレス;会社名", [("太郎", "山田"), ("花子", "佐藤")]),
    "euc_jp": ("名;姓;メール;会社", [("健一", "鈴木"), ("美咲", "高橋")]),
    "gb18030": ("名;姓氏;邮箱;公司", [("伟", "王"), ("秀英", "刘")]),
    "gbk": ("名;姓氏;电子邮件;公司", [("芳", "李"), ("娜", "张")]),
    "big5": ("名;姓氏;電子郵件;公司", [("偉", "王"), ("淑芬", "陳")]),
    "euc_kr": ("이름;성;이메일;회사", [("민준", "김"), ("서연", "이")]),
    "cp1252": ("Prénom;Nom;Email;Société", [("René", "Dupré"), ("Françoise", "Lefèvre")]),
    "latin_1": ("Nombre;Apellido;Correo;Empresa", [("José", "Núñez"), ("Íñigo", "Muñoz")]),
}


def _file(encoding: str, header: str, names: list[tuple[str, str]]) -> bytes:
    lines = [header] + [f"{f};{last};u{i}@example.com;ACME" for i, (f, last) in enumerate(names)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


@pytest.mark.parametrize("encoding", sorted(FIXTURES))
def test_it_reads_each_legacy_encoding_with_names_in_its_script(encoding: str) -> None:
    header, names = FIXTURES[encoding]
    parsed = parse_leads_csv(_file(encoding, header, names))
    assert [(r.first_name, r.last_name) for r in parsed.rows] == names
    assert [r.company for r in parsed.rows] == ["ACME", "ACME"]
    assert parsed.rows[0].custom == {}
    assert not parsed.encoding_unsure


def test_it_reads_the_russian_excel_csv_from_the_issue() -> None:
    data = "Имя;Фамилия;Email;Компания\r\nИван;Иванов;ivan@example.ru;Ромашка\r\n".encode("cp1251")
    parsed = parse_leads_csv(data)
    assert parsed.encoding == "cp1251"
    row = parsed.rows[0]
    assert (row.first_name, row.last_name, row.company) == ("Иван", "Иванов", "Ромашка")
    assert parsed.columns == ["first_name", "last_name", "email", "company"]


def test_it_no_longer_refuses_a_shift_jis_file() -> None:
    data = "メールアドレス,氏名,会社名\r\ntaro@example.jp,山田 太郎,株式会社サンプル\r\n"
    parsed = parse_leads_csv(data.encode("shift_jis"))
    assert parsed.encoding in ("cp932", "shift_jis")
    row = parsed.rows[0]
    assert (row.first_name, row.last_name, row.company) == ("太郎", "山田", "株式会社サンプル")


@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r", "mac_cyrillic"])
def test_it_tells_the_single_byte_cyrillic_code_pages_apart(encoding: str) -> None:
    text = "Имя;Фамилия;Email\r\nДмитрий;Соколов;d@example.ru\r\nЕлена;Морозова;e@example.ru\r\n"
    parsed = parse_leads_csv(text.encode(encoding))
    assert [r.first_name for r in parsed.rows] == ["Дмитрий", "Елена"]


def test_it_tells_cyrillic_apart_by_plausible_names_without_a_known_header() -> None:
    # The header is an unknown column name: only the look of the names decides.
    text = "Контакт;Email\r\nДмитрий Соколов;d@example.ru\r\nЕлена Морозова;e@example.ru\r\n"
    for encoding in ("cp1251", "koi8_r"):
        parsed = parse_leads_csv(text.encode(encoding))
        assert parsed.rows[0].custom["column_1"] == "Дмитрий Соколов"


def test_it_is_unsure_when_two_code_pages_read_equally_well() -> None:
    # ñ (0xF1) in cp1252 is ń in cp1250; neither the header nor the name tells which.
    parsed = parse_leads_csv("email;x\r\na@example.com;Peña\r\n".encode("cp1252"))
    assert parsed.encoding_unsure
    assert parsed.first_names == []  # no name columns: nothing to show


def test_it_keeps_the_utf8_fast_path_sure() -> None:
    parsed = parse_leads_csv("email,Имя\na@example.ru,Иван\n".encode())
    assert (parsed.encoding, parsed.encoding_unsure) == ("utf-8", False)
    assert parsed.rows[0].first_name == "Иван"


# --------------------------------------------------------------------------- header aliases

ALIASES: list[tuple[str, str]] = [
    *[(h, "first_name") for h in ("Имя", "Nombre", "Prénom", "Nome", "Imię", "Voornaam", "Ad")],
    *[(h, "first_name") for h in ("Vorname", "Ім'я", "Όνομα", "İsim", "FIRST NAME")],
    *[
        (h, "last_name")
        for h in (
            "Фамилия", "Apellido(s)", "Apellidos", "Nom", "Cognome", "Sobrenome", "Nazwisko",
            "Achternaam", "Soyad", "Nachname", "Прізвище", "SOYADI",
        )
    ],
    *[
        (h, "company")
        for h in (
            "Компания", "Организация", "Empresa", "Société", "Entreprise", "Azienda", "Firma",
            "Bedrijf", "Şirket", "ŞIRKET", "会社", "会社名", "公司", "회사", "Unternehmen",
        )
    ],
]  # fmt: skip

EMAIL_ALIASES = [
    "Почта", "Эл. почта", "Correo", "Courriel", "E-posta", "メール", "メールアドレス", "邮箱",
    "电子邮件", "이메일", "E-Mail-Adresse", "Correo electrónico", "ЭЛ. ПОЧТА",
]  # fmt: skip


@pytest.mark.parametrize(("header", "field"), ALIASES)
def test_it_maps_name_and_company_headers_in_our_users_languages(header: str, field: str) -> None:
    parsed = parse_leads_csv(f"email;{header}\nann@example.com;Value\n".encode())
    assert getattr(parsed.rows[0], field) == "Value"
    assert parsed.columns == ["email", field]


@pytest.mark.parametrize("header", EMAIL_ALIASES)
def test_it_finds_the_email_column_by_its_name_in_our_users_languages(header: str) -> None:
    parsed = parse_leads_csv(f"x;{header}\n1;ann@example.com\n2;bob@example.com\n".encode())
    assert parsed.columns[1] == "email"
    assert [r.email for r in parsed.rows] == ["ann@example.com", "bob@example.com"]


@pytest.mark.parametrize(
    ("header", "field"),
    [("Zeitzone", "timezone"), ("Часовой пояс", "timezone"), ("País", "country"), ("Страна", "country"), ("国家", "country")],
)  # fmt: skip
def test_it_reads_timezone_and_country_headers_in_other_languages(header: str, field: str) -> None:
    value = "Europe/Berlin" if field == "timezone" else "DE"
    parsed = parse_leads_csv(f"email;{header}\nann@example.com;{value}\n".encode())
    assert getattr(parsed.rows[0], field) == value


# --------------------------------------------------------------------------- full names


@pytest.mark.parametrize(
    ("header", "cell", "first", "last"),
    [
        ("Name", "Ada Lovelace", "Ada", "Lovelace"),
        ("Full Name", "Lovelace, Ada", "Ada", "Lovelace"),
        ("Nombre completo", "Gabriel García Márquez", "Gabriel", "García Márquez"),
        ("ФИО", "Иванов Иван Петрович", "Иван", "Иванов"),
        ("ПІБ", "Шевченко Тарас Григорович", "Тарас", "Шевченко"),
        ("氏名", "山田 太郎", "太郎", "山田"),
        ("氏名", "山田太郎", "山田太郎", ""),
        ("名前", "やまだ たろう", "たろう", "やまだ"),
        ("姓名", "王伟", "伟", "王"),
        ("姓名", "欧阳娜娜", "阳娜娜", "欧"),
        ("이름", "김민준", "민준", "김"),
        ("Ad Soyad", "Ayşe Yılmaz", "Ayşe", "Yılmaz"),
        ("Imię i nazwisko", "Jan Kowalski", "Jan", "Kowalski"),
    ],
)
def test_it_splits_a_full_name_column(header: str, cell: str, first: str, last: str) -> None:
    parsed = parse_leads_csv(f'email;{header}\nann@example.com;"{cell}"\n'.encode())
    row = parsed.rows[0]
    assert (row.first_name, row.last_name) == (first, last)
    assert row.custom == {"name": cell}


def test_it_reads_a_korean_name_column_beside_a_surname_column_as_the_given_name() -> None:
    row = parse_leads_csv("이메일,성,이름\nk@example.kr,김,민준\n".encode()).rows[0]
    assert (row.first_name, row.last_name) == ("민준", "김")


def test_split_name_keeps_a_single_word() -> None:
    assert split_name("Cher") == ("Cher", "")
    assert split_name("ФИО", "fio") == ("ФИО", "")


# --------------------------------------------------------------------------- re-casing


@pytest.mark.parametrize(
    ("raw", "natural"),
    [
        ("bob", "Bob"),
        ("MÜLLER", "Müller"),
        ("VAN DER BERG", "van der Berg"),
        ("o'neil", "O'Neil"),
        ("O’NEIL", "O’Neil"),
        ("MCDONALD", "McDonald"),
        ("J.R.", "J.R."),
        ("ST. JOHN", "St. John"),
        ("DE LA CRUZ", "de la Cruz"),
        ("jean-luc", "Jean-Luc"),
        ("ИВАН", "Иван"),
        ("ÇAĞRI", "Çağrı"),
        ("d'angelo", "D'Angelo"),
    ],
)
def test_it_recases_names_typed_all_lower_or_upper(raw: str, natural: str) -> None:
    assert natural_case(raw) == natural


@pytest.mark.parametrize(
    "kept",
    ["McDonald", "van der Berg", "DeShawn", "Jean-Luc", "山田", "J", "=HYPERLINK(1)", "ACME 2000"],
)
def test_it_keeps_mixed_case_and_caseless_names_as_written(kept: str) -> None:
    assert natural_case(kept) == kept


def test_it_trims_quotes_and_counts_the_recased_names() -> None:
    data = "email,first name,last name\na@example.com,  'bob' ,MÜLLER\nb@example.com,Ann,Lee\n"
    parsed = parse_leads_csv(data.encode())
    assert [(r.first_name, r.last_name) for r in parsed.rows] == [("Bob", "Müller"), ("Ann", "Lee")]
    assert parsed.recased == 2


# --------------------------------------------------------------------------- report words


def test_the_report_names_a_legacy_encoding() -> None:
    text = import_text(ImportReport(imported=2, total_rows=2, encoding="cp1251"))
    assert "Encoding: Windows-1251" in text
    assert "guess" not in text


def test_the_report_names_utf8_too() -> None:
    text = import_text(ImportReport(imported=1, encoding="utf-8"))
    assert "Encoding: UTF-8" in text and "guess" not in text


def test_the_report_shows_two_names_and_asks_for_utf8_when_unsure() -> None:
    report = ImportReport(
        imported=2,
        encoding="cp1250",
        encoding_unsure=True,
        first_names=["Iñigo Peña", "José Núñez"],
    )
    text = import_text(report)
    assert "Encoding: Windows-1250 — a guess" in text
    assert 'First names as read: "Iñigo Peña", "José Núñez".' in text
    assert "CSV UTF-8" in text


def test_the_report_counts_recased_names() -> None:
    assert "Names re-cased: 3" in import_text(ImportReport(imported=3, recased=3))
