"""The words of the inbox notifications: the engine's kind and payload, the bot's text."""

from __future__ import annotations

from typing import Any

from bot.messages import render
from bot.messages.inbox import applied
from engine.inbox.sync import ApplyOutcome, ApplyResult
from engine.notify import Notification
from engine.states import InboundKind, NoticeKind

ANA = {"lead_id": 7, "email": "ana@acme.io", "name": "Ana Diaz", "company": "Acme"}


def notice(kind: NoticeKind, payload: dict[str, Any], ident: int = 1) -> Notification:
    return Notification(ident, str(kind), "", payload)


def reply(**extra: Any) -> dict[str, Any]:
    base = {
        **ANA,
        "domain": "acme.io",
        "first": True,
        "writer": None,
        "subject": "Re: Quick question",
        "snippet": "Sounds interesting",
        "calendar_queued": False,
        "calendar_link_set": True,
    }
    return {**base, **extra}


def test_a_reply_is_standalone_with_its_buttons_and_a_two_line_head() -> None:
    r = render(notice(NoticeKind.REPLY, reply(calendar_queued=True)))
    head = "💬 Reply from Ana Diaz <ana@acme.io> (Acme)\nSubject: Re: Quick question"
    assert r.text == f"{head}\n\nSounds interesting\n\n📅 Calendar link queued."
    assert r.line == head
    assert r.standalone is True
    assert r.buttons is not None
    data = [b.callback_data for row in r.buttons.inline_keyboard for b in row]
    assert data == ["stop:7", "dom:7", "int:7", "notint:7"]


def test_a_first_reply_without_a_calendar_link_says_to_reply_yourself() -> None:
    r = render(notice(NoticeKind.REPLY, reply(calendar_link_set=False, subject="")))
    assert r.text.startswith("💬 Reply from Ana Diaz <ana@acme.io> (Acme)\nSubject: (no subject)")
    assert r.text.endswith(
        "\n\n(No CALENDAR_LINK set, so no calendar answer was sent — reply yourself.)"
    )
    later = render(notice(NoticeKind.REPLY, reply(first=False, calendar_link_set=False)))
    assert later.text.endswith("Sounds interesting")


def callback_data(r: Any) -> list[str]:
    return [b.callback_data for row in r.buttons.inline_keyboard for b in row]


def test_a_stored_reply_gets_full_text_and_one_add_button_per_named_address() -> None:
    p = reply(calendar_queued=True, inbound_id=30, referrals=["maria@acme.io", "jon@beta.io"])
    r = render(notice(NoticeKind.REPLY, p, ident=12))
    assert callback_data(r)[0] == "rpl:30"  # ✍️ Reply first
    assert callback_data(r)[5:] == ["full:30", "ref:48", "ref:49"]  # notice 12 x 4 + place
    labels = [b.text for row in r.buttons.inline_keyboard for b in row][5:]
    assert labels == [
        "📄 Full text",
        "➕ Add maria@acme.io as a lead",
        "➕ Add jon@beta.io as a lead",
    ]
    assert "➕ The reply names maria@acme.io, jon@beta.io" in r.text


def test_ask_mode_offers_the_calendar_button_and_says_why_nothing_was_sent() -> None:
    p = reply(inbound_id=30, calendar_mode="ask", calendar_offer=True)
    r = render(notice(NoticeKind.REPLY, p))
    assert "cal:30" in callback_data(r)
    assert r.text.endswith(
        "📅 Calendar link not sent (calendar_mode ask): press 📅 Send calendar link."
    )
    unset = render(notice(NoticeKind.REPLY, {**p, "calendar_link_set": False}))
    assert "no calendar link is set. Set one with /settings calendar_link" in unset.text


def test_off_mode_says_nothing_about_the_calendar_and_offers_no_button() -> None:
    p = reply(inbound_id=30, calendar_mode="off", calendar_link_set=False)
    r = render(notice(NoticeKind.REPLY, p))
    assert r.text.endswith("Sounds interesting")
    assert not any(d.startswith("cal:") for d in callback_data(r))


def test_a_third_party_writer_is_named_with_the_lead() -> None:
    r = render(notice(NoticeKind.REPLY, reply(writer="carol@acme.io", name="", company="")))
    assert r.line.startswith(
        "💬 Reply from carol@acme.io, who wrote in the thread with ana@acme.io"
    )
    o = render(notice(NoticeKind.OPT_OUT, {**ANA, "writer": "frank@acme.io"}))
    assert o.text == (
        "🚫 Opt-out: frank@acme.io wrote in the thread with Ana Diaz <ana@acme.io> (Acme) asked "
        "to be removed; ana@acme.io is added to the suppression list."
    )
    assert o.standalone is False and o.buttons is None


def test_bounces_read_as_today() -> None:
    hard = {"lead_id": 7, "email": "ana@acme.io", "status": "5.1.1", "hard": True}
    soft = {**hard, "status": "4.2.2", "hard": False}
    assert render(notice(NoticeKind.BOUNCE, hard)).text == (
        "❌ Bounced (5.1.1): ana@acme.io — no more emails to it."
    )
    assert render(notice(NoticeKind.BOUNCE, soft)).line == (
        "↩️ Soft bounce (4.2.2) from ana@acme.io; it keeps its place."
    )


def test_an_unverified_notice_is_one_line_with_the_apply_anyway_button() -> None:
    payload = {
        **ANA,
        "would_be": "opt_out",
        "from_email": "eve@epsilon.io",
        "verdict": "dmarc=fail (mx.ourdomain.com)",
    }
    r = render(notice(NoticeKind.UNVERIFIED, payload, ident=42))
    assert r.text == (
        "⚠️ unverified sender: eve@epsilon.io (dmarc=fail (mx.ourdomain.com)) — would be an "
        "opt-out for Ana Diaz <ana@acme.io> (Acme); nothing was changed."
    )
    assert r.buttons is not None
    assert [b.callback_data for row in r.buttons.inline_keyboard for b in row] == ["apply:42"]


def test_the_apply_anyway_answer_is_worded_by_the_bot() -> None:
    done = ApplyOutcome(ApplyResult.APPLIED, InboundKind.HUMAN, "ana@acme.io")
    again = ApplyOutcome(ApplyResult.ALREADY_APPLIED, InboundKind.HUMAN, "ana@acme.io")
    assert applied(done) == "✅ Applied: a reply for ana@acme.io."
    assert applied(again) == "Already applied to ana@acme.io."
