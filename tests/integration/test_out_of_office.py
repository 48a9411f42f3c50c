"""Out-of-office replies naming a return date, read from a real Dovecot with the injected clock:
the lead's next email waits for the first working day after the date, in five languages; a
date before the email was due, or one that is past or unreadable, moves nothing; /lead and the
grouped notice say so."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.format import lead_text
from engine.inbox.sync import check_inbox
from engine.leads.service import find_lead
from engine.states import NoticeKind
from engine.storage.models import PendingNotification
from tests.integration.sendkit import mailbox_ctx
from tests.integration.test_inbox_sync import LEADS, lead, start, words

# The clock starts on Monday 5 January 2026, 09:00 UTC; the follow-up is due 3 days later.
SENT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def auto_reply(from_addr: str, in_reply_to: str, body: str) -> bytes:
    """A vacation responder's answer, as Gmail sends it (Auto-Submitted: auto-replied)."""
    text = (
        "MIME-Version: 1.0\n"
        "Date: Mon, 05 Jan 2026 09:05:00 +0000\n"
        f"In-Reply-To: {in_reply_to}\nReferences: {in_reply_to}\n"
        f"Message-ID: <ooo-{abs(hash(body))}@mail.example>\n"
        "Subject: Re: Quick question\n"
        f"From: Ana <{from_addr}>\nTo: sender@example.com\n"
        "Auto-Submitted: auto-replied\n"
        'Content-Type: text/plain; charset="utf-8"\n\n'
        f"{body}\n"
    )
    return text.replace("\n", "\r\n").encode()


@pytest.fixture
def ctx(make_ctx: Any, dovecot: Any, smtp_server: Any) -> Any:
    return mailbox_ctx(make_ctx, smtp_server, dovecot, FOLLOWUP_DELAYS="3d", SEND_DAYS="Mon-Fri")


@pytest.mark.parametrize(
    "body",
    [
        "Hello,\n\nI'm out of the office until 12 January with no access to email.\n\nAna",
        "Guten Tag,\n\nich bin ab dem 13.1. wieder im Büro.\n\nViele Grüße\nAna",
        "Bonjour,\n\nJe suis absente, de retour le 13 janvier.\n\nCordialement,\nAna",
        "Hola,\n\nEstaré fuera de la oficina hasta el 12 de enero.\n\nSaludos,\nAna",
        "Здравствуйте!\n\nЯ в отпуске, вернусь 13 января.\n\nС уважением,\nАна",
    ],
    ids=["en", "de", "fr", "es", "ru"],
)
def test_the_follow_up_waits_for_the_first_working_day_after_the_return_date(
    ctx: Any, dovecot: Any, body: str
) -> None:
    ours = start(ctx, ["ana"])
    assert lead(ctx, "ana").next_send_at == SENT + timedelta(days=3)
    dovecot.deliver(auto_reply(LEADS["ana"], ours["ana"], body))
    assert check_inbox(ctx).kinds == {"auto_reply": 1}
    ana = lead(ctx, "ana")
    assert ana.away_until == date(2026, 1, 12)
    assert ana.next_send_at == datetime(2026, 1, 13, tzinfo=UTC)  # Tuesday, 00:00 in its zone
    assert ana.status == "sent"  # still in its sequence
    with ctx.db.transaction() as session:
        [notice] = session.scalars(
            select(PendingNotification).where(PendingNotification.kind == NoticeKind.AWAY)
        ).all()
        line = words(notice)
    assert line == "🏖 Ana is away until 12 Jan: follow-up moved to 13 Jan."
    view = find_lead(ctx, LEADS["ana"])
    assert "Away until: 12 Jan 2026" in lead_text(view, ctx.settings.tz)


def test_a_return_before_the_follow_up_was_due_moves_nothing(ctx: Any, dovecot: Any) -> None:
    ours = start(ctx, ["ana"])
    due = lead(ctx, "ana").next_send_at
    dovecot.deliver(auto_reply(LEADS["ana"], ours["ana"], "I'm away until 6 January."))
    check_inbox(ctx)
    ana = lead(ctx, "ana")
    assert (ana.away_until, ana.next_send_at) == (date(2026, 1, 6), due)
    with ctx.db.transaction() as session:
        [notice] = session.scalars(
            select(PendingNotification).where(PendingNotification.kind == NoticeKind.AWAY)
        ).all()
        assert words(notice) == "🏖 Ana is away until 6 Jan."


@pytest.mark.parametrize(
    "body",
    [
        "I'm out of the office until 2 January.",  # past
        "I'm on sabbatical until 20 September.",  # more than six months ahead
        "I'm out of the office until 31 February.",  # no such day
        "I'm out of the office with limited access to email.",  # no date
    ],
    ids=["past", "too-far", "impossible", "none"],
)
def test_an_unusable_date_is_ignored(ctx: Any, dovecot: Any, body: str) -> None:
    ours = start(ctx, ["ana"])
    due = lead(ctx, "ana").next_send_at
    dovecot.deliver(auto_reply(LEADS["ana"], ours["ana"], body))
    assert check_inbox(ctx).kinds == {"auto_reply": 1}
    ana = lead(ctx, "ana")
    assert (ana.away_until, ana.next_send_at, ana.auto_replies) == (None, due, 1)
