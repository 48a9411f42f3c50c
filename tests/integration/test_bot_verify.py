"""List verification through the real PTB Application and the fake Bot API, with DNS answered by
the local server of tests/servers/dns.py: the import report's counts, /verify editing one
message, and VERIFY_EMAILS set from the chat. SQLite and PostgreSQL (``make_ctx``)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest

from engine.context import EngineContext
from engine.intervals import Intervals
from engine.states import LeadStatus
from tests.integration.bot_harness import (
    ADMIN,
    RunningBot,
    start_application,
    stop_application,
)
from tests.servers.dns import DnsServer
from tests.servers.telegram import FakeTelegram
from tests.waiting import handlers_idle, wait_until_async

FINISHED = "Import finished"
CHECKED = "🔎 Checked"


@pytest.fixture
async def verifying_bot(
    fake_telegram: FakeTelegram,
    make_ctx: Callable[..., EngineContext],
    smtp_server: Any,
    dns_server: DnsServer,
) -> AsyncIterator[RunningBot]:
    """The bot with VERIFY_EMAILS=mx and DNS_NAMESERVERS pointing at the local server, which
    knows a domain of each kind."""
    dns_server.add("acme.io", "MX", "10 mail.acme.io.")
    dns_server.add("aonly.io", "A", "192.0.2.10")
    dns_server.add("nullmx.io", "MX", "0 .")
    dns_server.add("silent.io", "MX", "10 mail.silent.io.")
    dns_server.silence("silent.io")
    host, port = dns_server.address
    ctx = make_ctx(
        TELEGRAM_API_URL=fake_telegram.url,
        SMTP_PORT=str(smtp_server.port),
        VERIFY_EMAILS="mx",
        DNS_NAMESERVERS=f"{host}:{port}",
    )
    ctx.rng = random.Random(7)
    ctx.intervals = replace(Intervals(), verify_budget=10.0, verify_lookup=0.3)
    app = await start_application(ctx)
    try:
        yield RunningBot(app, ctx, fake_telegram)
    finally:
        await stop_application(app)


def outputs_since(bot: RunningBot, mark: int) -> list[dict]:
    return bot.fake.sent(ADMIN)[mark:]


async def test_it_reports_each_kind_with_its_first_lines(
    verifying_bot: RunningBot, dns_server: DnsServer
) -> None:
    data = (
        b"email,first_name\n"
        b"ana@acme.io,Ana\n"  # 2
        b"bob@aonly.io,Bob\n"  # 3
        b"cy@nullmx.io,Cy\n"  # 4
        b"dee@gone.io,Dee\n"  # 5: NXDOMAIN
        b"eve@silent.io,Eve\n"  # 6
        b"fay@mailinator.com,Fay\n"  # 7
        b"info@acme.io,\n"  # 8
        b"not-an-email,X\n"  # 9
    )
    mark = verifying_bot.fake.mark()

    answer = await verifying_bot.upload("leads.csv", data, expect=FINISHED)
    await wait_until_async(lambda: handlers_idle(verifying_bot.app), 10, "the import to finish")

    report = answer["text"]
    assert "Imported: 4" in report
    assert "Invalid: 1" in report and "line 9:" in report
    assert "No mail server (invalid, not imported): 2" in report
    assert "line 4: cy@nullmx.io — no mail server for nullmx.io" in report
    assert "line 5: dee@gone.io — no mail server for gone.io" in report
    assert "Disposable addresses (skipped): 1\n  line 7: fay@mailinator.com" in report
    assert "Unverified (DNS gave no answer in time; imported): 1" in report
    assert "line 6: eve@silent.io" in report
    assert "Role addresses (imported): 1" in report and "line 8: info@acme.io" in report
    assert "Mail servers: 5 domain(s) looked up" in report
    outputs = outputs_since(verifying_bot, mark)
    assert {r["message_id"] for r in outputs} == {answer["message_id"]}  # one message, edited
    assert any("Verifying 5 domain(s)…" in (r["text"] or "") for r in outputs)
    assert verifying_bot.lead("cy@nullmx.io") is None
    assert verifying_bot.lead("eve@silent.io") is not None


async def test_it_marks_dead_leads_invalid_with_verify_editing_one_message(
    verifying_bot: RunningBot, dns_server: DnsServer
) -> None:
    dns_server.add("closed.io", "MX", "10 mail.closed.io.")
    verifying_bot.add_leads("ana@acme.io", "bo@closed.io", "cy@closed.io", "eve@silent.io")
    dns_server.remove("closed.io")  # the company closed after the import
    mark = verifying_bot.fake.mark()

    answer = await verifying_bot.say("/verify", expect=CHECKED)
    await wait_until_async(lambda: handlers_idle(verifying_bot.app), 10, "/verify to finish")

    outputs = outputs_since(verifying_bot, mark)
    assert outputs[0]["method"] == "sendMessage"
    assert {r["message_id"] for r in outputs} == {answer["message_id"]}
    assert any("Checking the mail servers of 3 domain(s)" in (r["text"] or "") for r in outputs)
    text = outputs[-1]["text"]
    assert text.startswith("🔎 Checked 4 lead(s) waiting for their first email, at 3 domain(s).")
    assert "❌ 2 lead(s) marked invalid: no mail server at closed.io." in text
    assert "  bo@closed.io\n  cy@closed.io" in text
    assert "1 domain(s) gave no answer in time (silent.io): their 1 lead(s) are kept" in text
    dead = verifying_bot.lead("bo@closed.io")
    assert dead is not None
    assert (dead.status, dead.last_error) == (LeadStatus.INVALID, "no mail server for closed.io")
    alive = verifying_bot.lead("ana@acme.io")
    assert alive is not None and alive.status == LeadStatus.PENDING
    lead_answer = await verifying_bot.say("/lead bo@closed.io", expect="👤")
    assert "Status: invalid" in lead_answer["text"]
    assert "Note: no mail server for closed.io" in lead_answer["text"]


async def test_it_says_when_there_is_nothing_to_verify(verifying_bot: RunningBot) -> None:
    answer = await verifying_bot.say("/verify", expect="nothing to check")

    assert answer["text"].startswith("🔎 No lead is waiting for its first email")


async def test_it_imports_without_lookups_once_verify_emails_is_off_from_the_chat(
    verifying_bot: RunningBot, dns_server: DnsServer
) -> None:
    answer = await verifying_bot.say("/settings verify_emails off", expect="verify_emails")
    assert "✅ verify_emails is now off" in answer["text"]

    report = await verifying_bot.upload("leads.csv", b"email\ndee@gone.io\n", expect=FINISHED)

    assert "Imported: 1" in report["text"]
    assert "Mail servers: not looked up (/settings verify_emails mx turns it on)" in report["text"]
    assert dns_server.queries == []
