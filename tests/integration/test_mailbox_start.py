"""The mailbox check at start (``bot.app.check_mailboxes``), on SQLite and PostgreSQL: mailbox 1
takes EMAIL_ADDRESS; mailboxes whose passwords the current SECRET_KEY cannot decrypt become
broken and are named in one alert, told once; the old key back makes them usable again."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from bot.app import check_mailboxes
from engine.context import EngineContext
from engine.mailboxes.accounts import load
from engine.states import AlertCondition, MailboxHold, MailboxStatus, NoticeKind
from engine.storage import store
from engine.storage.models import Mailbox
from tests.integration.sendkit import outbox, words
from tests.mailboxrows import chat_mailbox

KEY = "a-long-enough-secret-key-for-tests"
OTHER_KEY = "another-secret-key-not-the-same"


def store_mailboxes(ctx: EngineContext, **holds: str) -> None:
    """bea@ and cai@ added from the chat with KEY; ``holds`` puts one of them on a hold."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        for email in ("bea@acme.test", "cai@acme.test"):
            hold = holds.get(email.split("@")[0])
            state = MailboxStatus.PAUSED if hold else MailboxStatus.ACTIVE
            session.add(
                chat_mailbox(email, f"pw-of-{email}", key=KEY, now=now, state=state, hold=hold)
            )


def states(ctx: EngineContext) -> dict[str, str]:
    with ctx.db.transaction() as session:
        return {m.email: m.state for m in session.scalars(select(Mailbox).order_by(Mailbox.id))}


def alerts(ctx: EngineContext) -> list[str]:
    return [
        words(n)
        for n in outbox(ctx)
        if (n.payload or {}).get("condition") == AlertCondition.MAILBOX_BROKEN
    ]


def test_it_gives_mailbox_1_the_environments_address(
    make_ctx: Callable[..., EngineContext],
) -> None:
    ctx = make_ctx(EMAIL_ADDRESS="Sam@Example.com")

    check_mailboxes(ctx)

    with ctx.db.transaction() as session:
        row = session.get(Mailbox, 1)
        assert row is not None
        assert (row.email, row.email_key) == ("Sam@Example.com", "sam@example.com")


def test_a_wrong_secret_key_marks_them_broken_in_one_alert_and_the_rest_goes_on(
    make_ctx: Callable[..., EngineContext],
) -> None:
    store_mailboxes(make_ctx(SECRET_KEY=KEY), cai=MailboxHold.ADMIN)
    ctx = make_ctx(SECRET_KEY=OTHER_KEY)

    check_mailboxes(ctx)
    check_mailboxes(ctx)  # a second start tells nothing new

    assert states(ctx) == {
        "sender@example.com": "active",
        "bea@acme.test": "broken",
        "cai@acme.test": "broken",
    }
    (alert,) = alerts(ctx)
    assert alert.startswith("🔐 2 mailbox(es) cannot send: bea@acme.test, cai@acme.test.")
    assert "SECRET_KEY is not the key their passwords were saved with" in alert
    assert OTHER_KEY not in alert and KEY not in alert
    with ctx.db.transaction() as session:
        found = load(session, store.effective_settings(session, ctx.settings), ctx.vault)
    assert [a.email for a in found.usable if a.may_send] == ["sender@example.com"]


def test_without_secret_key_the_alert_says_it_is_not_set(
    make_ctx: Callable[..., EngineContext],
) -> None:
    store_mailboxes(make_ctx(SECRET_KEY=KEY))
    ctx = make_ctx()

    check_mailboxes(ctx)

    (alert,) = alerts(ctx)
    assert "SECRET_KEY is not set" in alert


def test_the_old_key_back_makes_them_usable_again_and_clears_the_alert(
    make_ctx: Callable[..., EngineContext],
) -> None:
    store_mailboxes(make_ctx(SECRET_KEY=KEY), cai=MailboxHold.ADMIN)
    check_mailboxes(make_ctx(SECRET_KEY=OTHER_KEY))
    ctx = make_ctx(SECRET_KEY=KEY)

    check_mailboxes(ctx)

    # An admin's pause outlives the key trouble.
    assert states(ctx)["bea@acme.test"] == "active"
    assert states(ctx)["cai@acme.test"] == "paused"
    cleared = [
        words(n)
        for n in outbox(ctx, NoticeKind.CLEARED)
        if n.payload.get("condition") == AlertCondition.MAILBOX_BROKEN
    ]
    assert cleared == [
        "🔓 Every mailbox's password can be read again (bea@acme.test, cai@acme.test)."
    ]
