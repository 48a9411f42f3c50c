"""Only TELEGRAM_ADMIN_IDS can read or change anything: commands, uploads and buttons, in private
chats and in groups (the bot acts on admins' messages in a group and ignores everyone else's)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import format as fmt
from engine import campaign
from engine.dispatch import run_send_queue
from engine.models import OutboundMessage
from tests.integration import bot_harness
from tests.integration.bot_harness import (
    ADMIN,
    STRANGER,
    RunningBot,
    snapshot,
)

running_bot = bot_harness.running_bot

REFUSAL = "Sorry, this is a private bot."
GROUP = -100_555
BUTTONS = ("stop", "dom", "int", "notint", "del", "delyes", "resend", "wassent")
ARGS = {
    "lead": " ana@acme.io",
    "settings": " daily_limit 1",
    "template": " initial\nSubject: hacked\nHacked {first_name}",
    "test": " evil@example.org",
}


def stranger_commands() -> list[str]:
    return [f"/{c}{ARGS.get(c, '')}" for c, _ in fmt.COMMANDS] + ["/settings", "hello"]


@pytest.fixture
async def with_data(running_bot: RunningBot) -> tuple[int, int]:
    """Two leads, one of them sent to: (lead id, outbound message id)."""
    lead_id, _ = running_bot.add_leads("ana@acme.io", "bob@acme.io")
    ctx = running_bot.ctx
    await asyncio.to_thread(campaign.run, ctx)
    report = await asyncio.to_thread(run_send_queue, ctx, ctx.new_mailer(), max_sends=1)
    assert report.events == ["sent"]
    with ctx.db.transaction() as session:
        outbound_id = session.scalars(select(OutboundMessage.id)).one()
    return lead_id, outbound_id


async def test_it_refuses_every_command_from_a_stranger_and_changes_nothing(
    running_bot: RunningBot, with_data: tuple[int, int], smtp_server
) -> None:  # type: ignore[no-untyped-def]
    fake = running_bot.fake
    before = snapshot(running_bot.ctx)
    sent_mail = len(smtp_server.messages)
    commands = stranger_commands()
    for command in commands:
        fake.send_text(STRANGER, command)
    await fake.wait_for_async(
        lambda r: len([x for x in fake.sent(STRANGER) if x["text"] == REFUSAL]) == len(commands),
        chat_id=STRANGER,
    )
    await asyncio.sleep(0.3)
    assert [r["text"] for r in fake.sent(STRANGER)] == [REFUSAL] * len(commands)
    assert not [r for r in fake.sent(STRANGER) if r.get("document")]
    assert snapshot(running_bot.ctx) == before
    assert len(smtp_server.messages) == sent_mail


async def test_it_refuses_a_csv_upload_from_a_stranger_without_downloading_it(
    running_bot: RunningBot, with_data: tuple[int, int]
) -> None:
    before = snapshot(running_bot.ctx)
    answer = await running_bot.upload(
        "leads.csv", b"email\nmallory@evil.io\n", user=STRANGER, expect=REFUSAL
    )
    assert answer["text"] == REFUSAL
    await asyncio.sleep(0.3)
    assert running_bot.fake.calls("getFile") == []
    assert [r["text"] for r in running_bot.fake.sent(STRANGER)] == [REFUSAL]
    assert snapshot(running_bot.ctx) == before


async def test_it_refuses_every_button_from_a_stranger_and_changes_nothing(
    running_bot: RunningBot, with_data: tuple[int, int]
) -> None:
    lead_id, outbound_id = with_data
    fake = running_bot.fake
    fake.send_text(STRANGER, "hi")
    await fake.wait_for_async(REFUSAL, chat_id=STRANGER)
    data = [f"{b}:{outbound_id if b in ('resend', 'wassent') else lead_id}" for b in BUTTONS]
    # A message carrying every kind of button, as if forged or forwarded to the stranger.
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d)] for d in data])
    await running_bot.app.bot.send_message(STRANGER, "buttons", reply_markup=markup)
    record = await fake.wait_for_async("buttons", chat_id=STRANGER)
    before = snapshot(running_bot.ctx)
    mark = fake.mark()
    for d in data:
        fake.press_button(STRANGER, record, d)
    await _answered(running_bot, len(data))
    await asyncio.sleep(0.3)
    answers = fake.calls("answerCallbackQuery")
    assert [a["params"].get("text") for a in answers] == ["Not allowed."] * len(data)
    assert fake.sent()[mark:] == []
    assert snapshot(running_bot.ctx) == before


async def _answered(running_bot: RunningBot, n: int) -> None:
    for _ in range(500):
        if len(running_bot.fake.calls("answerCallbackQuery")) >= n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"only {len(running_bot.fake.calls('answerCallbackQuery'))} answers")


async def test_it_leaks_no_lead_address_to_a_stranger(
    running_bot: RunningBot, with_data: tuple[int, int]
) -> None:
    fake = running_bot.fake
    for command in stranger_commands():
        fake.send_text(STRANGER, command)
    fake.send_document(STRANGER, "leads.csv", b"email\nmallory@evil.io\n")
    n = len(stranger_commands()) + 1
    await fake.wait_for_async(lambda r: len(fake.sent(STRANGER)) >= n, chat_id=STRANGER)
    await asyncio.sleep(0.3)
    outputs = [str(r) for r in fake.sent(STRANGER)]
    outputs += [str(c["params"]) for c in fake.calls() if str(STRANGER) in str(c["params"])]
    assert not [o for o in outputs if "acme.io" in o]


async def test_it_ignores_a_non_admin_in_a_group_chat(
    running_bot: RunningBot, with_data: tuple[int, int]
) -> None:
    fake = running_bot.fake
    before = snapshot(running_bot.ctx)
    for command in ("/stop", "/pause", "/settings daily_limit 1", "/lead ana@acme.io"):
        fake.send_text(STRANGER, command, chat_id=GROUP, chat_type="group")
    fake.send_document(STRANGER, "x.csv", b"email\nm@evil.io\n", chat_id=GROUP, chat_type="group")
    # An admin's message after them shows the updates were all taken and processed.
    answer = await running_bot.say("/leads", user=ADMIN, chat_id=GROUP, chat_type="group")
    assert "2 leads" in answer["text"]
    await asyncio.sleep(0.5)
    assert [r["text"] for r in fake.sent(GROUP)] == [answer["text"]]
    assert fake.calls("getFile") == []
    assert snapshot(running_bot.ctx) == before


async def test_it_acts_on_an_admin_in_a_group_chat(
    running_bot: RunningBot, with_data: tuple[int, int]
) -> None:
    answer = await running_bot.say("/pause", user=ADMIN, chat_id=GROUP, chat_type="group")
    assert "paused" in answer["text"]
    status = await asyncio.to_thread(campaign.status, running_bot.ctx)
    assert status.state == "paused"
