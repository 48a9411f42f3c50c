"""Only TELEGRAM_ADMIN_IDS can read or change anything: commands, uploads and buttons, and only
in a private chat (an admin in a group is told to use a private chat; everyone else in a group
is ignored). Strangers get at most one refusal a minute each."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import format as fmt
from engine import campaign
from engine.clock import FakeClock
from engine.sending.queue import run_send_queue
from engine.storage.models import OutboundMessage
from tests.integration import bot_harness
from tests.integration.bot_harness import (
    ADMIN,
    STRANGER,
    RunningBot,
    snapshot,
)
from tests.waiting import handlers_idle, wait_until_async

running_bot = bot_harness.running_bot

REFUSAL = "Sorry, this is a private bot."
GROUP = -100_555
PRIVATE_ONLY = "Use me in a private chat"
BUTTONS = (
    "stop",
    "dom",
    "domyes",
    "domno",
    "int",
    "notint",
    "full",
    "ref",
    "cal",
    "del",
    "delyes",
    "resend",
    "wassent",
    "supp",
    "unsup",
    "unsupno",
    "mbpause",
    "mbresume",
    "mbrm",
    "mbrmyes",
    "mbrmstop",
    "mbrmnew",
    "mbrmno",
    "ls",
    "lp",
    "drun",
    "dpause",
    "dref",
    "dstats",
    "dleads",
    "dmbox",
)
ARGS = {
    "lead": " ana@acme.io",
    "settings": " daily_limit 1",
    "template": " initial\nSubject: hacked\nHacked {first_name}",
    "test": " evil@example.org",
    "mailbox": " add evil@example.org hunter2-pw smtp_server=evil.example.org",
}


async def drained(bot: RunningBot) -> None:
    """Every update so far was taken and handled: the queue is empty, an admin's private
    command sent after them is answered, and no handler is still running."""
    await wait_until_async(lambda: not bot.fake.pending_updates, 10, "every update taken")
    await bot.say("/leads", user=ADMIN, expect="leads")
    await wait_until_async(lambda: handlers_idle(bot.app), 10, "the handlers to finish")


def stranger_commands() -> list[str]:
    return [f"/{c}{ARGS.get(c, '')}" for c, _ in fmt.COMMANDS] + ["/settings", "hello"]


@pytest.fixture
async def with_data(running_bot: RunningBot, mailers) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Two leads, one of them sent to: (lead id, outbound message id)."""
    lead_id, _ = running_bot.add_leads("ana@acme.io", "bob@acme.io")
    ctx = running_bot.ctx
    await asyncio.to_thread(campaign.run, ctx)
    report = await asyncio.to_thread(run_send_queue, ctx, mailers(ctx), max_sends=1)
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
    clock: FakeClock = running_bot.ctx.clock  # type: ignore[assignment]
    for command in stranger_commands():
        # A minute apart, so each is refused (a flood gets one refusal a minute, tested below).
        mark = fake.mark()
        fake.send_text(STRANGER, command)
        await fake.wait_for_async(REFUSAL, chat_id=STRANGER, after=mark)
        clock.advance(timedelta(seconds=61))
    await drained(running_bot)
    assert [r["text"] for r in fake.sent(STRANGER)] == [REFUSAL] * len(stranger_commands())
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
    await wait_until_async(lambda: handlers_idle(running_bot.app), 10, "the handlers to finish")
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
    clock: FakeClock = running_bot.ctx.clock  # type: ignore[assignment]
    mark = fake.mark()
    for i, d in enumerate(data):
        clock.advance(timedelta(seconds=61))  # past the refusal limit: every press is answered
        fake.press_button(STRANGER, record, d)
        await _answered(running_bot, i + 1)
    await wait_until_async(lambda: handlers_idle(running_bot.app), 10, "the handlers to finish")
    answers = fake.calls("answerCallbackQuery")
    assert [a["params"].get("text") for a in answers] == ["Not allowed."] * len(data)
    assert fake.sent()[mark:] == []
    assert snapshot(running_bot.ctx) == before


async def _answered(running_bot: RunningBot, n: int) -> None:
    calls = running_bot.fake.calls
    await wait_until_async(lambda: len(calls("answerCallbackQuery")) >= n, 10, f"{n} answers")


