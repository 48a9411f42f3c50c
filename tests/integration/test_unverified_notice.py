"""The "⚠️ unverified sender" notice through the real bot and the fake Bot API: one line, one
"Apply anyway" button, which applies the held opt-out exactly once; strangers cannot press it."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.notifier import TelegramNotifier
from engine.delivery import deliver_notifications
from engine.inbox.sync import check_inbox
from engine.storage.models import PendingNotification, Suppression
from tests import hostile
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, STRANGER, RunningBot
from tests.integration.sendkit import mailbox_ctx
from tests.integration.test_inbox_sync import LEADS, lead, start
from tests.waiting import wait_until_async

running_bot = bot_harness.running_bot


async def _answered(fake, text: str, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until the bot answered a button press with ``text`` (a toast)."""
    await wait_until_async(
        lambda: any(c["params"].get("text") == text for c in fake.calls("answerCallbackQuery")),
        timeout,
        f"a {text!r} toast",
    )


SPOOF_AR = "mx.ourdomain.com; spf=fail smtp.mailfrom=epsilon.io; dmarc=fail header.from=epsilon.io"


async def test_the_apply_anyway_button_applies_a_held_opt_out_once(
    running_bot: RunningBot, make_ctx, dovecot, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    inbox = mailbox_ctx(make_ctx, smtp_server, dovecot)
    await asyncio.to_thread(start, inbox, ["eve"])
    dovecot.deliver(hostile.spoofed(LEADS["eve"], "Please unsubscribe me", auth_results=[SPOOF_AR]))
    assert (await asyncio.to_thread(check_inbox, inbox)).kinds == {"unverified": 1}
    fake = running_bot.fake
    mark = fake.mark()

    await deliver_notifications(running_bot.ctx, TelegramNotifier(running_bot.app.bot, (ADMIN,)))

    notice = await fake.wait_for_async("⚠️ unverified sender", chat_id=ADMIN, after=mark)
    assert "\n" not in notice["text"] and LEADS["eve"] in notice["text"]
    [[button]] = notice["reply_markup"]["inline_keyboard"]
    assert button["text"] == "Apply anyway"
    assert len(button["callback_data"].encode()) <= 64
    assert lead(inbox, "eve").status == "sent"

    fake.press_button(STRANGER, notice, button["callback_data"], chat_id=ADMIN)
    await _answered(fake, "Not allowed.")
    assert lead(inbox, "eve").status == "sent"

    fake.press_button(ADMIN, notice, button["callback_data"])
    await fake.wait_for_async(
        "✅ Applied: an opt-out for eve@epsilon.io", chat_id=ADMIN, after=mark
    )
    fake.press_button(ADMIN, notice, button["callback_data"])
    await fake.wait_for_async("Already applied to eve@epsilon.io", chat_id=ADMIN, after=mark)

    assert lead(inbox, "eve").status == "unsubscribed"
    with inbox.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Suppression)) == 1
        kinds = list(
            session.scalars(select(PendingNotification.kind).order_by(PendingNotification.id))
        )
    assert kinds.count("opt_out") == 1
