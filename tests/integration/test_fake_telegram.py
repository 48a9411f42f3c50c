"""The fake Telegram server works with the real python-telegram-bot Application.

Each test drives PTB 22 over real HTTP against ``FakeTelegram`` (tests/servers/telegram.py).
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.servers.telegram import FakeTelegram
from tests.waiting import wait_until as sync_wait_until
from tests.waiting import wait_until_async

USER = 4242
EXPORT = b"email,first_name\nann@example.com,Ann\nbob@example.com,Bob\n"


def make_bot(fake: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(
        token or fake.token,
        base_url=f"{fake.url}/bot",
        base_file_url=f"{fake.url}/file/bot",
    )


def build_app(fake: FakeTelegram, downloads: list[bytes]) -> Application:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text("echo: " + " ".join(context.args or []))

    async def buttons(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton("Approve", callback_data="approve:7")]]
        )
        await update.effective_message.reply_text("Approve campaign 7?", reply_markup=keyboard)

    async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_document(
            document=EXPORT, filename="leads.csv", caption="2 leads"
        )

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        document = update.effective_message.document
        data = await (await document.get_file()).download_as_bytearray()
        downloads.append(bytes(data))
        await update.effective_message.reply_text(f"got {document.file_name}: {len(data)} bytes")

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer("done")
        await query.edit_message_text(f"pressed {query.data}")

    app = (
        Application.builder()
        .token(fake.token)
        .base_url(f"{fake.url}/bot")
        .base_file_url(f"{fake.url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("echo", echo))
    app.add_handler(CommandHandler("buttons", buttons))
    app.add_handler(CommandHandler("export", export))
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    app.add_handler(CallbackQueryHandler(on_button))
    return app


@pytest.fixture
def downloads() -> list[bytes]:
    return []


@pytest.fixture
async def app(fake_telegram: FakeTelegram, downloads: list[bytes]) -> AsyncIterator[Application]:
    application = build_app(fake_telegram, downloads)
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


async def test_command_reply_arrives(fake_telegram: FakeTelegram, app: Application) -> None:
    sent = fake_telegram.send_text(USER, "/echo hello world", username="operator")
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 5}]

    reply = await fake_telegram.wait_for_async("echo: hello world", timeout=5)

    assert reply["method"] == "sendMessage"
    assert reply["chat_id"] == USER
    assert reply["message"]["from"]["is_bot"] is True
    assert fake_telegram.calls("getMe"), "Application.initialize() calls getMe"
    assert fake_telegram.calls("deleteWebhook"), "start_polling bootstraps with deleteWebhook"


async def test_each_record_says_when_the_fake_stored_it(fake_telegram: FakeTelegram) -> None:
    before_wall, before = time.time(), time.monotonic()
    async with make_bot(fake_telegram) as bot:
        await bot.send_message(USER, "stamped")
    after_wall, after = time.time(), time.monotonic()

    [record] = fake_telegram.sent()
    assert before <= record["monotonic"] <= after
    assert before_wall <= record["time"] <= after_wall
    [call] = fake_telegram.calls("sendMessage")
    assert call["time"] <= record["time"]  # the request came in, then the message was stored


async def test_document_content_round_trips(
    fake_telegram: FakeTelegram, app: Application, downloads: list[bytes]
) -> None:
    content = b"email,name\n" + "zoë@example.com,Zoë\n".encode() * 500

    message = fake_telegram.send_document(USER, "leads.csv", content, caption="import")

    await fake_telegram.wait_for_async(f"got leads.csv: {len(content)} bytes", timeout=5)
    assert downloads == [content]
    get_file = fake_telegram.calls("getFile")
    assert [c["params"]["file_id"] for c in get_file] == [message["document"]["file_id"]]
    assert [c["status"] for c in fake_telegram.calls("downloadFile")] == [200]


async def test_huge_document_is_refused_by_get_file(fake_telegram: FakeTelegram) -> None:
    message = fake_telegram.send_document(USER, "big.csv", b"a,b\n", file_size=25 * 1024 * 1024)
    assert message["document"]["file_size"] == 25 * 1024 * 1024

    async with make_bot(fake_telegram) as bot:
        with pytest.raises(BadRequest, match="(?i)file is too big"):
            await bot.get_file(message["document"]["file_id"])


async def test_button_press_reaches_the_handler(
    fake_telegram: FakeTelegram, app: Application
) -> None:
    fake_telegram.send_text(USER, "/buttons")
    question = await fake_telegram.wait_for_async("Approve campaign 7?", timeout=5)
    assert question["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "approve:7"

    with pytest.raises(AssertionError, match="no button"):
        fake_telegram.press_button(USER, question, "reject:7")
    query = fake_telegram.press_button(USER, question, "approve:7")

    edited = await fake_telegram.wait_for_async("pressed approve:7", timeout=5)
    assert edited["method"] == "editMessageText"
    assert edited["message_id"] == question["message_id"]
    answers = fake_telegram.calls("answerCallbackQuery")
    assert [a["params"]["callback_query_id"] for a in answers] == [query["id"]]
    assert answers[0]["status"] == 200


async def test_set_my_commands_is_recorded(fake_telegram: FakeTelegram) -> None:
    async with make_bot(fake_telegram) as bot:
        assert await bot.set_my_commands([("echo", "Echo text"), ("export", "Export leads")])
        got = await bot.get_my_commands()
        with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
            await bot.set_my_commands([("Bad Command", "spaces and capitals")])
        assert await bot.delete_my_commands()

    assert got == (BotCommand("echo", "Echo text"), BotCommand("export", "Export leads"))
    calls = fake_telegram.calls("setMyCommands")
    assert calls[0]["params"]["commands"] == [
        {"command": "echo", "description": "Echo text"},
        {"command": "export", "description": "Export leads"},
    ]
    assert fake_telegram.commands() == []


async def wait_until(condition, timeout: float = 3.0) -> None:
    await wait_until_async(condition, timeout, "the condition")


async def test_two_concurrent_get_updates_conflict(fake_telegram: FakeTelegram) -> None:
    async with make_bot(fake_telegram) as first, make_bot(fake_telegram) as second:
        older = asyncio.create_task(first.get_updates(timeout=3))
        await wait_until(fake_telegram.is_polling)
        newer = asyncio.create_task(second.get_updates(timeout=3))

        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await older
        await wait_until(fake_telegram.is_polling)  # the newer request now waits
        fake_telegram.send_text(USER, "hi")
        updates = await asyncio.wait_for(newer, timeout=3)

    assert [u.message.text for u in updates] == ["hi"]
    assert fake_telegram.conflicts == 1


async def test_reject_new_conflict_mode() -> None:
    with FakeTelegram(conflict_mode="reject_new") as fake:
        async with make_bot(fake) as first, make_bot(fake) as second:
            older = asyncio.create_task(first.get_updates(timeout=2))
            await wait_until(fake.is_polling)
            with pytest.raises(Conflict, match="make sure that only one bot instance"):
                await second.get_updates(timeout=2)
            fake.send_text(USER, "still mine")
            updates = await asyncio.wait_for(older, timeout=3)
        assert [u.message.text for u in updates] == ["still mine"]
        assert fake.conflicts == 1


async def test_bot_send_document_stores_bytes(
    fake_telegram: FakeTelegram, app: Application
) -> None:
    fake_telegram.send_text(USER, "/export")

    record = await fake_telegram.wait_for_async(lambda r: r["document"] is not None, timeout=5)

    assert record["method"] == "sendDocument"
    assert record["document"]["filename"] == "leads.csv"
    assert record["document"]["content"] == EXPORT
    assert record["caption"] == "2 leads"
    assert fake_telegram.file_content(record["document"]["file_id"]) == EXPORT


def _png(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), "#3b75af")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """Only the start of a PNG: the fake reads the size from it, as Telegram does first."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + len(ihdr).to_bytes(4, "big") + b"IHDR" + ihdr


