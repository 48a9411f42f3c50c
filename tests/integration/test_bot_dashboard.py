"""The dashboard you can tap (/status and /start with buttons, edited in place), /system, the
paged /leads STATUS with its /lead_ID shortcuts, /find and the hint for plain text. The real
Application over the fake Bot API, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.handlers.hint import HINT
from bot.messages.leads import page_ref
from engine import __version__
from engine.clock import FakeClock
from engine.states import CampaignState, LeadStatus
from engine.storage.models import Campaign, JobRun, Lead, Lease, Replica
from tests.integration import bot_harness
from tests.integration.bot_harness import ADMIN, STRANGER, RunningBot, snapshot
from tests.waiting import handlers_idle, wait_until_async

running_bot = bot_harness.running_bot
DEFAULT = 1


def _buttons(record: dict[str, Any]) -> list[str]:
    keyboard = (record.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b["callback_data"] for row in keyboard for b in row]


def _state(bot: RunningBot) -> str:
    with bot.ctx.db.transaction() as session:
        camp = session.get(Campaign, DEFAULT)
        assert camp is not None
        return camp.state


def _store(bot: RunningBot, n: int, status: LeadStatus, **fields: str) -> list[int]:
    """``n`` leads in ``status``, lead i active i minutes before now (so lead 0 is the newest);
    returns their ids, newest first."""
    now = bot.ctx.clock.now()
    ids = []
    with bot.ctx.db.transaction() as session:
        for i in range(n):
            email = f"{status}{i}@acme{i}.io"
            at = now - timedelta(minutes=i)
            lead = Lead(
                email=email,
                email_key=email,
                domain=f"acme{i}.io",
                first_name=fields.get("first_name", f"First{i}"),
                last_name=fields.get("last_name", ""),
                company=fields.get("company", f"Company {i}"),
                status=status,
                last_sent_at=at - timedelta(days=1) if status != LeadStatus.PENDING else None,
                replied_at=at if status == LeadStatus.REPLIED else None,
                created_at=now - timedelta(days=2),
            )
            session.add(lead)
            session.flush()
            ids.append(lead.id)
    return ids


async def _answer_texts(bot: RunningBot, n: int) -> list[str | None]:
    """The texts of the first ``n`` callback answers, once there are ``n``."""
    calls = bot.fake.calls
    await wait_until_async(lambda: len(calls("answerCallbackQuery")) >= n, 10, f"{n} answers")
    return [c["params"].get("text") for c in calls("answerCallbackQuery")]


async def _edited(bot: RunningBot, message: dict[str, Any], after: int) -> dict[str, Any]:
    """The next editMessageText of ``message`` (the same chat and message_id)."""
    return await bot.fake.wait_for_async(
        lambda r: r["method"] == "editMessageText" and r["message_id"] == message["message_id"],
        chat_id=message["chat_id"],
        after=after,
    )


# --- the dashboard ------------------------------------------------------------------------------
async def test_it_shows_the_dashboard_with_its_buttons(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/status")

    assert "STOPPED" in answer["text"]
    assert _buttons(answer) == ["drun:1", "dref:1", "dstats:1", "dleads:1", "dmbox:1"]


async def test_it_refreshes_the_same_message_with_the_state_of_now(
    running_bot: RunningBot,
) -> None:
    dashboard = await running_bot.say("/status")
    assert "Leads: 0" in dashboard["text"]
    await asyncio.to_thread(running_bot.add_leads, "ana@acme.io", "bob@beta.io")
    mark = running_bot.fake.mark()

    running_bot.fake.press_button(ADMIN, dashboard, "dref:1")

    edited = await _edited(running_bot, dashboard, mark)
    assert "Leads: 2" in edited["text"] and "Pending: 2" in edited["text"]
    assert edited["text"] != dashboard["text"]
    assert _buttons(edited) == _buttons(dashboard)
    assert await _answer_texts(running_bot, 1) == ["Refreshed"]
    assert [r["method"] for r in running_bot.fake.sent()[mark:]] == ["editMessageText"]


async def test_it_says_up_to_date_when_nothing_changed(running_bot: RunningBot) -> None:
    dashboard = await running_bot.say("/status")
    mark = running_bot.fake.mark()

    running_bot.fake.press_button(ADMIN, dashboard, "dref:1")

    assert await _answer_texts(running_bot, 1) == ["Up to date"]
    await wait_until_async(lambda: handlers_idle(running_bot.app), 10, "the handlers to finish")
    assert running_bot.fake.sent()[mark:] == []  # "message is not modified" said nothing


async def test_it_runs_and_pauses_from_the_dashboard_and_shows_the_new_state(
    running_bot: RunningBot,
) -> None:
    running_bot.add_leads("ana@acme.io")
    dashboard = await running_bot.say("/status")
    mark = running_bot.fake.mark()

    running_bot.fake.press_button(ADMIN, dashboard, "drun:1")

    started = await running_bot.fake.wait_for_async("Campaign started", after=mark)
    assert started["text"] == "▶️ Campaign started. /status shows progress."  # /run's answer
    edited = await _edited(running_bot, dashboard, mark)
    assert "RUNNING" in edited["text"]
    assert _buttons(edited)[:2] == ["dpause:1", "dref:1"]
    assert await asyncio.to_thread(_state, running_bot) == CampaignState.RUNNING

    mark = running_bot.fake.mark()
    running_bot.fake.press_button(ADMIN, edited, "dpause:1")

    await running_bot.fake.wait_for_async("Campaign paused", after=mark)
    edited = await _edited(running_bot, dashboard, mark)
    assert "PAUSED" in edited["text"]
    assert _buttons(edited)[:2] == ["drun:1", "dref:1"]
    assert await asyncio.to_thread(_state, running_bot) == CampaignState.PAUSED


async def test_it_opens_stats_leads_and_mailboxes_from_the_dashboard(
    running_bot: RunningBot,
) -> None:
    running_bot.add_leads("ana@acme.io")
    dashboard = await running_bot.say("/status")
    fake = running_bot.fake

    mark = fake.mark()
    fake.press_button(ADMIN, dashboard, "dstats:1")
    stats = await fake.wait_for_async(lambda r: r["parse_mode"] == "HTML", after=mark)
    assert "Nothing sent yet" in stats["text"]  # what /stats says before the first email

    mark = fake.mark()
    fake.press_button(ADMIN, dashboard, "dleads:1")
    counts = await fake.wait_for_async("1 leads", after=mark)
    assert "pending: 1" in counts["text"]
    assert _buttons(counts) == [f"ls:{page_ref(DEFAULT, LeadStatus.PENDING, 0)}"]

    mark = fake.mark()
    fake.press_button(ADMIN, dashboard, "dmbox:1")
    block = await fake.wait_for_async(lambda r: "mbpause:1" in _buttons(r), after=mark)
    assert block["chat_id"] == ADMIN


async def test_it_starts_with_the_welcome_then_with_the_dashboard(
    running_bot: RunningBot,
) -> None:
    welcome = await running_bot.say("/start")
    assert "/help — Every command" in welcome["text"] and not _buttons(welcome)

    running_bot.add_leads("ana@acme.io")
    dashboard = await running_bot.say("/start")

    assert dashboard["text"].startswith("📊 Campaign: STOPPED")
    assert "dref:1" in _buttons(dashboard)


# --- /system ------------------------------------------------------------------------------------
def _internals(bot: RunningBot) -> None:
    now = bot.ctx.clock.now()
    with bot.ctx.db.transaction() as session:
        session.add(
            Replica(id="web-1:42:abc", hostname="web-1", pid=42, started_at=now, heartbeat_at=now)
        )
        session.add(
            Lease(
                name="reply_check",
                owner="web-1:42:abc",
                expires_at=now + timedelta(seconds=30),
                acquired_at=now,
            )
        )
        session.add(
            JobRun(
                job="send",
                last_success_at=now - timedelta(minutes=5),
                last_error_at=now - timedelta(minutes=1),
                last_error="SMTPServerDisconnected: secret-ish detail",
                consecutive_failures=2,
            )
        )


async def test_it_moves_replicas_and_leases_from_status_to_system(
    running_bot: RunningBot,
) -> None:
    await asyncio.to_thread(_internals, running_bot)

    status = (await running_bot.say("/status"))["text"]
    system = (await running_bot.say("/system"))["text"]

    assert "Replica" not in status and "Lease" not in status and "web-1" not in status
    assert "Last successful runs: send:" in status  # the jobs' line stays on /status
    kind = "sqlite" if running_bot.ctx.db.is_sqlite else "postgresql"
    assert f"outreach {__version__} — database: {kind}" in system
    assert "Replicas: 1 alive of 1 known" in system
    assert "• web-1:42:abc — alive, last heartbeat 0 s ago" in system
    assert "• reply_check → web-1:42:abc, until " in system
    assert "• send: last success " in system and "❗2 failures in a row, last error " in system
    assert "secret-ish" not in system  # the error's text stays in the logs
    assert running_bot.ctx.settings.database_url not in system


# --- /leads STATUS, paged -----------------------------------------------------------------------
async def test_it_pages_through_a_status_editing_the_same_message(
    running_bot: RunningBot,
) -> None:
    ids = await asyncio.to_thread(_store, running_bot, 25, LeadStatus.REPLIED)
    await asyncio.to_thread(_store, running_bot, 3, LeadStatus.PENDING)
    fake = running_bot.fake

    first = await running_bot.say("/leads replied")

    lines = first["text"].splitlines()
    assert lines[0] == "👥 25 replied leads — newest activity first (page 1/3)"
    assert lines[1].startswith("1. First0 <replied0@acme0.io> · Company 0 · ")
    assert lines[1].endswith(f" · /lead_{ids[0]}")
    assert [ln.rsplit("/lead_", 1)[1] for ln in lines[1:11]] == [str(i) for i in ids[:10]]
    assert _buttons(first) == [f"lp:{page_ref(DEFAULT, LeadStatus.REPLIED, 1)}"]

    mark = fake.mark()
    fake.press_button(ADMIN, first, f"lp:{page_ref(DEFAULT, LeadStatus.REPLIED, 1)}")
    second = await _edited(running_bot, first, mark)
    assert "(page 2/3)" in second["text"]
    assert second["text"].splitlines()[1].startswith("11. First10 ")
    assert _buttons(second) == [
        f"lp:{page_ref(DEFAULT, LeadStatus.REPLIED, 0)}",
        f"lp:{page_ref(DEFAULT, LeadStatus.REPLIED, 2)}",
    ]

    mark = fake.mark()
    fake.press_button(ADMIN, second, f"lp:{page_ref(DEFAULT, LeadStatus.REPLIED, 2)}")
    third = await _edited(running_bot, first, mark)
    assert "(page 3/3)" in third["text"]
    assert [ln.split(".")[0] for ln in third["text"].splitlines()[1:6]] == [
        "21",
        "22",
        "23",
        "24",
        "25",
    ]
    assert _buttons(third) == [f"lp:{page_ref(DEFAULT, LeadStatus.REPLIED, 1)}"]

    mark = fake.mark()
    fake.press_button(ADMIN, third, f"lp:{page_ref(DEFAULT, LeadStatus.REPLIED, 1)}")
    back = await _edited(running_bot, first, mark)
    assert back["text"] == second["text"]
    assert [r["method"] for r in fake.sent()[mark:]] == ["editMessageText"]


async def test_it_opens_a_lead_from_its_shortcut(running_bot: RunningBot) -> None:
    ids = await asyncio.to_thread(
        _store, running_bot, 2, LeadStatus.REPLIED, first_name="Ana", last_name="Lopez"
    )

    card = await running_bot.say(f"/lead_{ids[1]}")

    assert card["text"].startswith("👤 replied1@acme1.io")
    assert "Name: Ana Lopez" in card["text"] and "Status: replied" in card["text"]
    assert _buttons(card) == [f"stop:{ids[1]}", f"del:{ids[1]}"]


async def test_it_says_clearly_when_a_shortcut_names_no_lead(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/lead_987654")
    assert answer["text"].startswith("❌ There is no lead 987654 any more")

    answer = await running_bot.say("/lead_" + "9" * 40)
    assert answer["text"].startswith("❌ There is no such lead")


async def test_it_opens_a_status_from_the_counts(running_bot: RunningBot) -> None:
    await asyncio.to_thread(_store, running_bot, 2, LeadStatus.SENT)
    await asyncio.to_thread(_store, running_bot, 1, LeadStatus.PENDING)
    counts = await running_bot.say("/leads")
    assert "3 leads" in counts["text"] and "Tap a status" in counts["text"]
    sent = f"ls:{page_ref(DEFAULT, LeadStatus.SENT, 0)}"
    assert _buttons(counts) == [f"ls:{page_ref(DEFAULT, LeadStatus.PENDING, 0)}", sent]
    mark = running_bot.fake.mark()

    running_bot.fake.press_button(ADMIN, counts, sent)

    page = await running_bot.fake.wait_for_async("2 sent leads", after=mark)
    assert page["method"] == "sendMessage"  # below the counts, which stay
    assert "(page 1/1)" in page["text"] and not _buttons(page)


async def test_it_names_the_valid_statuses_for_an_unknown_one(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/leads answered")

    assert answer["text"].startswith("❌ There is no lead status 'answered'")
    for status in LeadStatus:
        assert status in answer["text"]


async def test_it_says_when_a_status_has_no_leads(running_bot: RunningBot) -> None:
    answer = await running_bot.say("/leads bounced")
    assert answer["text"] == "👥 No bounced leads. /leads shows how many there are of each status."
    assert not _buttons(answer)


# --- /find --------------------------------------------------------------------------------------
async def _found(bot: RunningBot, text: str) -> list[str]:
    """The addresses /find lists, in order."""
    answer = await bot.say(f"/find {text}", expect="🔎")
    return [ln.split("<")[1].split(">")[0] for ln in answer["text"].splitlines()[1:] if "<" in ln]


def _people(bot: RunningBot) -> None:
    now = bot.ctx.clock.now()
    people = [
        ("ana@acme.io", "Ana", "Lopez", "Acme Corp"),
        ("bob@beta.io", "Bob", "Stone", "100% Organic"),
        ("cid@gamma.io", "Cid", "Ray", "100 Organic"),
        ("dee@delta.io", "Dee", "Ward", "Gamma_Works"),
        ("eve@eps.io", "Eve", "Acmeson", "GammaXWorks"),
    ]
    with bot.ctx.db.transaction() as session:
        for email, first, last, company in people:
            session.add(
                Lead(
                    email=email,
                    email_key=email,
                    domain=email.split("@")[1],
                    first_name=first,
                    last_name=last,
                    company=company,
                    status=LeadStatus.PENDING,
                    created_at=now,
                )
            )


async def test_it_finds_leads_by_address_name_or_company_in_any_case(
    running_bot: RunningBot,
) -> None:
    await asyncio.to_thread(_people, running_bot)

    assert await _found(running_bot, "ACME") == ["eve@eps.io", "ana@acme.io"]  # newest first
    assert await _found(running_bot, "lopez") == ["ana@acme.io"]
    assert await _found(running_bot, "beta.io") == ["bob@beta.io"]
    assert await _found(running_bot, "organic bob") == ["bob@beta.io"]  # every word, any field
    answer = await running_bot.say("/find ana", expect="🔎")
    assert answer["text"].startswith("🔎 1 lead matches 'ana':")
    assert answer["text"].splitlines()[1].startswith("1. Ana Lopez <ana@acme.io> · Acme Corp")
    assert "/lead_" in answer["text"]


async def test_it_matches_percent_and_underscore_as_themselves(running_bot: RunningBot) -> None:
    await asyncio.to_thread(_people, running_bot)

    assert await _found(running_bot, "100%") == ["bob@beta.io"]
    assert await _found(running_bot, "gamma_w") == ["dee@delta.io"]
    assert await _found(running_bot, "0%") == ["bob@beta.io"]


async def test_it_says_when_nothing_matches(running_bot: RunningBot) -> None:
    await asyncio.to_thread(_people, running_bot)

    answer = await running_bot.say("/find zzz")

    assert answer["text"] == (
        "🔎 No lead matches 'zzz' (I looked in addresses, names and companies of every campaign)."
    )


async def test_it_lists_twenty_and_says_there_are_more(running_bot: RunningBot) -> None:
    await asyncio.to_thread(_store, running_bot, 25, LeadStatus.SENT, company="Acme")

    answer = await running_bot.say("/find acme")

    lines = answer["text"].splitlines()
    assert lines[0] == "🔎 more than 20 leads match 'acme':"
    assert len([ln for ln in lines if "/lead_" in ln]) == 20
    assert lines[-1] == "Only the newest 20 are shown: add a word to narrow it."


async def test_it_explains_find_without_text_and_refuses_a_long_one(
    running_bot: RunningBot,
) -> None:
    assert "What should I look for?" in (await running_bot.say("/find"))["text"]
    assert "at least 2 characters" in (await running_bot.say("/find a"))["text"]
    assert "up to 100 characters" in (await running_bot.say("/find " + "x" * 101))["text"]


# --- plain text, strangers ----------------------------------------------------------------------
async def test_it_points_plain_text_at_help(running_bot: RunningBot) -> None:
    answer = await running_bot.say("hello there")
    assert answer["text"] == HINT
    assert "/help" in HINT and "\n" not in HINT


async def test_it_does_nothing_for_a_stranger_pressing_the_new_buttons(
    running_bot: RunningBot,
) -> None:
    await asyncio.to_thread(_store, running_bot, 12, LeadStatus.REPLIED)
    dashboard = await running_bot.say("/status")
    page = await running_bot.say("/leads replied")
    counts = await running_bot.say("/leads")
    presses = [(dashboard, d) for d in _buttons(dashboard)]
    presses += [(page, d) for d in _buttons(page)] + [(counts, d) for d in _buttons(counts)]
    assert {d.split(":")[0] for _, d in presses} == {
        "drun",
        "dref",
        "dstats",
        "dleads",
        "dmbox",
        "lp",
        "ls",
    }
    fake = running_bot.fake
    before = snapshot(running_bot.ctx)
    clock: FakeClock = running_bot.ctx.clock  # type: ignore[assignment]
    mark = fake.mark()

    for i, (message, data) in enumerate(presses):
        clock.advance(timedelta(seconds=61))  # past the refusal limit: every press is answered
        fake.press_button(STRANGER, message, data)
        await _answer_texts(running_bot, i + 1)

    await wait_until_async(lambda: handlers_idle(running_bot.app), 10, "the handlers to finish")
    assert await _answer_texts(running_bot, len(presses)) == ["Not allowed."] * len(presses)
    assert fake.sent()[mark:] == []  # nothing sent, nothing edited
    assert snapshot(running_bot.ctx) == before
    with running_bot.ctx.db.transaction() as session:
        assert session.scalars(select(Campaign.state)).one() == CampaignState.STOPPED
