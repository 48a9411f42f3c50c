"""/mailbox add and a CSV of mailboxes through the real Application and the fake Bot API, against
the test SMTP server and Dovecot, on SQLite and PostgreSQL: the logins are checked before
anything is saved, a failure names the login and the server's words, the message holding the
password is deleted, and the password is stored encrypted and shown nowhere."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from engine.mailboxes.vault import Vault
from tests.conftest import BASE_ENV
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, RunningBot
from tests.integration.mailboxkit import (
    BOX,
    CSV_HEADER,
    KEY,
    PASSWORD,
    Servers,
    chat_mailboxes,
    command,
    database_text,
    deleted_ids,
    everything_the_bot_said,
    mailbox,
    servers_for,
    stored_password,
)
from tests.servers.smtp import BAD_CREDENTIALS

running_bot = bot_harness.running_bot


@pytest.fixture
def bot(running_bot: RunningBot) -> RunningBot:
    """The bot with SECRET_KEY set (the harness's settings have none)."""
    running_bot.ctx.vault = Vault(KEY)
    return running_bot


@pytest.fixture
def servers(smtp_server: Any, dovecot: Any) -> Servers:
    return servers_for(smtp_server, dovecot)


async def test_it_adds_a_mailbox_whose_logins_work_and_stores_the_password_encrypted(
    bot: RunningBot, servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    message, answer = await command(bot, f"/mailbox add {BOX} {PASSWORD} {servers.options()}")

    assert f"✅ {BOX} added: both logins work" in answer["text"]
    assert "I deleted your message: it held the password" in answer["text"]
    assert message["message_id"] in deleted_ids(bot)
    (row,) = chat_mailboxes(bot.ctx)
    assert (row.email, row.state, row.smtp_port, row.imap_port) == (
        BOX,
        "active",
        servers.smtp_port,
        servers.imap_port,
    )
    assert stored_password(bot.ctx) == PASSWORD
    assert PASSWORD not in database_text(bot.ctx)
    assert PASSWORD not in everything_the_bot_said(bot)
    assert PASSWORD not in caplog.text
    assert "/mailbox add" not in caplog.text  # python-telegram-bot's debug lines are withheld


async def test_it_refuses_a_wrong_smtp_password_with_the_servers_words_and_saves_nothing(
    bot: RunningBot, servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    message, answer = await command(bot, f"/mailbox add {BOX} wrong-{PASSWORD} {servers.options()}")

    text = answer["text"]
    assert text.startswith(f"❌ The SMTP (sending) login of {BOX} failed.")
    assert BAD_CREDENTIALS.split(" ", 2)[2] in text  # "Username and Password not accepted…"
    assert "Nothing was saved" in text
    assert "I deleted your message" in text
    assert message["message_id"] in deleted_ids(bot)
    assert chat_mailboxes(bot.ctx) == []
    assert PASSWORD not in everything_the_bot_said(bot) and PASSWORD not in caplog.text


async def test_it_names_the_imap_login_when_only_imap_refuses(
    bot: RunningBot, smtp_server: Any, dovecot: Any
) -> None:
    smtp_server.add_login(BOX, PASSWORD)
    dovecot.add_user(BOX, "another-imap-password")
    options = Servers(smtp_server.port, dovecot.port).options()

    message, answer = await command(bot, f"/mailbox add {BOX} {PASSWORD} {options}")

    assert answer["text"].startswith(f"❌ The IMAP (reading replies) login of {BOX} failed.")
    assert "The server said: IMAP login" in answer["text"]
    assert message["message_id"] in deleted_ids(bot)
    assert chat_mailboxes(bot.ctx) == []


async def test_it_refuses_without_secret_key_saying_what_to_set(
    running_bot: RunningBot, servers: Servers
) -> None:
    message, answer = await command(
        running_bot, f"/mailbox add {BOX} {PASSWORD} {servers.options()}"
    )

    assert "Set SECRET_KEY (at least 16 characters" in answer["text"]
    assert "restart" in answer["text"] and "Nothing was saved" in answer["text"]
    assert message["message_id"] in deleted_ids(running_bot)
    assert chat_mailboxes(running_bot.ctx) == []


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ("smtp_port=99999", "smtp_port=99999 is out of range; use 1..65535"),
        ("smtp_security=tls", "smtp_security='tls': use starttls, ssl or none"),
        ("smtp_prot=2525", "did you mean smtp_port?"),
        ("daily_limit=many", "is not a whole number"),
    ],
)
async def test_it_refuses_a_bad_key_or_value_clearly_and_still_deletes_the_message(
    bot: RunningBot, options: str, said: str
) -> None:
    message, answer = await command(bot, f"/mailbox add {BOX} {PASSWORD} {options}")

    assert answer["text"].startswith("❌")
    assert said in answer["text"]
    assert "Nothing was saved" in answer["text"] and "I deleted your message" in answer["text"]
    assert message["message_id"] in deleted_ids(bot)
    assert chat_mailboxes(bot.ctx) == []
    assert PASSWORD not in everything_the_bot_said(bot)


async def test_it_refuses_the_environments_own_address(bot: RunningBot) -> None:
    message, answer = await command(bot, f"/mailbox add {BASE_ENV['EMAIL_ADDRESS']} x-{PASSWORD}")

    assert "is the environment's mailbox (EMAIL_ADDRESS)" in answer["text"]
    assert message["message_id"] in deleted_ids(bot)
    assert chat_mailboxes(bot.ctx) == []


async def test_adding_an_address_again_updates_its_password_and_keeps_its_other_values(
    bot: RunningBot, servers: Servers, smtp_server: Any, dovecot: Any
) -> None:
    await command(bot, f"/mailbox add {BOX} {PASSWORD} {servers.options()} daily_limit=40")
    smtp_server.add_login(BOX, "new-pass-for-ana")
    dovecot.set_password("new-pass-for-ana", user=BOX)

    _message, answer = await command(bot, f"/mailbox add {BOX} new-pass-for-ana")

    assert f"✅ {BOX} updated" in answer["text"]
    (row,) = chat_mailboxes(bot.ctx)
    assert (row.daily_limit, row.smtp_port) == (40, servers.smtp_port)
    assert stored_password(bot.ctx) == "new-pass-for-ana"


async def test_a_csv_of_mailboxes_is_checked_line_by_line_reported_and_deleted(
    bot: RunningBot, smtp_server: Any, dovecot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    servers = servers_for(smtp_server, dovecot, (BOX, PASSWORD), ("bob@acme.test", "bob-pw-99"))
    cells = servers.csv_cells()
    data = (
        f"{CSV_HEADER}\n{BOX},{PASSWORD},{cells}\nbob@acme.test,not-bobs-pw,{cells}\n"
        f"not-an-address,pw,{cells}\n"
    ).encode()
    mark = bot.fake.mark()
    document = bot.fake.send_document(ADMIN, "boxes.csv", data, caption="/mailboxes")
    report = await bot.fake.wait_for_async("Mailboxes from the file", 30, chat_id=ADMIN, after=mark)

    text = report["text"]
    assert "1 added, 0 updated, 2 failed" in text
    assert f"line 2: ✅ {BOX} added" in text
    assert "line 3: ❌ The SMTP (sending) login of bob@acme.test failed" in text
    assert "line 4: ❌ The address is not an email address" in text
    assert "I deleted your file" in text
    assert document["message_id"] in deleted_ids(bot)
    assert [m.email for m in chat_mailboxes(bot.ctx)] == [BOX]
    assert mailbox(bot.ctx).smtp_port == servers.smtp_port
    assert PASSWORD not in everything_the_bot_said(bot) and PASSWORD not in caplog.text
    assert PASSWORD not in database_text(bot.ctx)


async def test_a_csv_without_the_caption_stays_a_lead_import(bot: RunningBot) -> None:
    answer = await bot.upload("leads.csv", b"email\nzed@acme.io\n", expect="Import finished")

    assert "Imported: 1" in answer["text"]
    assert bot.fake.calls("deleteMessage") == []
