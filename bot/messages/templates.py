"""Words for the warnings a template gets when it is saved (engine.template_checks)."""

from __future__ import annotations

from engine.template_checks import MAX_LINKS, MAX_SUBJECT, TemplateWarning, Warn


def _line(w: TemplateWarning) -> str:
    if w.kind == Warn.LONG_SUBJECT:
        return (
            f"the subject is about {w.detail} characters as a lead sees it; over {MAX_SUBJECT} "
            "is cut off on phones and reads like marketing"
        )
    if w.kind == Warn.CAPS_SUBJECT:
        return "the subject is in CAPITALS, which spam filters and people read as shouting"
    if w.kind == Warn.MANY_LINKS:
        return f"{w.detail} links; more than {MAX_LINKS} in a cold email looks like a newsletter"
    if w.kind == Warn.SHORTENER:
        return f"a link shortener ({w.detail}): filters distrust links that hide where they go"
    if w.kind == Warn.ATTACHMENT:
        return (
            f"an image or attachment reference ({w.detail!r}): emails go as plain text without "
            'attachments, and "see attached" from a stranger looks like phishing'
        )
    if w.kind == Warn.SPAM_PHRASE:
        return f"spam-trigger words: {w.detail}"
    return (
        "no placeholder at all: every lead gets the same text; add {first_name} or {company}, "
        "e.g. Hi {first_name|there}"
    )


def warnings_text(warnings: list[TemplateWarning]) -> str:
    """The save answer's warnings ("" when there are none): saved anyway, said plainly."""
    if not warnings:
        return ""
    lines = "\n".join(f"• {_line(w)}" for w in warnings)
    return f"⚠️ Saved, but check before sending:\n{lines}"