async def test_it_leaks_no_lead_address_to_a_stranger(
    running_bot: RunningBot, with_data: tuple[int, int]
) -> None:
    fake = running_bot.fake
    for command in stranger_commands():
        fake.send_text(STRANGER, command)
    fake.send_document(STRANGER, "leads.csv", b"email\nmallory@evil.io\n")
    await drained(running_bot)
    assert len(fake.sent(STRANGER)) == 1  # one refusal for the whole burst
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
    await drained(running_bot)
    assert fake.sent(GROUP) == []
    assert fake.calls("getFile") == []
    assert snapshot(running_bot.ctx) == before


@pytest.mark.parametrize(
    "command", ["/export", "/lead ana@acme.io", "/pause", "/leads", "/settings daily_limit 1"]
)
async def test_it_tells_an_admin_in_a_group_to_use_a_private_chat_and_does_nothing(
    running_bot: RunningBot, with_data: tuple[int, int], command: str
) -> None:
    fake = running_bot.fake
    before = snapshot(running_bot.ctx)
    answer = await running_bot.say(command, user=ADMIN, chat_id=GROUP, chat_type="group")
    assert PRIVATE_ONLY in answer["text"]
    fake.send_document(ADMIN, "x.csv", b"email\nm@evil.io\n", chat_id=GROUP, chat_type="group")
    fake.send_text(ADMIN, "just chatting", chat_id=GROUP, chat_type="group")
    await drained(running_bot)
    texts = [r.get("text") or r.get("caption") for r in fake.sent(GROUP)]
    assert [t for t in texts if t and PRIVATE_ONLY not in t] == []
    assert len(texts) == 2  # the command and the file; plain chatter is not answered
    assert not [r for r in fake.sent(GROUP) if r.get("document")]
    assert not [t for t in texts if t and "acme.io" in t]
    assert fake.calls("getFile") == []
    assert snapshot(running_bot.ctx) == before
    status = await asyncio.to_thread(campaign.status, running_bot.ctx)
    assert status.state == "running"


async def test_an_admins_button_press_in_a_group_does_nothing(
    running_bot: RunningBot, with_data: tuple[int, int]
) -> None:
    lead_id, _ = with_data
    fake = running_bot.fake
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("stop", callback_data=f"stop:{lead_id}")]])
    await running_bot.app.bot.send_message(GROUP, "buttons", reply_markup=markup)
    record = await fake.wait_for_async("buttons", chat_id=GROUP)
    before = snapshot(running_bot.ctx)
    fake.press_button(ADMIN, record, f"stop:{lead_id}")
    await _answered(running_bot, 1)
    await drained(running_bot)
    (answer,) = fake.calls("answerCallbackQuery")
    assert PRIVATE_ONLY in answer["params"]["text"]
    assert snapshot(running_bot.ctx) == before


async def test_it_refuses_a_stranger_at_most_once_a_minute(running_bot: RunningBot) -> None:
    fake = running_bot.fake
    clock: FakeClock = running_bot.ctx.clock  # type: ignore[assignment]
    for i in range(40):
        fake.send_text(STRANGER, f"/status {i}")
    await drained(running_bot)
    assert [r["text"] for r in fake.sent(STRANGER)] == [REFUSAL]
    clock.advance(timedelta(seconds=59))
    fake.send_text(STRANGER, "/status")
    await drained(running_bot)
    assert len(fake.sent(STRANGER)) == 1
    clock.advance(timedelta(seconds=2))
    fake.send_text(STRANGER, "/status")
    await fake.wait_for_async(lambda r: len(fake.sent(STRANGER)) == 2, chat_id=STRANGER)
    # Other strangers are limited on their own count.
    fake.send_text(STRANGER + 1, "/status")
    await fake.wait_for_async(REFUSAL, chat_id=STRANGER + 1)


async def test_a_stranger_pressing_buttons_gets_one_answer_a_minute(
    running_bot: RunningBot, with_data: tuple[int, int]
) -> None:
    lead_id, _ = with_data
    fake = running_bot.fake
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data=f"stop:{lead_id}")]])
    await running_bot.app.bot.send_message(STRANGER, "buttons", reply_markup=markup)
    record = await fake.wait_for_async("buttons", chat_id=STRANGER)
    for _ in range(20):
        fake.press_button(STRANGER, record, f"stop:{lead_id}")
    await drained(running_bot)
    assert len(fake.calls("answerCallbackQuery")) == 1
