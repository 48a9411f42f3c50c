"""Opt-outs: the new text or the subject asks to be removed ("unsubscribe", "remove me", "not
interested", in several languages), unless a negation in the same clause says otherwise."""

from __future__ import annotations

import re

from engine.inbox.mime import fold

_SPACE_RUN = re.compile(r"\s+")
_CLAUSE_END = re.compile(r"[.,;:!?\n]")
_WORD = re.compile(r"[\w'-]+")
_NOT_WORD = re.compile(r"[^\w\s'-]+")
_UNSUBSCRIBE_WORD = re.compile(r"\bunsubscribe\b")

# (pattern, negatable). Patterns run on fold()ed text (casefolded, accents removed,
# curly apostrophes straightened). A negatable phrase preceded, in the same clause,
# by a negation ("please don't unsubscribe me") does not count.
_OPT_OUT_PATTERNS: list[tuple[re.Pattern[str], bool]] = [
    (re.compile(r"\bunsub(scribe|scribed|scribing)?\b"), True),
    (re.compile(r"\bremove (me|us|my (e-?mail|address|name|contact))\b"), True),
    (re.compile(r"\bplease remove\b"), True),
    (
        re.compile(
            r"\bremove\b.{0,30}\b(from|off) (your|the|this) (mailing |e-?mail |contact )?(list|database|sequence|campaign)"
        ),
        True,
    ),
    (re.compile(r"\btake (me|us|my (e-?mail|address|name)) off\b"), True),
    (
        re.compile(r"\bstop (e-?mailing|mailing|sending|contacting|writing|messaging|spamming)\b"),
        False,
    ),
    (
        re.compile(
            r"\b(don'?t|do not|never) (e-?mail|contact|message|write to|write|reach out to) (me|us)\b"
        ),
        False,
    ),
    (re.compile(r"\bdo not contact\b"), False),
    (re.compile(r"\b(not|no longer) interested\b"), False),
    (re.compile(r"\bopt(-| )?out\b"), True),
    (re.compile(r"\babmelden\b"), True),
    (re.compile(r"\baustragen\b"), True),
    (re.compile(r"\bkein interesse\b"), False),
    (re.compile(r"\bdesabonn\w*"), True),
    (re.compile(r"\bdesinscri\w*"), True),
    (re.compile(r"\bpas interesse\b"), False),
    (re.compile(r"\b(darme|darnos|dar) de baja\b"), True),
    (re.compile(r"\bno (me|nos) interesa\b"), False),
]
_NEGATION = re.compile(r"\b(not|don'?t|never|won'?t|wouldn'?t|didn'?t|no need to|nicht|ne|pas)\b")
_SHORT_COMMANDS = frozenset(
    {"remove", "stop", "unsubscribe", "unsub", "optout", "opt out", "opt-out"}
)
_SHORT_FILLER = frozenset({"please", "pls", "me", "thanks", "thank", "you", "thx", "now"})
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|wg|fw|fwd|sv|vs|antw|r|rif|tr)\s*(?:\[\d+\]\s*)?:\s*)+", re.I
)


def _fold_text(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    return _SPACE_RUN.sub(" ", fold(text)).strip()


def _negated(folded: str, start: int) -> bool:
    before = folded[max(0, start - 40) : start]
    clause = _CLAUSE_END.split(before)[-1]
    words = clause.split()[-3:]
    return bool(_NEGATION.search(" ".join(words)))


def opt_out_phrase(new_text: str, subject: str) -> str | None:
    folded = _fold_text(new_text)
    for pattern, negatable in _OPT_OUT_PATTERNS:
        for m in pattern.finditer(folded):
            if negatable and _negated(folded, m.start()):
                continue
            return m.group(0)
    words = _WORD.findall(folded)
    if 0 < len(words) <= 4:
        joined = " ".join(words)
        rest = [w for w in words if w not in _SHORT_FILLER]
        if " ".join(rest) in _SHORT_COMMANDS:
            return joined
    subj = _fold_text(_SUBJECT_PREFIX.sub("", subject))
    subj = _NOT_WORD.sub(" ", subj).strip()
    subj_words = [w for w in subj.split() if w not in _SHORT_FILLER]
    if " ".join(subj_words) in _SHORT_COMMANDS or _UNSUBSCRIBE_WORD.search(subj):
        return f"subject: {subject.strip()[:60]}"
    return None


def is_opt_out(new_text: str, subject: str) -> bool:
    """True if the NEW text (quotes stripped by the caller) or the subject asks to be removed.

    Only the new text is examined, so our own footer ("Reply 'unsubscribe' ...")
    inside the quoted original does not count. "no thanks" is deliberately not an
    opt-out (it often declines one meeting, not all contact); "not interested" is.
    """
    return opt_out_phrase(new_text, subject) is not None
