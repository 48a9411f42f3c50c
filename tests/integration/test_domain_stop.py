""" "Stop whole domain" asks first and never stops a free-mail provider; the suppression list can
be read (paginated) and an entry taken off it, after a confirmation. All through the real PTB
Application and the fake Bot API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from engine.states import LeadStatus
from engine.storage import store
from engine.storage.models import Suppression
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, RunningBot, snapshot
from tests.integration.test_notifier import reply_notification

running_bot = bot_harness.running_bot


def buttons(record: dict) -> list[str]:
    rows = (record.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b["callback_data"] for row in rows for b in row]


def suppression_values(bot: RunningBot) -> set[str]:
    with bot.ctx.db.transaction() as session:
        return set(session.scalars(select(Suppression.value)))


async def press(bot: RunningBot, record: dict, data: str, expect: str) -> dict:
    mark = bot.fake.mark()
    bot.fake.press_button(ADMIN, record, data)
    return await bot.fake.wait_for_async(expect, chat_id=ADMIN, after=mark)


async def test_a_free_mail_domain_cannot_be_stopped_and_the_lead_can_be_instead(
    running_bot: RunningBot,
) -> None:
    ann, _, _ = running_bot.add_leads("ann@gmail.com", "bea@gmail.com", "cy@gmail.com")
    record = await reply_notification(running_bot, "ann@gmail.com")
    before = snapshot(running_bot.ctx)
    answer = await press(running_bot, record, f"dom:{ann}", "free-mail provider")
    assert "gmail.com" in answer["text"] and "ann@gmail.com" in answer["text"]
    assert buttons(answer) == [f"stop:{ann}"]
    assert snapshot(running_bot.ctx) == before
    await press(running_bot, answer, f"stop:{ann}", "Nothing more will be sent to ann@gmail.com")
    assert running_bot.lead("ann@gmail.com").status == LeadStatus.STOPPED  # type: ignore[union-attr]
    assert running_bot.lead("bea@gmail.com").status == LeadStatus.PENDING  # type: ignore[union-attr]
    assert suppression_values(running_bot) == {"ann@gmail.com"}


async def test_a_forged_confirmation_for_a_free_mail_domain_is_refused(
    running_bot: RunningBot,
) -> None:
    ann, _ = running_bot.add_leads("ann@hotmail.co.uk", "bea@hotmail.co.uk")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data=f"domyes:{ann}")]])
    await running_bot.app.bot.send_message(ADMIN, "forged", reply_markup=markup)
    record = await running_bot.fake.wait_for_async("forged", chat_id=ADMIN)
    before = snapshot(running_bot.ctx)
    answer = await press(running_bot, record, f"domyes:{ann}", "❌")
    assert "hotmail.co.uk is a free-mail provider" in answer["text"]
    assert snapshot(running_bot.ctx) == before


async def test_a_domain_stop_asks_with_the_number_of_leads_and_cancel_changes_nothing(
    running_bot: RunningBot,
) -> None:
    ana, _, _ = running_bot.add_leads("ana@acme.io", "bob@acme.io", "cleo@beta.io")
    record = await reply_notification(running_bot, "ana@acme.io")
    before = snapshot(running_bot.ctx)
    ask = await press(running_bot, record, f"dom:{ana}", "Stop everyone at acme.io?")
    assert "2 lead(s)" in ask["text"]
    assert buttons(ask) == [f"domyes:{ana}", f"domno:{ana}"]
    assert snapshot(running_bot.ctx) == before
    await press(running_bot, ask, f"domno:{ana}", "Cancelled; nothing was changed.")
    assert snapshot(running_bot.ctx) == before
    running_bot.add_leads("dan@acme.io")
    assert running_bot.lead("dan@acme.io") is not None


async def test_unsuppress_asks_then_takes_the_entry_off_the_list(running_bot: RunningBot) -> None:
    ana, _ = running_bot.add_leads("ana@acme.io", "bob@acme.io")
    record = await reply_notification(running_bot, "ana@acme.io")
    ask = await press(running_bot, record, f"dom:{ana}", "Stop everyone at acme.io?")
    await press(running_bot, ask, f"domyes:{ana}", "anyone at acme.io (2 lead(s))")
    assert "acme.io" in suppression_values(running_bot)

    unknown = await running_bot.say("/unsuppress nobody.example", expect="❌")
    assert "nobody.example is not on the suppression list" in unknown["text"]
    assert "/suppressions" in unknown["text"]
    by_domain = await running_bot.say("/unsuppress bob@acme.io", expect="❌")
    assert "Its whole domain is: /unsuppress acme.io" in by_domain["text"]
    bare = await running_bot.say("/unsuppress")
    assert "Which entry?" in bare["text"]

    ask = await running_bot.say("/unsuppress ACME.io", expect="Remove acme.io")
    (entry_id,) = [d.split(":")[1] for d in buttons(ask) if d.startswith("unsup:")]
    await press(running_bot, ask, f"unsupno:{entry_id}", "Cancelled")
    assert "acme.io" in suppression_values(running_bot)

    ask = await running_bot.say("/unsuppress acme.io", expect="Remove acme.io")
    await press(running_bot, ask, f"unsup:{entry_id}", "acme.io is off the suppression list")
    assert "acme.io" not in suppression_values(running_bot)
    # Stopped leads stay stopped; a new address at the domain imports again.
    assert running_bot.lead("bob@acme.io").status == LeadStatus.STOPPED  # type: ignore[union-attr]
    running_bot.add_leads("dan@acme.io")
    assert running_bot.lead("dan@acme.io") is not None
    # The confirmation is used once: its buttons are gone.
    with running_bot.fake._cond:  # noqa: SLF001 - the fake's stored copy of the message
        stored = running_bot.fake._messages[(ADMIN, ask["message_id"])]  # noqa: SLF001
    assert "reply_markup" not in stored


async def test_suppressions_lists_the_entries_twenty_a_page_with_buttons(
    running_bot: RunningBot,
) -> None:
    empty = await running_bot.say("/suppressions")
    assert empty["text"] == "🚫 The suppression list is empty."
    ctx = running_bot.ctx
    t0 = ctx.clock.now()
    with ctx.db.transaction() as session:
        for i in range(45):
            store.suppress(
                session, t0 + timedelta(seconds=i), f"lead{i:02d}@x.io", "email", "opt-out"
            )
    first = await running_bot.say("/suppressions", expect="Suppression list")
    assert "45 entries (page 1/3)" in first["text"]
    assert "1. lead44@x.io" in first["text"] and "20. lead25@x.io" in first["text"]
    assert "lead24@x.io" not in first["text"]
    assert buttons(first) == ["supp:1"]

    second = await press(running_bot, first, "supp:1", "page 2/3")
    assert second["method"] == "editMessageText"
    assert second["message_id"] == first["message_id"]
    assert "21. lead24@x.io" in second["text"] and "lead44@x.io" not in second["text"]
    assert buttons(second) == ["supp:0", "supp:2"]
    third = await press(running_bot, second, "supp:2", "page 3/3")
    assert "45. lead00@x.io" in third["text"] and third["text"].count("@x.io") == 5
    assert buttons(third) == ["supp:1"]
    back = await press(running_bot, third, "supp:1", "page 2/3")
    assert "21. lead24@x.io" in back["text"]


async def test_the_new_commands_are_in_the_command_menu(running_bot: RunningBot) -> None:
    names = [c["command"] for c in running_bot.fake.commands()]
    assert "suppressions" in names and "unsuppress" in names
