"""Several campaigns from the chat: /campaign and /campaigns, each admin's selection, and the
campaign-scoped commands acting on (and naming) the selected campaign. The real Application over
the fake Bot API, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.context import EngineContext
from engine.states import CampaignState
from engine.storage.db import Database
from engine.storage.models import (
    AdminSelection,
    Campaign,
    CampaignSetting,
    Lead,
    SettingOverride,
    Suppression,
    TemplateRow,
)
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, RunningBot, start_application, stop_application

running_bot = bot_harness.running_bot
DEFAULT = 1


def _state(bot: RunningBot, campaign_id: int) -> str:
    with bot.ctx.db.transaction() as session:
        camp = session.get(Campaign, campaign_id)
        assert camp is not None
        return camp.state


def _selected(bot: RunningBot) -> int | None:
    with bot.ctx.db.transaction() as session:
        return session.scalar(
            select(AdminSelection.campaign_id).where(AdminSelection.admin_id == ADMIN)
        )


def _id_of(bot: RunningBot, name: str) -> int:
    with bot.ctx.db.transaction() as session:
        return session.scalars(select(Campaign.id).where(Campaign.name == name)).one()


def _store_leads(
    bot: RunningBot, campaign_id: int, *, pending: int, sent: int, replied: int
) -> None:
    """Leads put straight into a campaign: ``sent`` emailed (of them ``replied`` answered)."""
    now = bot.ctx.clock.now()
    with bot.ctx.db.transaction() as session:
        for i in range(pending + sent):
            email = f"lead{i}@c{campaign_id}.io"
            emailed = i >= pending
            answered = emailed and i - pending < replied
            session.add(
                Lead(
                    campaign_id=campaign_id,
                    email=email,
                    email_key=email,
                    domain=f"c{campaign_id}.io",
                    status="replied" if answered else ("sent" if emailed else "pending"),
                    last_sent_at=now - timedelta(hours=1) if emailed else None,
                    replied_at=now if answered else None,
                    created_at=now,
                )
            )


async def _new(bot: RunningBot, name: str = "saas-founders") -> int:
    answer = await bot.say(f"/campaign new {name}")
    assert answer["text"].startswith(f"✅ Campaign {name} created and selected"), answer["text"]
    return _id_of(bot, name)


def _buttons(record: dict) -> list[str]:
    return [b["callback_data"] for row in record["reply_markup"]["inline_keyboard"] for b in row]


async def _press(bot: RunningBot, record: dict, data: str, expect: str) -> dict:
    """Press a button; the message the bot then posts (not an edit) containing ``expect``."""
    mark = bot.fake.mark()
    bot.fake.press_button(ADMIN, record, data)
    return await bot.fake.wait_for_async(
        lambda r: r["method"] == "sendMessage" and expect in (r["text"] or ""), after=mark
    )


# --- one campaign: nothing changes -----------------------------------------------------------
async def test_a_single_campaign_status_reads_as_before(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/status")

    assert answer["text"].splitlines()[0] == "📊 Campaign: STOPPED"


async def test_a_single_campaign_run_and_pause_do_not_name_it(running_bot: RunningBot) -> None:
    assert (await running_bot.say("/run"))["text"].startswith("▶️ Campaign started.")
    assert (await running_bot.say("/pause"))["text"].startswith("⏸ Campaign paused.")


# --- /campaign new, select, rename -----------------------------------------------------------
async def test_it_creates_a_campaign_stopped_and_selects_it(running_bot: RunningBot) -> None:
    new_id = await _new(running_bot)

    assert _state(running_bot, new_id) == CampaignState.STOPPED
    assert _selected(running_bot) == new_id
    answer = await running_bot.say("/campaign")
    assert answer["text"].startswith("🎯 Your commands act on campaign saas-founders — ⏹ stopped")
    assert "/campaign new NAME" in answer["text"]


async def test_the_selection_survives_a_restart(running_bot: RunningBot, db_url: str) -> None:
    await _new(running_bot)
    await stop_application(running_bot.app)
    db = Database(db_url)  # a new process: its own connections to the same database
    ctx = EngineContext(db=db, settings=running_bot.ctx.settings, clock=running_bot.ctx.clock)
    app = await start_application(ctx)
    try:
        restarted = RunningBot(app, ctx, running_bot.fake)
        answer = await restarted.say("/status")
        assert answer["text"].splitlines()[0] == "📊 Campaign saas-founders: STOPPED"
    finally:
        await stop_application(app)
        db.dispose()


async def test_status_names_the_selected_campaign(running_bot: RunningBot) -> None:
    await _new(running_bot)
    assert (await running_bot.say("/status"))["text"].startswith(
        "📊 Campaign saas-founders: STOPPED"
    )

    answer = await running_bot.say("/campaign default")

    assert answer["text"].startswith("🎯 Campaign default selected (⏹ stopped)")
    assert _selected(running_bot) == DEFAULT
    assert (await running_bot.say("/status"))["text"].startswith("📊 Campaign default: STOPPED")


async def test_run_pause_and_stop_act_on_the_selected_campaign_only(
    running_bot: RunningBot,
) -> None:
    new_id = await _new(running_bot)

    answer = await running_bot.say("/run")
    assert answer["text"].startswith("▶️ Campaign saas-founders started.")
    assert _state(running_bot, new_id) == CampaignState.RUNNING
    assert _state(running_bot, DEFAULT) == CampaignState.STOPPED

    answer = await running_bot.say("/pause")
    assert answer["text"].startswith("⏸ Campaign saas-founders paused.")
    assert _state(running_bot, new_id) == CampaignState.PAUSED
    assert _state(running_bot, DEFAULT) == CampaignState.STOPPED

    await running_bot.say("/campaign default")
    await running_bot.say("/run")
    answer = await running_bot.say("/stop")
    assert answer["text"].startswith("⏹ Campaign default stopped.")
    assert _state(running_bot, DEFAULT) == CampaignState.STOPPED
    assert _state(running_bot, new_id) == CampaignState.PAUSED


async def test_it_selects_a_campaign_by_name_in_any_case(running_bot: RunningBot) -> None:
    new_id = await _new(running_bot)
    await running_bot.say("/campaign default")

    await running_bot.say("/campaign SAAS-Founders")

    assert _selected(running_bot) == new_id


async def test_it_names_the_campaigns_there_are_when_a_name_is_unknown(
    running_bot: RunningBot,
) -> None:
    await _new(running_bot)

    answer = await running_bot.say("/campaign nosuch")

    assert answer["text"].startswith("❌ There is no campaign called 'nosuch'")
    assert "default, saas-founders" in answer["text"]


@pytest.mark.parametrize(
    "name",
    ["saas founders", "x" * 41, "bad/name", "ünïcode"],
    ids=["space", "41-chars", "slash", "non-ascii"],
)
async def test_it_refuses_a_bad_name_saying_what_is_allowed(
    running_bot: RunningBot, name: str
) -> None:
    answer = await running_bot.say(f"/campaign new {name}")

    assert answer["text"].startswith("❌"), answer["text"]
    assert "letters, digits, - and _" in answer["text"]
    with running_bot.ctx.db.transaction() as session:
        assert session.scalars(select(Campaign.name)).all() == ["default"]


async def test_it_refuses_a_name_taken_in_another_case(running_bot: RunningBot) -> None:
    await _new(running_bot)

    answer = await running_bot.say("/campaign new SaaS-Founders")

    assert answer["text"].startswith("❌ A campaign called 'SaaS-Founders' already exists")
    with running_bot.ctx.db.transaction() as session:
        assert len(session.scalars(select(Campaign)).all()) == 2


async def test_it_renames_a_campaign(running_bot: RunningBot) -> None:
    new_id = await _new(running_bot)

    answer = await running_bot.say("/campaign rename saas-founders saas-q3")

    assert answer["text"].startswith("✏️ Campaign saas-founders is now called saas-q3")
    assert _id_of(running_bot, "saas-q3") == new_id
    assert (await running_bot.say("/status"))["text"].startswith("📊 Campaign saas-q3:")


async def test_it_explains_the_forms_when_an_argument_is_missing(running_bot: RunningBot) -> None:
    assert "e.g. /campaign new" in (await running_bot.say("/campaign new"))["text"]
    assert "e.g. /campaign rename" in (await running_bot.say("/campaign rename x"))["text"]
    assert "e.g. /campaign delete" in (await running_bot.say("/campaign delete"))["text"]


# --- /campaign delete -------------------------------------------------------------------------
async def test_it_deletes_a_campaign_after_confirmation_keeping_the_suppression_list(
    running_bot: RunningBot,
) -> None:
    new_id = await _new(running_bot)
    _store_leads(running_bot, new_id, pending=2, sent=0, replied=0)
    with running_bot.ctx.db.transaction() as session:
        session.add(
            Suppression(
                value="lead0@c2.io",
                kind="email",
                reason="asked",
                created_at=running_bot.ctx.clock.now(),
            )
        )

    confirm = await running_bot.say("/campaign delete saas-founders")
    assert "Delete campaign saas-founders with its 2 lead(s)" in confirm["text"]
    assert _buttons(confirm) == [f"cpdel:{new_id}", f"cpdelno:{new_id}"]
    assert _state(running_bot, new_id) == CampaignState.STOPPED  # nothing yet

    answer = await _press(running_bot, confirm, f"cpdel:{new_id}", "deleted")

    assert answer["text"].startswith("🗑 Campaign saas-founders deleted with its 2 lead(s)")
    assert "Your commands act on default" in answer["text"]
    with running_bot.ctx.db.transaction() as session:
        assert session.get(Campaign, new_id) is None
        assert session.scalars(select(Lead)).all() == []
        assert session.scalars(select(Suppression.value)).all() == ["lead0@c2.io"]
    assert (await running_bot.say("/status"))["text"].startswith("📊 Campaign: STOPPED")


async def test_cancel_leaves_the_campaign(running_bot: RunningBot) -> None:
    new_id = await _new(running_bot)
    confirm = await running_bot.say("/campaign delete saas-founders")

    mark = running_bot.fake.mark()
    running_bot.fake.press_button(ADMIN, confirm, f"cpdelno:{new_id}")
    await running_bot.fake.wait_for_async("Cancelled; nothing was changed", after=mark)

    assert _id_of(running_bot, "saas-founders") == new_id


async def test_it_refuses_to_delete_a_running_campaign(running_bot: RunningBot) -> None:
    new_id = await _new(running_bot)
    await running_bot.say("/run")

    answer = await running_bot.say("/campaign delete saas-founders")

    assert answer["text"].startswith("❌ Campaign 'saas-founders' is running.")
    assert answer["reply_markup"] is None
    assert _state(running_bot, new_id) == CampaignState.RUNNING


async def test_the_confirmation_is_refused_if_the_campaign_runs_meanwhile(
    running_bot: RunningBot,
) -> None:
    new_id = await _new(running_bot)
    confirm = await running_bot.say("/campaign delete saas-founders")
    await running_bot.say("/run")

    mark = running_bot.fake.mark()
    running_bot.fake.press_button(ADMIN, confirm, f"cpdel:{new_id}")
    answer = await running_bot.fake.wait_for_async("is running", after=mark)

    assert answer["text"].startswith("❌")
    assert _state(running_bot, new_id) == CampaignState.RUNNING


# --- /campaigns and its buttons ---------------------------------------------------------------
async def test_it_lists_every_campaign_with_its_numbers_and_buttons(
    running_bot: RunningBot,
) -> None:
    new_id = await _new(running_bot)
    _store_leads(running_bot, DEFAULT, pending=1, sent=4, replied=1)
    _store_leads(running_bot, new_id, pending=3, sent=0, replied=0)

    answer = await running_bot.say("/campaigns")

    lines = answer["text"].splitlines()
    assert lines[0].startswith("🎯 2 campaign(s)")
    assert lines[1] == "default — ⏹ stopped · 5 leads · 4 sent · 1 reply (25.0%)"
    assert lines[2] == "👉 saas-founders — ⏹ stopped · 3 leads · 0 sent · 0 replies (0.0%)"
    assert _buttons(answer) == [
        f"cpsel:{DEFAULT}",
        f"cprun:{DEFAULT}",
        f"cpstats:{DEFAULT}",
        f"cpsel:{new_id}",
        f"cprun:{new_id}",
        f"cpstats:{new_id}",
    ]


async def test_the_buttons_select_run_and_pause_a_campaign(running_bot: RunningBot) -> None:
    new_id = await _new(running_bot)
    listing = await running_bot.say("/campaigns")

    answer = await _press(running_bot, listing, f"cpsel:{DEFAULT}", "selected")
    assert answer["text"].startswith("🎯 Campaign default selected")
    assert _selected(running_bot) == DEFAULT

    answer = await _press(running_bot, listing, f"cprun:{new_id}", "started")
    assert answer["text"].startswith("▶️ Campaign saas-founders started.")
    assert _state(running_bot, new_id) == CampaignState.RUNNING
    assert _state(running_bot, DEFAULT) == CampaignState.STOPPED

    # The list was redrawn in place: saas-founders now has ⏸ Pause, and 👉 moved to default.
    shown = [r for r in running_bot.fake.sent(ADMIN) if r["message_id"] == listing["message_id"]][
        -1
    ]
    assert f"cppause:{new_id}" in _buttons(shown)
    assert "👉 default" in shown["text"]

    answer = await _press(running_bot, shown, f"cppause:{new_id}", "paused")
    assert answer["text"].startswith("⏸ Campaign saas-founders paused.")
    assert _state(running_bot, new_id) == CampaignState.PAUSED
    assert _selected(running_bot) == DEFAULT  # pausing another campaign does not select it


async def test_the_stats_button_shows_that_campaigns_stats(running_bot: RunningBot) -> None:
    new_id = await _new(running_bot)
    await running_bot.say("/campaign default")
    listing = await running_bot.say("/campaigns")

    answer = await _press(running_bot, listing, f"cpstats:{new_id}", "📊")

    # What /stats says about that campaign (not the selected one), without selecting it.
    assert answer["text"].startswith("📊 <b>saas-founders</b> (stopped)")
    assert "Nothing sent yet" in answer["text"]


async def test_a_button_of_a_deleted_campaign_says_so(running_bot: RunningBot) -> None:
    new_id = await _new(running_bot)
    listing = await running_bot.say("/campaigns")
    confirm = await running_bot.say("/campaign delete saas-founders")
    await _press(running_bot, confirm, f"cpdel:{new_id}", "deleted")

    answer = await _press(running_bot, listing, f"cprun:{new_id}", "no longer exists")

    assert answer["text"].startswith("❌ That campaign no longer exists")


# --- /settings on the selected campaign -------------------------------------------------------
async def test_settings_show_the_campaigns_own_and_the_global_ones(
    running_bot: RunningBot,
) -> None:
    await _new(running_bot)

    text = (await running_bot.say("/settings"))["text"]

    own, _, shared = text.partition("🌐 Global")
    assert own.startswith("⚙️ This campaign (saas-founders")
    for key in ("followup_delays", "calendar_link", "timezone", "daily_limit", "mailboxes"):
        assert f"\n{key}: " in own, key
    assert "\nmin_delay: " in shared and "min_delay" not in own
    assert "e.g. /settings daily_limit 50" in shared


async def test_daily_limit_is_set_on_the_selected_campaign_only(running_bot: RunningBot) -> None:
    new_id = await _new(running_bot)

    answer = await running_bot.say("/settings daily_limit 60")

    assert answer["text"] == (
        "✅ daily_limit of saas-founders is now 60 (saved): the campaign's own cap of emails a "
        "day, on top of each mailbox's cap."
    )
    with running_bot.ctx.db.transaction() as session:
        rows = [(s.campaign_id, s.key, s.value) for s in session.scalars(select(CampaignSetting))]
        assert rows == [(new_id, "daily_limit", "60")]
        assert session.scalars(select(SettingOverride)).all() == []
    assert "daily_limit: 60 ✎" in (await running_bot.say("/settings"))["text"]
    await running_bot.say("/campaign default")
    assert "daily_limit: off" in (await running_bot.say("/settings"))["text"]


async def test_a_global_setting_says_it_applies_to_every_campaign(
    running_bot: RunningBot,
) -> None:
    await _new(running_bot)

    answer = await running_bot.say("/settings min_delay 30")

    assert "min_delay is now 30" in answer["text"]
    assert "applies to every campaign" in answer["text"]


# --- /templates and /template with variants ---------------------------------------------------
async def _templates(bot: RunningBot) -> list[str]:
    mark = bot.fake.mark()
    bot.fake.send_text(ADMIN, "/templates")
    await bot.fake.wait_for_async("To change one", after=mark)
    return [r["text"] for r in bot.fake.sent(ADMIN)[mark:]]


async def test_a_template_variant_is_added_shown_and_removed(running_bot: RunningBot) -> None:
    new_id = await _new(running_bot)

    answer = await running_bot.say(
        "/template initial b\nSubject: Other angle\nHi {first_name|there}"
    )

    assert answer["text"].startswith("✅ Saved in campaign saas-founders.")
    assert "📝 initial — variant B\nSubject: Other angle" in answer["text"]
    with running_bot.ctx.db.transaction() as session:
        rows = session.scalars(select(TemplateRow)).all()
        assert [(r.campaign_id, r.name, r.variant) for r in rows] == [(new_id, "initial", "B")]
    texts = await _templates(running_bot)
    labels = [t.splitlines()[0] for t in texts[:-1]]
    assert labels[:3] == ["📝 initial — variant A", "📝 initial — variant B", "📝 followup_1"]
    assert texts[-1].startswith("These are the templates of campaign saas-founders.")

    answer = await running_bot.say("/template initial B delete")

    assert answer["text"] == (
        "🗑 Variant B of initial of campaign saas-founders removed; /templates shows what is left."
    )
    with running_bot.ctx.db.transaction() as session:
        assert session.scalars(select(TemplateRow)).all() == []
    assert [t.splitlines()[0] for t in (await _templates(running_bot))[:2]] == [
        "📝 initial",
        "📝 followup_1",
    ]


async def test_a_variant_is_the_selected_campaigns_only(running_bot: RunningBot) -> None:
    await _new(running_bot)
    await running_bot.say("/template initial B\nSubject: B side\nHello")

    await running_bot.say("/campaign default")

    labels = [t.splitlines()[0] for t in await _templates(running_bot)]
    assert "📝 initial — variant B" not in labels


async def test_the_calendar_answer_has_no_variants(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/template calendar B\nHere: {calendar_link}")

    assert answer["text"].startswith("❌ The calendar answer has no variants")
    with running_bot.ctx.db.transaction() as session:
        assert session.scalars(select(TemplateRow)).all() == []


async def test_it_keeps_variant_a_and_says_when_a_variant_is_missing(
    running_bot: RunningBot,
) -> None:
    assert (
        "Variant A is initial's main template and cannot be deleted"
        in (await running_bot.say("/template initial A delete"))["text"]
    )
    assert (
        "initial has no variant C" in (await running_bot.say("/template initial C delete"))["text"]
    )


async def test_a_body_starting_with_a_one_letter_word_is_no_variant(
    running_bot: RunningBot,
) -> None:
    await running_bot.say("/template initial I wrote this {first_name|there}")

    with running_bot.ctx.db.transaction() as session:
        (row,) = session.scalars(select(TemplateRow)).all()
        assert (row.variant, row.body) == ("A", "I wrote this {first_name|there}")


# --- leads: /leads, /export and CSV upload on the selected campaign --------------------------
async def test_an_upload_goes_into_the_selected_campaign_and_leads_counts_it(
    running_bot: RunningBot,
) -> None:
    new_id = await _new(running_bot)

    answer = await running_bot.upload(
        "leads.csv", b"email\nana@acme.io\nbob@beta.io\n", expect="finished"
    )

    assert answer["text"].startswith("✅ Import into saas-founders finished")
    with running_bot.ctx.db.transaction() as session:
        assert set(session.scalars(select(Lead.campaign_id))) == {new_id}
    assert (await running_bot.say("/leads"))["text"].startswith("👥 2 leads in saas-founders")
    await running_bot.say("/campaign default")
    assert (await running_bot.say("/leads"))["text"].startswith("👥 0 leads in default")


async def test_an_upload_skips_an_address_in_sequence_in_another_campaign(
    running_bot: RunningBot,
) -> None:
    running_bot.add_leads("ana@acme.io")  # in default, pending
    await _new(running_bot)

    answer = await running_bot.upload("leads.csv", b"email\nana@acme.io\n", expect="finished")

    assert "Skipped (pending or in sequence in campaign default): 1" in answer["text"]


async def test_export_has_the_selected_campaigns_leads(running_bot: RunningBot) -> None:
    running_bot.add_leads("ana@acme.io")  # in default
    new_id = await _new(running_bot)
    _store_leads(running_bot, new_id, pending=1, sent=0, replied=0)

    answer = await running_bot.say("/export", expect=lambda r: bool(r.get("document")))

    assert answer["caption"] == "📎 The leads of campaign saas-founders"
    assert answer["document"]["filename"].startswith("leads-saas-founders-")
    data = running_bot.fake.file_content(answer["document"]["file_id"]).decode("utf-8-sig")
    assert [r["email"] for r in csv.DictReader(io.StringIO(data))] == [f"lead0@c{new_id}.io"]


async def test_a_single_campaign_export_and_leads_read_as_before(running_bot: RunningBot) -> None:
    running_bot.add_leads("ana@acme.io")

    answer = await running_bot.say("/export", expect=lambda r: bool(r.get("document")))
    assert answer["caption"] == "📎 All leads"
    assert (await running_bot.say("/leads"))["text"].startswith("👥 1 leads\n")
