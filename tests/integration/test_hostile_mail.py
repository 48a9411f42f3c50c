"""Hostile inbound mail against a real Dovecot, on SQLite and PostgreSQL (issue 8).

Poison messages cannot stall the reply check (each message has a hard time budget), forged
bounces change nothing, and a sender the receiving server could not verify (DMARC) changes no
lead state until an admin applies the message anyway — exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.messages.inbox import applied
from engine import campaign
from engine.context import EngineContext
from engine.errors import TryLater
from engine.inbox.budget import Analyser
from engine.inbox.sync import UNCITED_BOUNCE, apply_unverified, check_inbox
from engine.storage.models import ImapSync, InboundMessage, PendingNotification, Suppression
from tests import hostile, mailshapes
from tests.integration import test_inbox_sync as inbox_tests
from tests.integration.sendkit import mailbox_ctx
from tests.integration.test_inbox_sync import (
    LEADS,
    calendar_rows,
    count,
    lead,
    reply,
    start,
    words,
)

ctx = inbox_tests.ctx  # the fixture: an engine on Dovecot + aiosmtpd, on both databases

FAIL_AR = "mx.ourdomain.com; spf=fail smtp.mailfrom={d}; dkim=none; dmarc=fail header.from={d}"
PASS_AR = "mx.ourdomain.com; spf=pass smtp.mailfrom={d}; dkim=pass header.d={d}; dmarc=pass"


def _domain(name: str) -> str:
    return LEADS[name].split("@")[1]


def inbound(ctx: EngineContext) -> list[InboundMessage]:
    with ctx.db.transaction() as session:
        rows = list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
        session.expunge_all()
        return rows


def outbox(ctx: EngineContext, kind: str) -> list[PendingNotification]:
    with ctx.db.transaction() as session:
        rows = list(
            session.scalars(select(PendingNotification).where(PendingNotification.kind == kind))
        )
        session.expunge_all()
        return rows


@pytest.fixture
def hanging() -> Iterator[Analyser]:
    analyser = Analyser(entry="tests.analysers:hang")
    yield analyser
    analyser.close()


# --- item 1: poison ----------------------------------------------------------------------------


def test_a_message_over_the_budget_is_recorded_other_and_the_mark_moves_past_it(
    ctx, dovecot, hanging: Analyser
) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    dovecot.deliver(
        mailshapes.unthreaded_reply("x@evil.example", dovecot.user, "hi", "hello").replace(
            b"Subject:", b"X-Test-Hang: yes\r\nSubject:", 1
        )
    )
    dovecot.deliver(reply("ana", ids["ana"]))

    report = check_inbox(ctx, budget_seconds=0.5, analyser=hanging)

    assert report.kinds == {"other": 1, "human": 1}
    stuck = inbound(ctx)[0]
    assert (stuck.kind, stuck.reason) == ("other", "could not be classified within 0.5 s")
    assert lead(ctx, "ana").status == "replied"
    assert hanging.started == 2  # the hung child was killed and a fresh one took the next one
    with ctx.db.transaction() as session:
        assert session.get(ImapSync, (1, "INBOX")).last_uid == 2  # type: ignore[union-attr]
    assert check_inbox(ctx, budget_seconds=0.5, analyser=hanging).fetched == 0


def test_a_classifier_that_cannot_start_fails_the_check_and_skips_nothing(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    dovecot.deliver(reply("ana", ids["ana"]))
    broken = Analyser(entry="tests.no_such_module:analyse")

    with pytest.raises(TryLater):
        check_inbox(ctx, analyser=broken)

    assert inbound(ctx) == []
    assert check_inbox(ctx).kinds == {"human": 1}


def test_the_poison_messages_are_read_and_a_genuine_reply_after_them_still_counts(
    ctx, dovecot
) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    for build in hostile.POISON.values():
        dovecot.deliver(build())
    dovecot.deliver(reply("ana", ids["ana"]))

    report = check_inbox(ctx)

    assert report.kinds == {"other": 4, "human": 1}
    assert lead(ctx, "ana").status == "replied"


def test_the_classifier_child_imports_no_database_or_telegram_code() -> None:
    analyser = Analyser(entry="tests.analysers:modules")
    try:
        modules = set(analyser.analyse(hostile.poison_long_from(10)).inbound.text.split())
        status = Path(f"/proc/{analyser.pid}/status").read_text()
        rss_kb = int(status.split("VmRSS:")[1].split()[0])
    finally:
        analyser.close()
    assert "engine.inbox.classify" in modules
    assert not {m for m in modules if m.split(".")[0] in ("sqlalchemy", "telegram", "bot")}
    assert analyser.pid is None
    print(f"classifier child RSS: {rss_kb} kB")


# --- item 2: forged bounces --------------------------------------------------------------------


def test_forged_bounces_citing_none_of_our_messages_change_nothing(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    names = list(LEADS)
    start(ctx, names)
    for n, name in enumerate(names[:3], start=1):
        dovecot.deliver(hostile.forged_dsn(n, LEADS[name]))
    for n, name in enumerate(names[3:], start=4):
        dovecot.deliver(hostile.forged_failed_recipients(n, LEADS[name]))

    report = check_inbox(ctx)

    assert report.kinds == {"other": 5}
    assert [r.reason for r in inbound(ctx)] == [UNCITED_BOUNCE] * 5
    assert all(r.lead_id is None for r in inbound(ctx))
    assert {lead(ctx, n).status for n in names} == {"sent"}
    assert campaign.status(ctx).state == "running"
    assert outbox(ctx, "bounce") == [] and outbox(ctx, "alert") == []


def test_a_genuine_dsn_bounces_the_lead_its_message_id_was_sent_to(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana", "bob"])
    # Cites Ana's email but names Bob: the cited Message-ID decides, never the named address.
    dovecot.deliver(mailshapes.gmail_dsn(LEADS["bob"], ids["ana"]))
    dovecot.deliver(mailshapes.postfix_bounce(LEADS["bob"], ids["bob"], with_dsn_part=False))

    assert check_inbox(ctx).kinds == {"bounce": 2}

    assert lead(ctx, "ana").status == "bounced"
    assert lead(ctx, "bob").status == "bounced"


# --- item 3: spoofed senders -------------------------------------------------------------------


def test_a_spoofed_opt_out_changes_nothing_until_applied_once(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    start(ctx, ["eve"])
    dovecot.deliver(
        hostile.spoofed(
            LEADS["eve"],
            "Please unsubscribe me",
            auth_results=[FAIL_AR.format(d=_domain("eve"))],
            subject="unsubscribe",
        )
    )

    assert check_inbox(ctx).kinds == {"unverified": 1}

    assert lead(ctx, "eve").status == "sent"
    assert count(ctx, Suppression) == 0
    [row] = inbound(ctx)
    assert row.reason == "would be opt_out: dmarc=fail (mx.ourdomain.com)"
    [notice] = outbox(ctx, "unverified")
    assert words(notice).startswith("⚠️ unverified sender: eve@epsilon.io")
    assert "\n" not in words(notice)
    assert outbox(ctx, "opt_out") == []

    first = applied(apply_unverified(ctx, notice.id))
    again = applied(apply_unverified(ctx, notice.id))

    assert first.startswith("✅ Applied") and again.startswith("Already applied")
    assert lead(ctx, "eve").status == "unsubscribed"
    assert count(ctx, Suppression) == 1
    assert len(outbox(ctx, "opt_out")) == 1


def test_a_spoofed_yes_in_the_thread_sends_no_calendar_link_until_applied(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana"])
    dovecot.deliver(
        hostile.spoofed(
            LEADS["ana"],
            "Sure, let's talk.",
            auth_results=[FAIL_AR.format(d=_domain("ana"))],
            in_reply_to=ids["ana"],
        )
    )

    assert check_inbox(ctx).kinds == {"unverified": 1}

    assert lead(ctx, "ana").status == "sent"
    assert lead(ctx, "ana").replied_at is None
    assert calendar_rows(ctx, "ana") == []
    [notice] = outbox(ctx, "unverified")
    apply_unverified(ctx, notice.id)
    apply_unverified(ctx, notice.id)
    assert lead(ctx, "ana").status == "replied"
    [answer] = calendar_rows(ctx, "ana")
    assert answer.in_reply_to == "<spoof@evil.example>"
    assert ids["ana"] in (answer.references or "")
    assert len(outbox(ctx, "reply")) == 1


def test_a_forged_pass_below_the_receivers_fail_is_ignored(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana", "bob"])
    forged_pass = "mx.ourdomain.com; dmarc=pass header.from=acme.io"
    dovecot.deliver(
        hostile.spoofed(
            LEADS["ana"],
            "Sure, let's talk.",
            auth_results=[FAIL_AR.format(d="acme.io"), forged_pass],
            in_reply_to=ids["ana"],
        )
    )
    # And the other way round: a forged fail further down does not hold a verified reply.
    dovecot.deliver(
        hostile.spoofed(
            LEADS["bob"],
            "Sure, let's talk.",
            auth_results=[PASS_AR.format(d="beta.io"), FAIL_AR.format(d="beta.io")],
            in_reply_to=ids["bob"],
            message_id="<bob-real@beta.io>",
        )
    )

    assert check_inbox(ctx).kinds == {"unverified": 1, "human": 1}

    assert lead(ctx, "ana").status == "sent"
    assert lead(ctx, "bob").status == "replied"


def test_authserv_id_picks_the_header_of_the_configured_server(
    make_ctx, dovecot, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    c = mailbox_ctx(make_ctx, smtp_server, dovecot, AUTHSERV_ID="MX.ourdomain.com")
    ids = start(c, ["ana", "bob"])
    # The sender wrote a "pass" on top; the configured server's verdict below it is a fail.
    dovecot.deliver(
        hostile.spoofed(
            LEADS["ana"],
            "Yes please",
            auth_results=["relay.evil.example; dmarc=pass", FAIL_AR.format(d="acme.io")],
            in_reply_to=ids["ana"],
        )
    )
    # SPF and DKIM both failing for the From domain (no DMARC result) hold it too.
    dovecot.deliver(
        hostile.spoofed(
            LEADS["bob"],
            "Yes please",
            auth_results=[
                "mx.ourdomain.com; spf=fail smtp.mailfrom=bob@beta.io; "
                "dkim=fail (bad signature) header.d=beta.io"
            ],
            in_reply_to=ids["bob"],
            message_id="<bob-spoof@evil.example>",
        )
    )

    assert check_inbox(c).kinds == {"unverified": 2}

    assert {lead(c, "ana").status, lead(c, "bob").status} == {"sent"}


def test_a_verified_reply_and_one_with_a_passing_dkim_still_count(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana", "bob"])
    dovecot.deliver(
        hostile.spoofed(
            LEADS["ana"],
            "Sure, let's talk.",
            auth_results=[PASS_AR.format(d="acme.io")],
            in_reply_to=ids["ana"],
        )
    )
    dovecot.deliver(
        hostile.spoofed(
            LEADS["bob"],
            "Sure, let's talk.",
            auth_results=[
                "mx.ourdomain.com; spf=fail smtp.mailfrom=beta.io; dkim=fail header.d=beta.io; "
                "dkim=pass header.d=mail.beta.io"
            ],
            in_reply_to=ids["bob"],
            message_id="<bob-ok@beta.io>",
        )
    )

    assert check_inbox(ctx).kinds == {"human": 2}

    assert lead(ctx, "ana").status == "replied"
    assert lead(ctx, "bob").status == "replied"
    assert len(calendar_rows(ctx, "ana")) == 1


# --- item 8: who wrote -------------------------------------------------------------------------


def test_a_third_party_in_the_leads_thread_is_named_as_the_writer(ctx, dovecot) -> None:  # type: ignore[no-untyped-def]
    ids = start(ctx, ["ana", "bob"])
    dovecot.deliver(
        mailshapes.threaded_reply(
            "frank@acme.io",
            dovecot.user,
            ids["ana"],
            [ids["ana"]],
            "not interested, do not contact us",
            mailshapes.default_original_body(),
            message_id="<frank@acme.io>",
        )
    )
    dovecot.deliver(
        mailshapes.threaded_reply(
            "carol@beta.io",
            dovecot.user,
            ids["bob"],
            [ids["bob"]],
            "Bob has left; I run purchasing now, happy to talk.",
            mailshapes.default_original_body(),
            message_id="<carol@beta.io>",
        )
    )

    assert check_inbox(ctx).kinds == {"opt_out": 1, "human": 1}

    [opt_out] = outbox(ctx, "opt_out")
    assert "frank@acme.io wrote in the thread with Ana <ana@acme.io>" in words(opt_out)
    assert lead(ctx, "ana").status == "unsubscribed"  # the matching stays as it is
    [push] = outbox(ctx, "reply")
    assert words(push).startswith(
        "💬 Reply from carol@beta.io, who wrote in the thread with Bob <bob@beta.io>"
    )