async def test_send_photo_answers_with_telegrams_sizes_and_keeps_the_bytes(
    fake_telegram: FakeTelegram,
) -> None:
    png = _png(960, 540)
    async with make_bot(fake_telegram) as bot:
        sent = await bot.send_photo(USER, png, caption="Last 14 days", filename="stats.png")
        largest = await bot.get_file(sent.photo[-1].file_id)
        downloaded = bytes(await largest.download_as_bytearray())

    assert [(p.width, p.height) for p in sent.photo] == [
        (90, 51),
        (320, 180),
        (800, 450),
        (960, 540),
    ]
    assert sent.caption == "Last 14 days"
    assert downloaded == png
    record = fake_telegram.sent(USER)[-1]
    assert record["method"] == "sendPhoto"
    assert (record["photo"]["width"], record["photo"]["height"]) == (960, 540)
    assert record["photo"]["content"] == png


async def test_send_photo_refuses_what_telegram_refuses(fake_telegram: FakeTelegram) -> None:
    async with make_bot(fake_telegram) as bot:
        with pytest.raises(BadRequest, match="(?i)image_process_failed"):
            await bot.send_photo(USER, b"email,first_name\n", filename="leads.csv")
        with pytest.raises(BadRequest, match="(?i)photo_invalid_dimensions"):
            await bot.send_photo(USER, _png_header(6000, 5000), filename="huge.png")
        with pytest.raises(BadRequest, match="(?i)photo_invalid_dimensions"):
            await bot.send_photo(USER, _png_header(2100, 100), filename="strip.png")
        with pytest.raises(BadRequest, match="(?i)message caption is too long"):
            await bot.send_photo(USER, _png(10, 10), caption="x" * 1025, filename="a.png")
        again = await bot.send_photo(USER, _png(10, 10), filename="small.png")
        resent = await bot.send_photo(USER, again.photo[-1].file_id)
    assert [(p.width, p.height) for p in resent.photo] == [(10, 10)]
    assert [r["method"] for r in fake_telegram.sent(USER)] == ["sendPhoto", "sendPhoto"]


