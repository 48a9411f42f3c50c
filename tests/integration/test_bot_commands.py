"""Every command of the real Application, driven over the fake Bot API, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io

import pytest
from sqlalchemy import select, text
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import format as fmt
from engine.sending.queue import run_send_queue
from engine.states import CampaignState, LeadStatus
from engine.storage.models import Campaign, CampaignSetting, Lead, SettingOverride, TemplateRow
from tests.conftest import BASE_ENV
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, SECRETS, RunningBot
from tests.waiting import wait_until_async

running_bot = bot_harness.running_bot


async def test_it_registers_every_command_in_the_menu(running_bot: RunningBot) -> None:
    registered = [c["command"] for c in running_bot.fake.commands()]
    assert registered == [c for c, _ in fmt.COMMANDS]


async def test_it_answers_start_with_what_it_does_and_every_command(
    running_bot: RunningBot,
) -> None:
    answer = await running_bot.say("/start")
    for command, _ in fmt.COMMANDS:
        assert f"/{command}" in answer["text"]
    assert "csv" in answer["text"].lower()


async def test_it_answers_help_with_every_command(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/help")
    assert all(f"/{c}" in answer["text"] for c, _ in fmt.COMMANDS)


async def test_it_shows_sent_today_over_the_limit_and_why_nothing_is_sent(
    running_bot: RunningBot,
) -> None:
    answer = await running_bot.say("/status")
    assert f"0/{BASE_ENV['DAILY_EMAIL_LIMIT']}" in answer["text"]
    assert "STOPPED" in answer["text"]
    assert "Not sending: campaign is stopped" in answer["text"]


async def test_it_shows_the_next_send_when_running_with_pending_leads(
    running_bot: RunningBot,
) -> None:
    running_bot.add_leads("ana@acme.io")
    await running_bot.say("/run", expect="Campaign")
    answer = await running_bot.say("/status")
    assert "RUNNING" in answer["text"]
    assert "Next send:" in answer["text"]
    assert "Leads: 1" in answer["text"]


async def test_it_starts_pauses_and_stops_the_campaign(running_bot: RunningBot) -> None:
    def state() -> str:
        with running_bot.ctx.db.transaction() as session:
            return str(session.scalars(select(Campaign.state)).one())

    assert "started" in (await running_bot.say("/run"))["text"]
    assert await asyncio.to_thread(state) == CampaignState.RUNNING
    assert "paused" in (await running_bot.say("/pause"))["text"]
    assert await asyncio.to_thread(state) == CampaignState.PAUSED
    assert "resumed" in (await running_bot.say("/run"))["text"]
    assert "stopped" in (await running_bot.say("/stop"))["text"]
    assert await asyncio.to_thread(state) == CampaignState.STOPPED


async def test_it_counts_leads_by_status(running_bot: RunningBot) -> None:
    running_bot.add_leads("ana@acme.io", "bob@beta.io")
    answer = await running_bot.say("/leads")
    assert "2 leads" in answer["text"]
    assert "pending: 2" in answer["text"]


async def test_it_shows_one_lead_with_history_and_stop_and_delete_buttons(
    running_bot: RunningBot, mailers
) -> None:  # type: ignore[no-untyped-def]
    (lead_id,) = running_bot.add_leads("ana@acme.io", first_name="Ana", company="Acme")
    await running_bot.say("/run", expect="Campaign")
    report = await asyncio.to_thread(
        run_send_queue, running_bot.ctx, mailers(running_bot.ctx), max_sends=1
    )
    assert report.events == ["sent"]
    answer = await running_bot.say("/lead ana@acme.io")
    body = answer["text"]
    assert "ana@acme.io" in body and "Name: Ana" in body and "Company: Acme" in body
    assert "Status: sent" in body
    assert "📤 Sent:" in body and "initial" in body
    buttons = [b["callback_data"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == [f"stop:{lead_id}", f"del:{lead_id}"]


async def test_it_says_clearly_when_a_lead_is_unknown(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/lead nobody@nowhere.io")
    assert "No lead with the address 'nobody@nowhere.io'" in answer["text"]


async def test_it_asks_for_an_address_when_lead_has_none(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/lead")
    assert "Which lead?" in answer["text"]


async def test_it_deletes_a_lead_after_confirmation(running_bot: RunningBot) -> None:
    (lead_id,) = running_bot.add_leads("ana@acme.io")
    card = await running_bot.say("/lead ana@acme.io")
    mark = running_bot.fake.mark()
    running_bot.fake.press_button(ADMIN, card, f"del:{lead_id}")
    confirm = await running_bot.fake.wait_for_async("cannot be undone", after=mark)
    assert running_bot.lead("ana@acme.io") is not None
    running_bot.fake.press_button(ADMIN, confirm, f"delyes:{lead_id}")
    await running_bot.fake.wait_for_async("Deleted ana@acme.io", after=mark)
    assert running_bot.lead("ana@acme.io") is None


async def test_it_lists_the_settings(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/settings")
    # daily_limit is the campaign's own cap (part 7): none until set; the mailboxes' caps hold.
    assert "daily_limit: off" in answer["text"]
    assert "min_delay: " in answer["text"] and "followup_delays: 3d,4d" in answer["text"]
    assert "/settings KEY VALUE" in answer["text"]


async def test_it_saves_a_changed_setting_and_shows_it(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/settings daily_limit 50")
    assert "daily_limit is now 50" in answer["text"]
    with running_bot.ctx.db.transaction() as session:
        saved = {o.key: o.value for o in session.scalars(select(SettingOverride))}
        own = {o.key: o.value for o in session.scalars(select(CampaignSetting))}
    assert saved == {}  # the campaign's own cap, not a global override (part 7)
    assert own == {"daily_limit": "50"}
    assert "daily_limit: 50 ✎" in (await running_bot.say("/settings"))["text"]
    assert "0/50" in (await running_bot.say("/status"))["text"]  # one campaign: its cap shows


async def test_it_refuses_a_bad_setting_value_and_changes_nothing(
    running_bot: RunningBot,
) -> None:
    answer = await running_bot.say("/settings daily_limit lots")
    assert answer["text"].startswith("❌")
    assert "Nothing was changed" in answer["text"]
    with running_bot.ctx.db.transaction() as session:
        assert session.scalars(select(SettingOverride)).all() == []
        assert session.scalars(select(CampaignSetting)).all() == []


@pytest.mark.parametrize(
    ("command", "limit"),
    [
        ("/settings followup_delays 3000000d", "limit of 365 days"),
        ("/settings followup_delays 99999999999999999999d", "limit of 365 days"),
        ("/settings followup_delays 3d," + "9" * 3000 + "d", "limit of 365 days"),
        ("/settings daily_limit 99999999999999999999", "use 1..100000"),
        ("/settings pause_max " + "9" * 3000, "use 0..1440"),
        ("/settings min_delay 99999999999999999999", "use 0..86400"),
        ("/settings max_bounce_rate 1e400", "a percentage like 5 or 2.5"),
    ],
    ids=[
        "followup-3000000d",
        "followup-20-digits",
        "followup-3000-digits",
        "daily_limit-20-digits",
        "pause_max-3000-digits",
        "min_delay-20-digits",
        "bounce-rate-1e400",
    ],
)
async def test_it_refuses_a_value_beyond_its_limit_naming_the_limit(
    running_bot: RunningBot, command: str, limit: str
) -> None:
    answer = await running_bot.say(command)

    assert answer["text"].startswith("❌"), answer["text"]
    assert limit in answer["text"] and "Nothing was changed" in answer["text"]
    assert "Something went wrong" not in answer["text"]
    assert len(answer["text"]) < 300  # the huge value is not echoed back
    with running_bot.ctx.db.transaction() as session:
        assert session.scalars(select(SettingOverride)).all() == []
        assert session.scalars(select(CampaignSetting)).all() == []


async def test_it_accepts_a_followup_delay_of_365_days(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/settings followup_delays 365d,1d")

    assert "followup_delays is now 365d,1d" in answer["text"]


async def test_it_refuses_an_unknown_setting_naming_the_known_ones(
    running_bot: RunningBot,
) -> None:
    answer = await running_bot.say("/settings colour blue")
    assert "There is no setting called 'colour'" in answer["text"]
    assert "daily_limit" in answer["text"]


async def test_it_exports_every_lead_as_csv_with_the_required_columns(
    running_bot: RunningBot,
) -> None:
    running_bot.add_leads("ana@acme.io", first_name="Ana", company="Acme")
    answer = await running_bot.say("/export", expect=lambda r: bool(r.get("document")))
    data = running_bot.fake.file_content(answer["document"]["file_id"])
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    required = [
        "email",
        "first_name",
        "last_name",
        "company",
        "status",
        "followups_sent",
        "last_sent_at",
        "replied_at",
    ]
    assert rows and set(required) <= set(rows[0])
    assert (rows[0]["email"], rows[0]["first_name"], rows[0]["status"]) == (
        "ana@acme.io",
        "Ana",
        "pending",
    )
    assert answer["document"]["filename"].endswith(".csv")


async def test_it_neutralises_formulas_in_the_export(running_bot: RunningBot) -> None:
    running_bot.add_leads("ana@acme.io", first_name="=HYPERLINK(1)", company="+1 Corp")
    with running_bot.ctx.db.transaction() as session:
        lead = session.scalars(select(Lead)).one()
        lead.last_name = "-2+3"
        lead.custom = {"note": "@SUM(A1)"}
    answer = await running_bot.say("/export", expect=lambda r: bool(r.get("document")))
    data = running_bot.fake.file_content(answer["document"]["file_id"]).decode("utf-8-sig")
    (row,) = list(csv.DictReader(io.StringIO(data)))
    for column in ("first_name", "last_name", "company", "note"):
        assert row[column][0] not in "=+-@", (column, row[column])
    assert row["first_name"] == "'=HYPERLINK(1)"


async def test_it_shows_the_templates_and_how_to_change_them(running_bot: RunningBot) -> None:
    mark = running_bot.fake.mark()
    running_bot.fake.send_text(ADMIN, "/templates")
    await running_bot.fake.wait_for_async("To change one", after=mark)
    texts = [r["text"] for r in running_bot.fake.sent(ADMIN)[mark:]]
    assert any(t.startswith("📝 initial") for t in texts)
    assert any(t.startswith("📝 followup_1") for t in texts)


async def test_it_saves_a_changed_template(running_bot: RunningBot) -> None:
    answer = await running_bot.say(
        "/template initial\nSubject: Hello {first_name|there}\nHi {first_name|there}, {calendar_link}"
    )
    assert answer["text"].startswith("✅ Saved.")
    with running_bot.ctx.db.transaction() as session:
        row = session.scalars(select(TemplateRow).where(TemplateRow.name == "initial")).one()
        assert row.subject == "Hello {first_name|there}"


async def test_it_saves_a_spammy_template_and_lists_its_warnings(running_bot: RunningBot) -> None:
    answer = await running_bot.say(
        "/template initial\nSubject: FREE DEMO TODAY\nHello, click here: https://bit.ly/x\n"
        "See attached."
    )
    text = answer["text"]
    assert text.startswith("✅ Saved.")
    warned = text.split("⚠️ Saved, but check before sending:\n", 1)[1].split("\n\n", 1)[0]
    assert len(warned.splitlines()) == 5  # capitals, shortener, attachment, spam words, no {…}
    assert "bit.ly" in warned and "click here, free" in warned and "{first_name}" in warned
    with running_bot.ctx.db.transaction() as session:
        row = session.scalars(select(TemplateRow).where(TemplateRow.name == "initial")).one()
        assert row.subject == "FREE DEMO TODAY"  # saved all the same


async def test_it_refuses_an_unknown_placeholder_when_a_template_is_saved(
    running_bot: RunningBot,
) -> None:
    answer = await running_bot.say("/template initial\nSubject: Hi\nHello {frist_name}")
    assert answer["text"].startswith("❌")
    assert "frist_name" in answer["text"]
    assert "first_name" in answer["text"]  # the helpful part: what it may have meant
    with running_bot.ctx.db.transaction() as session:
        assert session.scalars(select(TemplateRow)).all() == []


async def test_it_sends_a_test_email_to_the_given_address(
    running_bot: RunningBot,
    smtp_server,  # type: ignore[no-untyped-def]
) -> None:
    answer = await running_bot.say("/test me@example.org", timeout=20)
    assert "Test email sent to me@example.org" in answer["text"]
    (received,) = await asyncio.to_thread(smtp_server.wait_for, 1)
    assert received.rcpt_tos == ["me@example.org"]


async def test_it_refuses_a_test_to_an_invalid_address(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/test not-an-address")
    assert answer["text"].startswith("❌")
    assert "not a valid email address" in answer["text"]


async def test_it_says_when_no_delivery_is_uncertain(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/uncertain")
    assert "No email has an unknown delivery" in answer["text"]


async def test_it_answers_an_unexpected_error_briefly_without_a_traceback_or_secrets(
    running_bot: RunningBot,
) -> None:
    with running_bot.ctx.db.transaction() as session:
        session.execute(text("DROP TABLE answer_drafts"))  # it refers to inbound_messages
        session.execute(text("DROP TABLE inbound_messages"))
    answer = await running_bot.say("/status")
    assert answer["text"].startswith("⚠️ Something went wrong")
    assert "Traceback" not in answer["text"]
    assert len(answer["text"]) < 500
    for secret in SECRETS:
        assert secret not in answer["text"]


async def test_it_keeps_answering_after_an_unexpected_error(running_bot: RunningBot) -> None:
    with running_bot.ctx.db.transaction() as session:
        session.execute(text("DROP TABLE answer_drafts"))  # it refers to inbound_messages
        session.execute(text("DROP TABLE inbound_messages"))
    await running_bot.say("/status", expect="Something went wrong")
    answer = await running_bot.say("/leads")
    assert "0 leads" in answer["text"]


async def test_it_answers_an_unknown_or_malformed_button_and_changes_nothing(
    running_bot: RunningBot,
) -> None:
    (lead_id,) = running_bot.add_leads("ana@acme.io")
    fake = running_bot.fake
    data = ["nope:1", f"stop:{lead_id}x", "stop", f"apply:{lead_id}x"]
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d)] for d in data])
    await running_bot.app.bot.send_message(ADMIN, "forged", reply_markup=markup)
    record = await fake.wait_for_async("forged")
    mark = fake.mark()
    for d in data:
        fake.press_button(ADMIN, record, d)
    await wait_until_async(
        lambda: len(fake.calls("answerCallbackQuery")) >= len(data), 10, "every press answered"
    )
    answers = fake.calls("answerCallbackQuery")
    assert [a["params"].get("text") for a in answers] == ["Unknown button."] * len(data)
    assert fake.sent()[mark:] == []
    lead = running_bot.lead("ana@acme.io")
    assert lead is not None and lead.status == LeadStatus.PENDING
