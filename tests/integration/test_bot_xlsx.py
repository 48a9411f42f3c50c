"""Excel workbooks uploaded to the real Application through the fake Bot API (both databases):
an .xlsx imports like a CSV, an .xlsm is read with its macros ignored, and a password-protected
file, an old .xls and a damaged zip each get their answer and change nothing."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests import xlsx
from tests.integration import bot_harness
from tests.integration.bot_harness import RunningBot, snapshot
from tests.servers import files
from tests.servers.files import FilesServer

running_bot = bot_harness.running_bot
files_server = files.files_server

FINISHED = "Import finished"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_an_xlsx_imports_its_leads_sheet_like_a_csv(running_bot: RunningBot) -> None:
    data = xlsx.workbook(
        {
            "Read me": [["This workbook's leads are on the next sheet"]],
            "Leads": [
                ["E-Mail", "First Name", "Company", "Joined", "Phone"],
                ["ana@acme.io", "Ana", "Acme", datetime(2024, 3, 5), 4915112345678],
                ["not-an-email", "X", "", None, None],
                ["bob@beta.io", "Bob", "Beta", datetime(2025, 1, 31), 12025550123],
            ],
        },
        formats={("Leads", "D2"): "dd.mm.yyyy", ("Leads", "D4"): "m/d/yy"},
    )
    answer = await running_bot.upload(
        "leads.xlsx", data, expect=FINISHED, mime_type=XLSX_TYPE, timeout=30
    )
    text = answer["text"]
    assert "Imported: 2" in text
    assert "Sheet: Leads (the workbook's other 1 sheet ignored)" in text
    assert "line 3:" in text  # the sheet's row number
    lead = running_bot.lead("ana@acme.io")
    assert lead is not None
    assert (lead.first_name, lead.company) == ("Ana", "Acme")
    # as the sheet shows it (dd.mm.yyyy); Bob's m/d/yy is Excel's locale short date: ISO
    assert lead.custom == {"joined": "05.03.2024", "phone": "4915112345678"}
    bob = running_bot.lead("bob@beta.io")
    assert bob is not None and bob.custom["joined"] == "2025-01-31"


async def test_an_xlsm_is_read_and_the_report_says_its_macros_were_ignored(
    running_bot: RunningBot,
) -> None:
    data = xlsx.with_macros(xlsx.workbook({"Sheet1": [["email"], ["ana@acme.io"]]}))
    answer = await running_bot.upload(
        "leads.xlsm",
        data,
        expect=FINISHED,
        mime_type="application/vnd.ms-excel.sheet.macroEnabled.12",
    )
    assert "Imported: 1" in answer["text"]
    assert "Macros: ignored (never run)" in answer["text"]


async def test_formulas_without_a_saved_value_are_reported(running_bot: RunningBot) -> None:
    data = xlsx.workbook({"S": [["email", "first_name"], ["ana@acme.io", '=PROPER("ana")']]})
    answer = await running_bot.upload("leads.xlsx", data, expect=FINISHED, mime_type=XLSX_TYPE)
    assert "Formulas without a saved value: 1, read as empty" in answer["text"]


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("leads.xlsx", xlsx.encrypted(), "password-protected"),
        ("leads.xls", xlsx.old_xls(), "save it as .xlsx or CSV"),
        ("leads.csv", xlsx.old_xls(), "old Excel file (.xls)"),  # the name lies
        ("leads.xlsx", b"PK\x03\x04" + b"\x00" * 300, "damaged"),
        ("leads.xlsx", xlsx.workbook({"S": [["email"], ["a@b.io"]]})[:-200], "damaged"),
        ("leads.csv", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200, "damaged"),
    ],
    ids=["encrypted", "xls", "xls-named-csv", "garbage-zip", "truncated-zip", "zip-named-csv"],
)
async def test_a_workbook_that_cannot_be_read_is_explained_and_nothing_changes(
    running_bot: RunningBot, name: str, data: bytes, words: str
) -> None:
    running_bot.add_leads("old@acme.io")
    before = snapshot(running_bot.ctx)
    answer = await running_bot.upload(name, data, expect="Nothing was imported", timeout=30)
    assert answer["text"].startswith("❌")
    assert words in answer["text"]
    assert snapshot(running_bot.ctx) == before


async def test_a_numbers_file_is_refused_before_it_is_downloaded(running_bot: RunningBot) -> None:
    answer = await running_bot.upload("leads.numbers", b"PK\x03\x04", expect="can't be read")
    assert ".xlsx or CSV" in answer["text"]
    assert running_bot.fake.calls("getFile") == []


async def test_a_link_message_imports_the_csv_it_serves(
    running_bot: RunningBot, files_server: FilesServer
) -> None:
    answer = await running_bot.say(
        f"please import {files_server.url}/r/2 thanks", expect=FINISHED, timeout=30
    )
    assert "Imported: 2" in answer["text"]
    assert running_bot.lead("bob@beta.io") is not None


async def test_a_link_to_an_xlsx_imports_its_leads_sheet(
    running_bot: RunningBot, files_server: FilesServer
) -> None:
    answer = await running_bot.say(f"{files_server.url}/leads.xlsx", expect=FINISHED, timeout=30)
    assert "Imported: 1" in answer["text"] and "Sheet: leads" in answer["text"]
    lead = running_bot.lead("cleo@gamma.io")
    assert lead is not None and lead.first_name == "Cleo"


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/private", '"Anyone with the link" → role Viewer'),
        ("/page", "serves a web page, not a CSV or Excel file"),
        ("/r/4", "redirects more than 3 times"),
    ],
)
async def test_a_link_that_serves_no_list_is_explained_and_nothing_changes(
    running_bot: RunningBot, files_server: FilesServer, path: str, words: str
) -> None:
    before = snapshot(running_bot.ctx)
    answer = await running_bot.say(
        files_server.url + path, expect="Nothing was imported", timeout=30
    )
    assert answer["text"].startswith("❌") and words in answer["text"]
    assert snapshot(running_bot.ctx) == before
