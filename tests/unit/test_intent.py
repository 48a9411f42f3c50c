"""The intent of a human reply (engine.inbox.intent), measured on a labelled corpus.

``tests/data/intent_corpus.jsonl`` holds real-shaped replies in eight languages. The ``holdout``
rows were written and committed before any rule existed and were never used to tune them; the
``tune`` rows are what the phrase lists were fitted to. The corpus test prints a confusion matrix
and the accuracies (overall, per split, per language) and asserts the issue's bar (0.90 overall)
and a lower honest one for the holdout alone.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from engine.inbox.intent import SUBJECT_MAX, TEXT_MAX, Intent, classify_intent
from engine.inbox.optout import is_opt_out

CORPUS = Path(__file__).resolve().parent.parent / "data" / "intent_corpus.jsonl"
LANGS = ("en", "de", "fr", "es", "pt", "it", "ru")  # the required ones; "nl" is a bonus
LABELS = [i.value for i in Intent]
OVERALL_BAR = 0.90
HOLDOUT_BAR = 0.80


def _rows() -> list[dict[str, Any]]:
    with CORPUS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


ROWS = _rows()


# --- the corpus itself ---------------------------------------------------------------------------


def test_the_corpus_is_well_formed() -> None:
    ids = [r["id"] for r in ROWS]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for r in ROWS:
        assert set(r) == {"id", "lang", "label", "split", "text"}, r["id"]
        assert r["label"] in LABELS, r["id"]
        assert r["split"] in ("tune", "holdout"), r["id"]
        assert r["id"].startswith(f"{r['lang']}-"), r["id"]
        assert r["text"].strip(), r["id"]


def test_the_corpus_covers_every_language_and_label() -> None:
    assert len(ROWS) >= 210
    for lang in LANGS:
        rows = [r for r in ROWS if r["lang"] == lang]
        assert len(rows) >= 28, lang
        assert {r["label"] for r in rows} == set(LABELS), lang
    holdout = [r for r in ROWS if r["split"] == "holdout"]
    assert len(holdout) >= 0.25 * len(ROWS)
    assert {r["lang"] for r in holdout} >= set(LANGS)
    assert {r["label"] for r in holdout} == set(LABELS)


def test_no_corpus_row_is_an_opt_out() -> None:
    # optout.py runs first in the pipeline: an opt-out never reaches the intent classifier, so
    # a row it would catch measures nothing.
    caught = [r["id"] for r in ROWS if is_opt_out(r["text"], "")]
    assert not caught, f"opt-outs in the corpus: {caught}"


# --- accuracy on the corpus ----------------------------------------------------------------------


def _accuracy(pairs: list[tuple[str, str]]) -> float:
    return sum(want == got for want, got in pairs) / len(pairs) if pairs else 0.0


def confusion_matrix(pairs: list[tuple[str, str]]) -> str:
    """Rows: the expected label; columns: the predicted one."""
    counts = Counter(pairs)
    short = {label: label[:7] for label in LABELS}
    width = max(len(label) for label in LABELS)
    lines = [" " * width + " | " + " ".join(f"{short[c]:>7}" for c in LABELS) + " | total"]
    for want in LABELS:
        row = [counts[(want, got)] for got in LABELS]
        lines.append(f"{want:>{width}} | " + " ".join(f"{n:>7}" for n in row) + f" | {sum(row)}")
    return "\n".join(lines)


def test_corpus_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    results = [(r, classify_intent(r["text"]).value) for r in ROWS]
    pairs = [(r["label"], got) for r, got in results]
    by_split = {
        split: _accuracy([(r["label"], got) for r, got in results if r["split"] == split])
        for split in ("tune", "holdout")
    }
    langs = sorted({r["lang"] for r in ROWS})
    by_lang = {
        lang: _accuracy([(r["label"], got) for r, got in results if r["lang"] == lang])
        for lang in langs
    }
    overall = _accuracy(pairs)
    misses = [f"  {r['id']} ({r['split']}): {r['label']} -> {got}" for r, got in results]
    misses = [m for m, (r, got) in zip(misses, results, strict=True) if r["label"] != got]
    report = "\n".join(
        [
            f"intent corpus: {len(ROWS)} rows",
            confusion_matrix(pairs),
            f"overall {overall:.3f}  tune {by_split['tune']:.3f}  holdout {by_split['holdout']:.3f}",
            "per language: " + "  ".join(f"{lang} {by_lang[lang]:.3f}" for lang in langs),
            "misses:",
            *misses,
        ]
    )
    with capsys.disabled():
        print("\n" + report)
    assert overall >= OVERALL_BAR, report
    assert by_split["holdout"] >= HOLDOUT_BAR, report


def test_the_confusion_matrix_puts_expected_in_rows() -> None:
    text = confusion_matrix([("meeting", "question"), ("meeting", "question"), ("other", "other")])
    meeting_row = next(line for line in text.splitlines() if line.strip().startswith("meeting"))
    cells = meeting_row.split("|")[1].split()
    assert cells[LABELS.index("question")] == "2"
    assert meeting_row.rstrip().endswith("| 2")


# --- focused cases (not corpus rows) -------------------------------------------------------------

CASES: dict[Intent, list[str]] = {
    Intent.INTERESTED: [
        "Love this. Could you send over a case study?",
        "yes please",
        "Ja bitte, gerne mehr Infos.",
        "Oui, envoyez-moi votre plaquette.",
        "Me encaja, mándame info.",
        "Interessante, me manda um material.",
        "Molto interessante, raccontami di più.",
        "Выглядит интересно, расскажите подробнее, пожалуйста.",
        "Interessant, vertel me meer.",
    ],
    Intent.MEETING: [
        "ok lets do a call. wednesday 4pm my time",
        "I'm around Friday if you want to chat",
        "Hätten Sie am Donnerstag Zeit für einen kurzen Call?",
        "Avec plaisir pour un échange, mardi 11h ça vous irait ?",
        "¿Hablamos el miércoles por la mañana?",
        "Olá! Pode ser na segunda às 15h?",
        "Mi chiami pure domani verso le 17.",
        "Давайте в четверг созвонимся, в 12 удобно?",
        "Kunnen we donderdag om 10 uur bellen?",
    ],
    Intent.QUESTION: [
        "what's the minimum contract length",
        "Does this work with Google Workspace? Thx",
        "Welche Integrationen bieten Sie an?",
        "C'est quoi la différence avec Lemlist ?",
        "¿Tenéis integración con HubSpot?",
        "Vocês oferecem suporte em português?",
        "Che costi ha?",
        "Какие у вас тарифы?",
        "Wat kost een licentie?",
    ],
    Intent.NOT_NOW: [
        "Crazy busy with a product launch, let's reconnect in a month or two",
        "Das passt gerade nicht, wir haben Budgetstopp bis Jahresende.",
        "Trop tôt pour nous, revenez vers nous au T2.",
        "En estos momentos no podemos, escríbeme después del verano.",
        "Agora estamos focados em outro projeto, quem sabe no segundo semestre.",
        "Ne riparliamo a settembre.",
        "Напишите в сентябре, сейчас не до этого.",
        "We zijn erg druk, volgend jaar misschien.",
    ],
    Intent.REFERRAL: [
        "Please reach out to our procurement team at procurement@acme.com",
        "Hi Tom, Mike Jones handles vendor stuff, copying him here.",
        "Bitte schreiben Sie an info@firma.de, die leiten das weiter.",
        "Voyez avec Julie, elle gère le marketing : julie@acme.com",
        "No soy yo quien lleva esto, pero habla con Laura (laura@acme.com).",
        "Isso é com o financeiro, fala com o João: joao@acme.com",
        "Scrivi pure a giulia@acme.com, è lei che segue questi progetti.",
        "Я тут не при делах, напишите Марии: maria@example.org",
        "Stuur het maar naar mijn collega Sanne, sanne@example.org",
    ],
    Intent.WRONG_PERSON: [
        "I moved to a different role and don't cover this anymore.",
        "Ich habe das Unternehmen Ende letzten Jahres verlassen.",
        "Je ne suis plus en poste chez Acme.",
        "Ya no trabajo allí, lo siento.",
        "Não trabalho mais lá.",
        "Non lavoro più lì da un anno.",
        "Я уже давно там не работаю.",
        "Hier ben ik niet de juiste persoon voor.",
    ],
    Intent.OTHER: [
        "We built this ourselves, so we're good.",
        "Great, thanks.",
        "Wir sind gut versorgt, danke.",
        "Merci pour votre message, bonne journée.",
        "No, gracias.",
        "Obrigado pelo contato, mas não temos necessidade.",
        "Grazie, al momento siamo a posto così.",
        "Спасибо, мы сами справляемся.",
        "Nee bedankt, we zijn tevreden met onze huidige oplossing.",
    ],
}


@pytest.mark.parametrize(
    ("want", "text"),
    [(want, text) for want, texts in CASES.items() for text in texts],
    ids=lambda v: v.value if isinstance(v, Intent) else v[:40],
)
def test_focused_cases(want: Intent, text: str) -> None:
    assert classify_intent(text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # A negated cue does not count.
        ("This doesn't sound relevant to us, thanks", Intent.OTHER),
        ("Ça ne m'intéresse pas vraiment.", Intent.OTHER),
        ("Нам это неинтересно.", Intent.OTHER),
        ("Das interessiert uns nicht.", Intent.OTHER),
        # Italian "ne" is "of it", not a negation.
        ("Ne sono molto interessato!", Intent.INTERESTED),
        ("No need for a call, just send me your pricing", Intent.QUESTION),
        ("Please don't call me. What does onboarding involve?", Intent.QUESTION),
        # Phrases that carry their own negation.
        ("Not a good time, sorry.", Intent.NOT_NOW),
        ("Not a good time for a call, maybe in the spring", Intent.NOT_NOW),
        ("I'm not the right person to speak to about this", Intent.WRONG_PERSON),
        ("Ich bin dafür nicht zuständig.", Intent.WRONG_PERSON),
        # The writer will talk to someone: not a referral.
        ("Vou falar com meu sócio e te retorno.", Intent.OTHER),
        ("I need to speak to my boss first.", Intent.OTHER),
        # Interest, then a decline: other.
        ("Looks interesting, but we already have a provider.", Intent.OTHER),
    ],
)
def test_negations(text: str, want: Intent) -> None:
    assert classify_intent(text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # referral > wrong_person: someone named beats "not me".
        ("I'm not the right person, please contact ben@acme.com", Intent.REFERRAL),
        # meeting > not_now when a concrete day is named, not_now otherwise.
        ("Busy this week, but free Thursday at 2 for a call", Intent.MEETING),
        ("Swamped until March, happy to have a call after that", Intent.NOT_NOW),
        # not_now > question.
        ("Not right now. How much is it, for later?", Intent.NOT_NOW),
        # question > interested, but a request for material is interest.
        ("Interesting! What does it cost?", Intent.QUESTION),
        ("Interesting! Can you send me more info?", Intent.INTERESTED),
        ("Grundsätzlich haben wir Interesse. Wie geht es weiter?", Intent.INTERESTED),
    ],
)
def test_precedence(text: str, want: Intent) -> None:
    assert classify_intent(text) == want


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "Hi Tom,\n\nBest,\nAna"])
def test_empty_or_contentless_text_is_other(text: str) -> None:
    assert classify_intent(text) is Intent.OTHER


def test_the_subject_is_a_hint_only_when_the_writer_typed_it() -> None:
    assert classify_intent("", "Call on Tuesday at 3?") is Intent.MEETING
    assert classify_intent("see subject", "How much does it cost?") is Intent.QUESTION
    # "Re: ..." is our own subject coming back: our words, not theirs.
    assert classify_intent("", "Re: Quick call on Tuesday?") is Intent.OTHER
    assert classify_intent("", "AW: Was kostet Ihr Tool?") is Intent.OTHER
    # The text decides when it says something.
    assert classify_intent("Not right now, thanks", "Call on Tuesday?") is Intent.NOT_NOW


@pytest.mark.parametrize(
    "text",
    ["a " * 500_000, "?" * 1_000_000, "@a." * 333_333, "call " * 200_000, "\n" * 1_000_000],
    ids=["words", "question-marks", "at-dots", "cue-words", "newlines"],
)
def test_a_hostile_megabyte_returns_an_intent(text: str) -> None:
    assert isinstance(classify_intent(text, text), Intent)


def test_only_the_capped_text_and_subject_are_read() -> None:
    # A cue beyond the cap is not seen: the cap is applied before any work.
    assert classify_intent("ok " * (TEXT_MAX // 3) + "how much does it cost?") is Intent.OTHER
    assert classify_intent("How much does it cost?") is Intent.QUESTION
    late_subject = "x" * SUBJECT_MAX + " call on Tuesday?"
    assert classify_intent("", late_subject) is Intent.OTHER
    assert classify_intent("", "Call on Tuesday?") is Intent.MEETING


def test_intent_values_are_the_stored_labels() -> None:
    assert LABELS == [
        "interested",
        "meeting",
        "question",
        "not_now",
        "referral",
        "wrong_person",
        "other",
    ]
    assert Intent("not_now") is Intent.NOT_NOW
