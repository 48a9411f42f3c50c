"""Pure classification of inbound mail: bounce -> auto-reply -> opt-out -> human."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.inbox.autoreply import is_auto_reply
from engine.inbox.bounces import parse_bounce
from engine.inbox.classify import Inbound, classify, parse_inbound
from engine.inbox.optout import is_opt_out
from engine.inbox.quotes import strip_quoted
from engine.states import InboundKind
from tests import mailshapes as ms

ORIG = "<cold-1.1705312920@ourdomain.com>"
US = "sam@ourdomain.com"
LEAD = "jane@acme.example"
DEAD = "nobody@acme.example"


def _with_headers(raw: bytes, *lines: str) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode() + raw


# --------------------------------------------------------------------------- every shape

SHAPES = {
    "gmail_dsn": (lambda: ms.gmail_dsn(DEAD, ORIG), InboundKind.BOUNCE),
    "gmail_dsn_headers_only": (
        lambda: ms.gmail_dsn(DEAD, ORIG, headers_only=True),
        InboundKind.BOUNCE,
    ),
    "gmail_dsn_delay": (lambda: ms.gmail_dsn(DEAD, ORIG, "4.2.2"), InboundKind.BOUNCE),
    "postfix_bounce": (lambda: ms.postfix_bounce(DEAD, ORIG), InboundKind.BOUNCE),
    "postfix_plain_bounce": (
        lambda: ms.postfix_bounce(DEAD, ORIG, with_dsn_part=False),
        InboundKind.BOUNCE,
    ),
    "exchange_oof": (lambda: ms.exchange_out_of_office(LEAD, ORIG), InboundKind.AUTO_REPLY),
    "gmail_vacation": (lambda: ms.gmail_vacation_reply(LEAD, ORIG), InboundKind.AUTO_REPLY),
    "abwesenheitsnotiz": (lambda: ms.german_abwesenheitsnotiz(LEAD, ORIG), InboundKind.AUTO_REPLY),
    "threaded_reply": (
        lambda: ms.threaded_reply(
            LEAD, US, ORIG, [ORIG], "Sure, call me Tuesday.", ms.default_original_body()
        ),
        InboundKind.HUMAN,
    ),
    "unthreaded_reply": (
        lambda: ms.unthreaded_reply(LEAD, US, "Your email", "Hi Sam, who referred you?"),
        InboundKind.HUMAN,
    ),
    "footer_quoted_gmail": (
        lambda: ms.reply_quoting_unsubscribe_footer(LEAD, US, ORIG),
        InboundKind.HUMAN,
    ),
    "footer_quoted_outlook": (
        lambda: ms.reply_quoting_unsubscribe_footer(LEAD, US, ORIG, style="outlook"),
        InboundKind.HUMAN,
    ),
    "opt_out_reply": (lambda: ms.opt_out_reply(LEAD, US, ORIG), InboundKind.OPT_OUT),
    "html_only_reply": (lambda: ms.html_only_reply(LEAD, US, ORIG), InboundKind.HUMAN),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_it_classifies_every_mailshape(name: str) -> None:
    build, expected = SHAPES[name]
    result = classify(build())
    assert result.kind == expected, result.reason
    assert result.reason
    assert (result.bounce is not None) == (expected == InboundKind.BOUNCE)


def test_it_accepts_a_preparsed_inbound() -> None:
    raw = ms.opt_out_reply(LEAD, US, ORIG)
    assert classify(raw, parse_inbound(raw)).kind == InboundKind.OPT_OUT


def test_it_reads_our_own_footer_as_opt_out_so_callers_must_skip_own_messages() -> None:
    # Documents the contract: classify() does not know our addresses.
    raw = ms.our_own_message(US, ORIG)
    inb = parse_inbound(raw)
    assert inb.from_email == US and inb.message_id == ORIG
    assert classify(raw, inb).kind == InboundKind.OPT_OUT


# --------------------------------------------------------------------------- bounces


@pytest.mark.parametrize("headers_only", [False, True])
def test_it_reads_recipient_status_and_original_id_from_a_gmail_dsn(headers_only: bool) -> None:
    raw = ms.gmail_dsn(DEAD, ORIG, headers_only=headers_only)
    bounce = parse_bounce(raw)
    assert bounce is not None
    assert bounce.recipient == DEAD
    assert bounce.status == "5.1.1"
    assert bounce.action == "failed"
    assert bounce.hard is True
    assert bounce.original_message_id == ORIG
    assert "does not exist" in bounce.diagnostic
    assert classify(raw).reason == "hard bounce 5.1.1"


def test_it_classifies_a_dsn_as_bounce_although_it_carries_in_reply_to() -> None:
    raw = ms.gmail_dsn(DEAD, ORIG)
    inb = parse_inbound(raw)
    assert inb.in_reply_to == [ORIG]  # naive threading would call it a reply
    assert classify(raw, inb).kind == InboundKind.BOUNCE


def test_it_treats_a_4_2_2_delay_as_a_soft_bounce() -> None:
    bounce = parse_bounce(ms.gmail_dsn(DEAD, ORIG, "4.2.2"))
    assert bounce is not None
    assert bounce.status == "4.2.2"
    assert bounce.action == "delayed"
    assert bounce.hard is False


@pytest.mark.parametrize("builder", [ms.gmail_dsn, ms.postfix_bounce])
def test_it_treats_5_2_2_mailbox_full_as_hard(builder: Callable[..., bytes]) -> None:
    # Issue 9 decided 5.2.2 once (engine/delivery_status.py): hard, as at RCPT. Was soft here.
    bounce = parse_bounce(builder(DEAD, ORIG, "5.2.2"))
    assert bounce is not None
    assert bounce.status == "5.2.2"
    assert bounce.hard is True


def test_it_reads_a_postfix_dsn_preferring_original_recipient() -> None:
    raw = ms.postfix_bounce("Nobody@Acme.Example", ORIG)
    bounce = parse_bounce(raw)
    assert bounce is not None
    assert bounce.recipient == "nobody@acme.example"
    assert bounce.status == "5.1.1"
    assert bounce.hard is True
    assert bounce.original_message_id == ORIG
    assert bounce.diagnostic.startswith("550 5.1.1")


def test_it_reads_a_plain_text_bounce_from_its_text() -> None:
    bounce = parse_bounce(ms.postfix_bounce(DEAD, ORIG, with_dsn_part=False))
    assert bounce is not None
    assert bounce.recipient == DEAD
    assert bounce.status == "5.1.1"
    assert bounce.action is None
    assert bounce.hard is True
    assert bounce.original_message_id == ORIG


def test_it_falls_back_to_the_smtp_code_without_an_enhanced_status() -> None:
    raw = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example.net>\r\n"
        b"To: sam@ourdomain.com\r\nSubject: Mail delivery failed: returning message to sender\r\n"
        b"\r\nA message that you sent could not be delivered.\r\n\r\n"
        b"  nobody@acme.example\r\n    SMTP error from remote mail server after RCPT TO:\r\n"
        b"    552 mailbox over quota\r\n"
    )
    bounce = parse_bounce(raw)
    assert bounce is not None
    assert bounce.status is None
    assert bounce.hard is True  # 552 without an enhanced code: mailbox full, hard (as 5.2.2)


def test_it_falls_back_to_a_4xx_smtp_code_as_soft() -> None:
    raw = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example.net>\r\n"
        b"To: sam@ourdomain.com\r\nSubject: Mail delivery failed: returning message to sender\r\n"
        b"\r\nA message that you sent could not be delivered.\r\n\r\n"
        b"  nobody@acme.example\r\n    SMTP error from remote mail server after RCPT TO:\r\n"
        b"    452 mailbox over quota\r\n"
    )
    bounce = parse_bounce(raw)
    assert bounce is not None
    assert bounce.status is None
    assert bounce.hard is False


def test_it_ignores_a_positive_delivery_notification() -> None:
    raw = ms.gmail_dsn(DEAD, ORIG).replace(b"Action: failed", b"Action: delivered")
    raw = raw.replace(b"Status: 5.1.1", b"Status: 2.0.0").replace(b"X-Failed-Recipients", b"X-N")
    assert parse_bounce(raw) is None


@pytest.mark.parametrize(
    "subject",
    ["Undeliverable: Quick question", "Returned mail: see transcript for details"],
)
def test_it_needs_a_daemon_sender_for_a_bounce_subject(subject: str) -> None:
    human = ms.unthreaded_reply(LEAD, US, subject, "ha, funny subject")
    assert parse_bounce(human) is None
    daemon = ms.unthreaded_reply("postmaster@acme.example", US, subject, "550 5.4.4 no such domain")
    bounce = parse_bounce(daemon)
    assert bounce is not None and bounce.status == "5.4.4" and bounce.hard


def test_it_is_not_a_bounce_for_human_or_auto_replies() -> None:
    assert parse_bounce(ms.threaded_reply(LEAD, US, ORIG, [], "ok", "hi")) is None
    assert parse_bounce(ms.exchange_out_of_office(LEAD, ORIG)) is None


# --------------------------------------------------------------------------- parse_inbound


def test_it_parses_comma_separated_references() -> None:
    refs = ["<first@ourdomain.com>", "<CAB+x=1@mail.gmail.com>", ORIG]
    raw = ms.threaded_reply(LEAD, US, ORIG, refs, "ok", "hi", comma_references=True)
    inb = parse_inbound(raw)
    assert inb.references == refs
    assert inb.in_reply_to == [ORIG]


def test_it_restores_missing_angle_brackets() -> None:
    refs = ["<first@ourdomain.com>", ORIG]
    raw = ms.threaded_reply(LEAD, US, ORIG, refs, "ok", "hi", angle_brackets=False)
    inb = parse_inbound(raw)
    assert inb.references == refs
    assert inb.in_reply_to == [ORIG]


def test_it_drops_comments_and_splits_glued_ids() -> None:
    raw = (
        b"From: x@y.example\r\nIn-Reply-To: <a@b.example> (Jane's message of Mon, 15 Jan)\r\n"
        b"References: <a@b.example><c@d.example>,e@f.example\r\n\r\nhi\r\n"
    )
    inb = parse_inbound(raw)
    assert inb.in_reply_to == ["<a@b.example>"]
    assert inb.references == ["<a@b.example>", "<c@d.example>", "<e@f.example>"]


def test_it_decodes_encoded_subject_name_and_latin1_body() -> None:
    inb = parse_inbound(ms.german_abwesenheitsnotiz("JM@Firma.example", ORIG))
    assert inb.subject == "Abwesenheitsnotiz: Kurze Frage zu Ihrem Büro"
    assert inb.from_name == "Jürgen Müller"
    assert inb.from_email == "jm@firma.example"
    assert "nicht im Büro" in inb.text
    assert inb.headers["in-reply-to"] == ORIG
    assert inb.date is not None and inb.date.year == 2024


def test_it_keeps_an_encoded_comma_in_the_display_name() -> None:
    raw = b"From: =?utf-8?q?Doe=2C_John?= <John@X.example>\r\n\r\nhi\r\n"
    inb = parse_inbound(raw)
    assert (inb.from_email, inb.from_name) == ("john@x.example", "Doe, John")


def test_it_decodes_raw_utf8_headers() -> None:
    raw = "From: Zoë <z@x.example>\r\nSubject: Ça va ?\r\n\r\nhi\r\n".encode()
    inb = parse_inbound(raw)
    assert inb.subject == "Ça va ?"
    assert inb.from_name == "Zoë"


def test_it_converts_an_html_only_reply_to_text_and_strips_the_blockquote() -> None:
    inb = parse_inbound(ms.html_only_reply(LEAD, US, ORIG))
    assert "Does Thursday at 2pm work?" in inb.text
    assert "> Reply 'unsubscribe'" in inb.text
    assert inb.new_text.startswith("Yes, I'd like to learn more.")
    assert "unsubscribe" not in inb.new_text
    assert "<p>" not in inb.text


def test_it_prefers_the_plain_part() -> None:
    inb = parse_inbound(ms.threaded_reply(LEAD, US, ORIG, [], "Plain wins", "hi"))
    assert inb.new_text == "Plain wins"
    assert "gmail_quote" not in inb.text


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"From: <<<@@@>>>\r\nDate: yesterday-ish\r\nMessage-ID: \r\n\r\n",
        b"Subject: =?x-unknown?q?abc?= =?utf-8?b?!!!?=\r\n\r\nbody",
        b"Content-Type: text/plain; charset=bogus-9\r\n\r\n\xe9t\xe9",
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n@@not base64@@",
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<b',
        b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\nno boundary",
        b"From: MAILER-DAEMON@x\r\nSubject: Undeliverable:\r\n\r\n",
    ],
)
def test_it_degrades_on_malformed_messages(raw: bytes) -> None:
    inb = parse_inbound(raw)
    assert inb.raw_size == len(raw)
    assert isinstance(inb.subject, str) and isinstance(inb.text, str)
    assert classify(raw, inb).kind in {
        InboundKind.BOUNCE,
        InboundKind.AUTO_REPLY,
        InboundKind.OPT_OUT,
        InboundKind.HUMAN,
    }


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_it_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    inb = parse_inbound(raw)
    assert inb.raw_size == len(raw)
    classify(raw, inb)


_HEADERISH = st.lists(
    st.sampled_from(
        [
            b"From: ",
            b"Subject: ",
            b"References: ",
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=b",
            b"Content-Type: message/delivery-status",
            b"Content-Type: text/html; charset=",
            b"Content-Transfer-Encoding: base64",
            b"--b",
            b"=?utf-8?q?",
            b"<",
            b">",
            b"@",
            b",",
            b"\r\n",
            b"\r\n\r\n",
            b"Status: 5.1.1",
            b"Final-Recipient: rfc822;",
            b"\xff",
        ]
    )
    | st.binary(max_size=20),
    max_size=40,
).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(_HEADERISH)
def test_it_never_raises_on_mail_shaped_garbage(raw: bytes) -> None:
    classify(raw, parse_inbound(raw))
    parse_bounce(raw)


# --------------------------------------------------------------------------- strip_quoted

NEW = "Sounds good, let's talk Tuesday."


@pytest.mark.parametrize(
    "quoting",
    [
        "On Mon, Jan 15, 2024 at 10:02 AM Sam Sender <sam@ourdomain.com> wrote:\n\n> Hi\n> unsubscribe",
        "On Mon, Jan 15, 2024 at 10:02 AM Sam Sender <sam@ourdomain.com>\nwrote:\n\n> Hi\n> unsubscribe",
        "On 15 Jan 2024, at 10:02, Sam Sender wrote:\n\nHi (not quoted)\nunsubscribe",
        "-----Original Message-----\nFrom: Sam\nSent: Monday\nTo: Jane\n\nHi\nunsubscribe",
        "________________________________\nFrom: Sam Sender <sam@ourdomain.com>\nSent: Monday, "
        "January 15, 2024 10:02 AM\nTo: Jane\nSubject: Quick question\n\nHi\nunsubscribe",
        "From: Sam Sender <sam@ourdomain.com>\nSent: Monday\nTo: Jane\nSubject: Q\n\nunsubscribe",
        "*From:* Sam Sender\n*Date:* Mon, 15 Jan 2024\n*To:* Jane\n\nunsubscribe",
        "Le lun. 15 janv. 2024 à 10:02, Sam Sender <sam@ourdomain.com> a écrit :\n\n> unsubscribe",
        "Le lun. 15 janv. 2024 à 10:02, Sam Sender <sam@ourdomain.com>\na écrit :\n> unsubscribe",
        "De : Sam Sender <sam@ourdomain.com>\nEnvoyé : lundi 15 janvier 2024 10:02\nÀ : Jane\n"
        "Objet : Question\n\nunsubscribe",
        "Am Mo., 15. Jan. 2024 um 10:02 Uhr schrieb Sam Sender <sam@ourdomain.com>:\n\n> unsubscribe",
        "Von: Sam Sender <sam@ourdomain.com>\nGesendet: Montag, 15. Januar 2024 10:02\nAn: Jane\n"
        "Betreff: Frage\n\nunsubscribe",
        "-----Ursprüngliche Nachricht-----\nVon: Sam\n\nunsubscribe",
        "El lun, 15 ene 2024 a las 10:02, Sam Sender (<sam@ourdomain.com>) escribió:\n> unsubscribe",
        "-- \nJane Doe | VP Sales | unsubscribe@acme.example",
        "> quoted unsubscribe\n> more",
    ],
)
def test_it_strips_quoted_parts(quoting: str) -> None:
    text = f"{NEW}\n\nJane\n\n{quoting}\n"
    assert strip_quoted(text) == f"{NEW}\n\nJane"


def test_it_strips_a_crlf_gmail_reply() -> None:
    text = "Yes!\r\n\r\nOn Mon, Jan 15 Sam <s@x> wrote:\r\n\r\n> Hi\r\n> there\r\n"
    assert strip_quoted(text) == "Yes!"


def test_it_never_strips_the_first_non_empty_line() -> None:
    assert strip_quoted("\n\n> just a quote\n> more") == "> just a quote"
    assert strip_quoted("-----Original Message-----\nHi") == "-----Original Message-----\nHi"
    assert strip_quoted("On Monday works, John wrote:\nthat is fine") == (
        "On Monday works, John wrote:\nthat is fine"
    )


def test_it_keeps_an_answer_written_below_the_quote() -> None:
    text = "Hi Sam,\n\nOn Mon, Jan 15 Sam <s@x> wrote:\n> Worth a call?\n\nYes, Tuesday.\n"
    assert strip_quoted(text) == "Hi Sam,\n\nYes, Tuesday."


def test_it_keeps_ordinary_from_lines_and_dashes() -> None:
    text = "Hi,\nFrom: next week on I am free.\n--- not a signature\nJane"
    assert strip_quoted(text) == text


# --------------------------------------------------------------------------- auto-replies


def _inb(subject: str = "Re: Quick question", *headers: str, body: str = "Thanks!") -> Inbound:
    return parse_inbound(_with_headers(ms.unthreaded_reply(LEAD, US, subject, body), *headers))


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Quick question",
        "AUTO: Jane Doe is out of the office (returning 22/01/2024)",
        "Auto Reply: Quick question",
        "Autoreply: Quick question",
        "Auto-Reply: Quick question",
        "Out of Office: Quick question",
        "Out of the office until Monday",
        "OOO until 22 Jan",
        "I am out of the office",
        "Vacation reply",
        "Abwesenheitsnotiz: Kurze Frage",
        "Automatische Antwort: Kurze Frage",
        "Réponse automatique : Question",
        "RÉPONSE AUTOMATIQUE: Question",
        "Respuesta automática: Pregunta",
        "Respuesta automatica: Pregunta",
        "Risposta automatica: Domanda",
        "Automatisch antwoord: Vraag",
        "Resposta automática: Pergunta",
        "Autosvar: Fråga",
        "Odpowiedź automatyczna: Pytanie",
        "Automatisk svar: Spørgsmål",
        "Автоматический ответ: Вопрос",
        "自动回复: 问题",
    ],
)
def test_it_recognises_out_of_office_subjects(subject: str) -> None:
    inb = parse_inbound(ms.unthreaded_reply(LEAD, US, subject, "I am away."))
    assert is_auto_reply(inb)
    assert (
        classify(ms.unthreaded_reply(LEAD, US, subject, "unsubscribe")).kind
        == InboundKind.AUTO_REPLY
    )


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Out of office?",
        "RE: Automatic reply: Quick question",
        "AW: Abwesenheitsnotiz",
        "Quick question about your out of office policy",
        "Oooh, nice",
        "Automation tools",
        "Autosvarer",
    ],
)
def test_it_does_not_treat_a_human_subject_as_auto_reply(subject: str) -> None:
    assert not is_auto_reply(_inb(subject))


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated",
        "Auto-Submitted: auto-notified; owner-email=x@y",
        "X-Autoreply: yes",
        "X-Autorespond: Jane is away",
        "X-Autoresponder: true",
        "Precedence: bulk",
        "Precedence: auto_reply",
        "Precedence: junk",
        "Precedence: list",
        "X-Autogenerated: Reply",
    ],
)
def test_it_recognises_auto_reply_headers(header: str) -> None:
    inb = _inb("Re: Quick question", header)
    assert is_auto_reply(inb)


@pytest.mark.parametrize(
    "headers",
    [
        (),
        ("Auto-Submitted: no",),
        ("Precedence: first-class",),
        ("X-Auto-Response-Suppress: All",),  # Outlook sets it on ordinary mail too
        ("X-Autogenerated: Forward",),
    ],
)
def test_it_does_not_call_ordinary_headers_auto_reply(headers: tuple[str, ...]) -> None:
    assert not is_auto_reply(_inb("Re: Quick question", *headers))


def test_it_recognises_exchange_suppress_with_rules_loop() -> None:
    inb = _inb(
        "Re: Quick question",
        "X-Auto-Response-Suppress: All",
        "X-MS-Exchange-Inbox-Rules-Loop: jane@acme.example",
    )
    assert is_auto_reply(inb)


def test_it_checks_auto_reply_before_opt_out() -> None:
    raw = _with_headers(
        ms.unthreaded_reply(LEAD, US, "Re: hi", "unsubscribe"), "Auto-Submitted: auto-replied"
    )
    result = classify(raw)
    assert result.kind == InboundKind.AUTO_REPLY
    assert result.reason == "Auto-Submitted: auto-replied"


# --------------------------------------------------------------------------- opt-out


@pytest.mark.parametrize(
    "text",
    [
        "Please remove me from your list.",
        "unsubscribe",
        "UNSUBSCRIBE!!",
        "Remove",
        "STOP",
        "stop please",
        "Take me off your list",
        "Stop emailing me.",
        "Please stop sending these.",
        "Don't email me again",
        "Do not contact me again",
        "Not interested, thanks.",
        "We're no longer interested.",
        "Opt out",
        "I want to opt-out",
        "Please remove my email address",
        "Bitte abmelden.",
        "Bitte austragen",
        "Kein Interesse.",
        "Merci de me désabonner",
        "Je veux me désinscrire",
        "Por favor, darme de baja.",
        "No me interesa",
        "Please don\u2019t email me",
    ],
)
def test_it_recognises_opt_out_requests(text: str) -> None:
    assert is_opt_out(text, "Re: Quick question")


@pytest.mark.parametrize(
    "text",
    [
        "I'm interested, tell me more.",
        "I'm not uninterested, to be honest.",
        "No thanks, we're covered this quarter.",
        "Please don't unsubscribe me, I like these.",
        "Sounds good, let's talk Tuesday.",
        "Could you remove the attachment and resend?",
        "Stop by our booth at the fair!",
        "",
    ],
)
def test_it_does_not_flag_ordinary_replies_as_opt_out(text: str) -> None:
    assert not is_opt_out(text, "Re: Quick question")


@pytest.mark.parametrize("subject", ["Unsubscribe", "Re: unsubscribe", "REMOVE", "remove me"])
def test_it_recognises_opt_out_subjects(subject: str) -> None:
    assert is_opt_out("", subject)


def test_it_classifies_an_opt_out_reply_with_a_reason() -> None:
    result = classify(ms.opt_out_reply(LEAD, US, ORIG))
    assert result.kind == InboundKind.OPT_OUT
    assert result.bounce is None
    assert result.reason.startswith("asked to unsubscribe")


@pytest.mark.parametrize("style", ["gmail", "outlook"])
def test_it_keeps_a_reply_quoting_our_unsubscribe_footer_human(style: str) -> None:
    raw = ms.reply_quoting_unsubscribe_footer(LEAD, US, ORIG, style=style)
    inb = parse_inbound(raw)
    assert "unsubscribe" in inb.text
    assert inb.new_text == "Sounds good, let's talk Tuesday.\n\nJane"
    assert classify(raw, inb).kind == InboundKind.HUMAN