async def test_unreachable_period_fails_then_recovers(
    fake_telegram: FakeTelegram, app: Application
) -> None:
    await wait_until(fake_telegram.is_polling)
    fake_telegram.set_unreachable(True)
    with pytest.raises(NetworkError):
        await app.bot.send_message(USER, "during the outage")
    # The pending long poll is dropped by the server's own thread: wait for it (with a deadline).
    await wait_until(
        lambda: any(c["status"] == "dropped" for c in fake_telegram.calls("getUpdates"))
    )
    fake_telegram.set_unreachable(False)

    await app.bot.send_message(USER, "after the outage")
    fake_telegram.send_text(USER, "/echo back again")
    await fake_telegram.wait_for_async("echo: back again", timeout=5)
    assert [r["text"] for r in fake_telegram.sent()][0] == "after the outage"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_fail_next_and_rate_limit(fake_telegram: FakeTelegram) -> None:
    async with make_bot(fake_telegram) as bot:
        fake_telegram.fail_next(1, 502, methods=["sendMessage"])
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(USER, "one")
        fake_telegram.rate_limit_next(1, retry_after=7)
        with pytest.raises(RetryAfter, match="Retry in 7 seconds"):
            await bot.send_message(USER, "two")
        await bot.send_message(USER, "three")

    assert [r["text"] for r in fake_telegram.sent()] == ["three"]
    assert [c["status"] for c in fake_telegram.calls("sendMessage")] == [502, 429, 200]


