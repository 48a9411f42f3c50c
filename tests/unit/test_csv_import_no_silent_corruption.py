"""Nothing silently corrupted: for random names in many scripts, written in every supported
encoding that can represent them under a plausible header row, the import gives back exactly
the original names, or says that it cannot tell (``encoding_unsure``). Never other text
without saying so."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.leads.csv_import import parse_leads_csv

# script -> (letters to draw names from: capital, then lowercase; header rows in its language;
# the encodings its lists are saved in)
_LATIN_UPPER = "ABCDEFGHIJKLMNOPRSTUVWZÁÉÍÓÚÑÜÖÄÇÈÊ"
_LATIN_LOWER = "abcdefghijklmnoprstuvwzáéíóúñüöäçèêëïôûàâœß"
SCRIPTS: dict[str, tuple[str, str, list[str], list[str]]] = {
    "latin": (
        _LATIN_UPPER,
        _LATIN_LOWER,
        ["Prénom;Nom;Email", "Nombre;Apellido;Correo", "Vorname;Nachname;E-Mail"],
        ["cp1252", "latin_1"],
    ),
    "central": (
        "ABCDEGIJKLMNOPRSTWZŁŚŻŹĆŃÓ",
        "abcdeghijklmnoprstuwyząćęłńóśźżčřšž",
        ["Imię;Nazwisko;Email", "Imię;Nazwisko;Adres e-mail"],
        ["cp1250", "iso8859_2"],
    ),
    "cyrillic": (
        "АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЭЮЯ",
        "абвгдежзийклмнопрстуфхцчшщъыьэюя",
        ["Имя;Фамилия;Email", "Имя;Фамилия;Почта;Компания"],
        ["cp1251", "koi8_r"],
    ),
    "greek": (
        "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ",
        "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώ",
        ["Όνομα;Επώνυμο;Email"],
        ["iso8859_7"],
    ),
    "turkish": (
        "ABCÇDEFGĞHIİJKLMNOÖPRSŞTUÜVYZ",
        "abcçdefgğhıijklmnoöprsştuüvyz",
        ["Ad;Soyad;E-posta", "Adı;Soyadı;E-posta;Şirket"],
        ["iso8859_9", "cp1254"],
    ),
    "japanese": (
        "",
        "山田佐藤鈴木高橋田中伊藤渡辺中村小林加藤太郎花子健一美咲あいうえおかきくけこさしすせそアイウエオカキクケコ",
        ["名;姓;メールアドレス", "名;姓;メール;会社名"],
        ["shift_jis", "euc_jp"],
    ),
    "chinese": (
        "",
        "王李张刘陈杨黄赵吴周伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英",
        ["名;姓氏;邮箱", "名;姓氏;电子邮件;公司"],
        ["gb18030", "gbk"],
    ),
    "chinese_traditional": (
        "",
        "王李張劉陳楊黃趙吳周偉芳娜秀英敏靜麗強磊軍洋勇豔傑娟濤明超",
        ["名;姓氏;電子郵件", "名;姓氏;電子郵件;公司"],
        ["big5"],
    ),
    "korean": (
        "",
        "김이박최정강조윤장임민준서연지호하윤도현수아예준시우지민",
        ["이름;성;이메일", "이름;성;이메일;회사"],
        ["euc_kr"],
    ),
}


def _encodable(letters: str, encoding: str) -> str:
    """The letters ``encoding`` can write (each supported encoding covers most of its script)."""
    out = ""
    for ch in letters:
        try:
            ch.encode(encoding)
        except UnicodeEncodeError:
            continue
        out += ch
    return out


@st.composite
def _names(draw: st.DrawFn, script: str, encoding: str) -> str:
    upper, lower, _, _ = SCRIPTS[script]
    upper, lower = _encodable(upper, encoding), _encodable(lower, encoding)
    if not upper:  # CJK: no case, short names
        return draw(st.text(alphabet=lower, min_size=1, max_size=4))
    head = draw(st.sampled_from(upper))
    return head + draw(st.text(alphabet=lower, min_size=2, max_size=9))


@st.composite
def _lists(draw: st.DrawFn) -> tuple[str, str, str, list[tuple[str, str]]]:
    script = draw(st.sampled_from(sorted(SCRIPTS)))
    _, _, headers, encodings = SCRIPTS[script]
    header = draw(st.sampled_from(headers))
    encoding = draw(st.sampled_from(encodings))
    people = draw(
        st.lists(
            st.tuples(_names(script, encoding), _names(script, encoding)), min_size=1, max_size=6
        )
    )
    return script, header, encoding, people


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_lists())
# Found by this test once: ISO-8859-7 Greek read as cp1250 without a word (the Greek code pages
# were not among the candidates unless the detector proposed them).
@example(
    case=(
        "greek",
        "Όνομα;Επώνυμο;Email",
        "iso8859_7",
        [("Βήήβκπ", "Αήή"), ("Βει", "Αγπ"), ("Αήκ", "Αάά")],
    )
)
def test_names_come_back_exactly_or_the_import_says_it_cannot_tell(
    case: tuple[str, str, str, list[tuple[str, str]]],
) -> None:
    _, header, encoding, people = case
    width = header.count(";") + 1
    lines = [header]
    for i, (first, last) in enumerate(people):
        cells = [first, last, f"p{i}@example.com"] + ["ACME"] * (width - 3)
        lines.append(";".join(cells))
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    parsed = parse_leads_csv(data)
    got = [(r.first_name, r.last_name) for r in parsed.rows]
    assert got == people or parsed.encoding_unsure, (encoding, parsed.encoding, got, people)
