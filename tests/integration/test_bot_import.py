"""Uploading a CSV of leads to the real Application: the report, odd files, limits, progress."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from engine.sending.queue import run_send_queue
from engine.storage.models import Lead
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, RunningBot
from tests.waiting import handlers_idle, wait_until_async

running_bot = bot_harness.running_bot

FINISHED = "Import finished"


def lead_count(bot: RunningBot) -> int:
    with bot.ctx.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Lead)) or 0)


def final_text(bot: RunningBot, record: dict) -> str:
    """The last text of a message the bot sent and then edited."""
    edits = [
        r
        for r in bot.fake.sent(ADMIN)
        if r["message_id"] == record["message_id"] and r.get("text") is not None
    ]
    return str(edits[-1]["text"])


async def test_it_reports_imported_duplicates_and_invalid_rows_with_line_numbers(
    running_bot: RunningBot,
) -> None:
    running_bot.add_leads("old@acme.io")
    data = (
        b"email,first_name\n"
        b"ana@acme.io,Ana\n"
        b"not-an-email,X\n"
        b"ANA@acme.io,Ana again\n"
        b"old@acme.io,Old\n"
        b"bob@beta.io,Bob\n"
    )
    answer = await running_bot.upload("leads.csv", data, expect=FINISHED)
    report = answer["text"]
    assert "Imported: 2" in report
    assert "Duplicates: 2 (1 within the file, 1 already stored)" in report
    assert "Invalid: 1" in report
    assert "line 3:" in report
    assert lead_count(running_bot) == 3


async def test_it_imports_a_latin_1_file_with_its_accents(running_bot: RunningBot) -> None:
    data = "email,first_name,company\nzoe@acme.io,Zoë,Société Générale\n".encode("latin-1")
    answer = await running_bot.upload("leads.csv", data, expect=FINISHED)
    assert "Imported: 1" in answer["text"]
    lead = running_bot.lead("zoe@acme.io")
    assert lead is not None
    assert (lead.first_name, lead.company) == ("Zoë", "Société Générale")


async def test_it_explains_a_file_without_an_email_column_and_imports_nothing(
    running_bot: RunningBot,
) -> None:
    data = b"name,company\nAna,Acme\nBob,Beta\n"
    answer = await running_bot.upload("leads.csv", data, expect="Nothing was imported")
    assert answer["text"].startswith("❌")
    assert "email" in answer["text"].lower()
    assert lead_count(running_bot) == 0


async def test_it_explains_a_binary_file(running_bot: RunningBot) -> None:
    data = bytes(range(256)) * 8
    answer = await running_bot.upload("leads.csv", data, expect="Nothing was imported")
    assert answer["text"].startswith("❌")
    assert lead_count(running_bot) == 0


async def test_it_asks_for_xlsx_or_csv_when_given_an_ods_spreadsheet(
    running_bot: RunningBot,
) -> None:
    data = b"PK\x03\x04" + b"\x00" * 100
    answer = await running_bot.upload(
        "leads.ods",
        data,
        expect="can't be read",
        mime_type="application/vnd.oasis.opendocument.spreadsheet",
    )
    assert "Save it as .xlsx or CSV" in answer["text"]
    assert running_bot.fake.calls("getFile") == []


async def test_it_explains_an_xlsx_sent_with_a_csv_name(running_bot: RunningBot) -> None:
    data = b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200
    answer = await running_bot.upload("leads.csv", data, expect="Nothing was imported")
    assert answer["text"].startswith("❌")
    assert lead_count(running_bot) == 0


async def test_it_explains_an_empty_file(running_bot: RunningBot) -> None:
    answer = await running_bot.upload("leads.csv", b"", expect="Nothing was imported")
    assert answer["text"].startswith("❌")
    assert "empty" in answer["text"].lower()


async def test_it_refuses_a_file_over_20_mb_before_downloading_it(
    running_bot: RunningBot,
) -> None:
    answer = await running_bot.upload(
        "leads.csv", b"email\nana@acme.io\n", expect="the limit is", file_size=25_000_000
    )
    assert "25.0 MB" in answer["text"] and "20 MB" in answer["text"]
    assert running_bot.fake.calls("getFile") == []
    assert lead_count(running_bot) == 0


async def test_it_explains_a_file_with_too_many_rows_and_imports_nothing(
    running_bot: RunningBot,
) -> None:
    data = ("email\n" + "".join(f"u{i}@ex{i % 50}.io\n" for i in range(200_001))).encode()
    answer = await running_bot.upload("leads.csv", data, expect="Nothing was imported", timeout=60)
    assert "more than 200,000 rows" in answer["text"]
    assert lead_count(running_bot) == 0


async def test_it_shows_progress_by_editing_one_message(running_bot: RunningBot) -> None:
    data = ("email\n" + "".join(f"u{i}@ex{i % 50}.io\n" for i in range(5_000))).encode()
    mark = running_bot.fake.mark()
    answer = await running_bot.upload("leads.csv", data, expect=FINISHED, timeout=60)
    await wait_until_async(lambda: handlers_idle(running_bot.app), 10, "the import to finish")
    outputs = running_bot.fake.sent(ADMIN)[mark:]
    assert [r["method"] for r in outputs][0] == "sendMessage"
    assert {r["message_id"] for r in outputs} == {answer["message_id"]}
    assert any("Importing…" in (r["text"] or "") for r in outputs)
    assert "Imported: 5000" in final_text(running_bot, answer)


async def test_it_sends_to_leads_added_while_the_campaign_runs(
    running_bot: RunningBot, smtp_server, mailers
) -> None:  # type: ignore[no-untyped-def]
    await running_bot.say("/run", expect="Campaign")
    await running_bot.upload("leads.csv", b"email\nana@acme.io\n", expect=FINISHED)
    ctx = running_bot.ctx
    report = await asyncio.to_thread(run_send_queue, ctx, mailers(ctx), max_sends=1)
    assert report.events == ["sent"]
    assert smtp_server.messages[-1].rcpt_tos == ["ana@acme.io"]


async def test_it_keeps_working_after_a_malformed_file(running_bot: RunningBot) -> None:
    data = b'email,name\n"ana@acme.io,"unclosed\n\x00\xff\xfe' + b"\r\r\n" * 3
    await running_bot.upload("leads.csv", data, expect=lambda r: "⏳" not in (r["text"] or ""))
    answer = await running_bot.say("/status")
    assert "Campaign:" in answer["text"]