async def test_wrong_token_and_unknown_method(fake_telegram: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(fake_telegram, token="999:WRONG"):
            pass

    async with httpx.AsyncClient(base_url=f"{fake_telegram.url}/bot{fake_telegram.token}") as http:
        unknown = await http.post("/frobnicate", json={})
        harmless = await http.post("/setMyDescription", data={"description": "cold email"})
        me = await http.get("/getMe")
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert harmless.json() == {"ok": True, "result": True}
    assert me.json()["result"]["is_bot"] is True
    assert fake_telegram.calls("setMyDescription")[0]["params"] == {"description": "cold email"}


async def test_formatting_errors_are_reported_like_telegram(fake_telegram: FakeTelegram) -> None:
    async with make_bot(fake_telegram) as bot:
        with pytest.raises(BadRequest, match="(?i)can't parse entities: unsupported start tag"):
            await bot.send_message(USER, "Lead <ann@example.com> replied", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
            await bot.send_message(USER, "Sent 5 emails.", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(USER, "x" * 4097)
        ok = await bot.send_message(USER, "Lead &lt;ann&gt; <b>replied</b>", parse_mode="HTML")
        await bot.send_message(USER, r"Sent *5* emails\.", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text(
                "Lead &lt;ann&gt; <b>replied</b>", USER, ok.message_id, parse_mode="HTML"
            )
    assert len(fake_telegram.sent()) == 2


async def test_offset_confirms_updates(fake_telegram: FakeTelegram) -> None:
    for text in ("a", "b", "c"):
        fake_telegram.send_text(USER, text)
    async with make_bot(fake_telegram) as bot:
        first = await bot.get_updates(limit=2)
        rest = await bot.get_updates(offset=first[-1].update_id + 1)
        again = await bot.get_updates(offset=first[-1].update_id + 1)
        started = time.monotonic()
        empty = await bot.get_updates(offset=rest[-1].update_id + 1, timeout=1)
        waited = time.monotonic() - started
    assert [u.message.text for u in first] == ["a", "b"]
    assert [u.message.text for u in rest] == [u.message.text for u in again] == ["c"]
    assert empty == ()
    assert 0.8 < waited < 3
    assert fake_telegram.pending_updates == []


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict, str | None]] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(
            (json.loads(body), self.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        self.send_response(200 if self.path == "/hook" else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()


async def test_webhook_delivery(fake_telegram: FakeTelegram) -> None:
    _Receiver.received = []
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    try:
        async with make_bot(fake_telegram) as bot:
            assert await bot.set_webhook(hook, secret_token="s3cret")
            message = fake_telegram.send_text(USER, "/echo via webhook")
            await wait_until(lambda: fake_telegram.webhook_deliveries())
            with pytest.raises(Conflict, match="webhook is active"):
                await bot.get_updates()
            info = await bot.get_webhook_info()
            assert info.url == hook and info.pending_update_count == 0

            await bot.set_webhook(hook.replace("/hook", "/broken"))
            fake_telegram.send_text(USER, "lost")
            await wait_until(lambda: len(fake_telegram.webhook_deliveries()) >= 4)
            info = await bot.get_webhook_info()
            assert "500" in info.last_error_message

            assert await bot.delete_webhook()
            fake_telegram.send_text(USER, "polled")
            updates = await bot.get_updates()
    finally:
        receiver.shutdown()
        receiver.server_close()

    (update, secret), *failed = _Receiver.received
    assert secret == "s3cret"
    assert update["message"]["text"] == "/echo via webhook"
    assert update["message"]["message_id"] == message["message_id"]
    assert [d["status"] for d in fake_telegram.webhook_deliveries()] == [200, 500, 500, 500]
    assert [u.message.text for u in updates] == ["polled"]


def test_stop_is_prompt_while_a_long_poll_is_pending() -> None:
    fake = FakeTelegram().start()
    url = f"{fake.url}/bot{fake.token}/getUpdates"
    outcome: list[object] = []

    def poll() -> None:
        try:
            outcome.append(httpx.post(url, data={"timeout": 30}, timeout=40).status_code)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    poller = threading.Thread(target=poll)
    poller.start()
    sync_wait_until(fake.is_polling, 3, "the poll to start")

    started = time.monotonic()
    fake.stop()
    poller.join(timeout=5)

    assert time.monotonic() - started < 2
    assert not poller.is_alive()
    assert isinstance(outcome[0], httpx.HTTPError)
