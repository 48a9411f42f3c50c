"""``SmtpMailer`` against the real aiosmtpd fixture, one fault switch at a time."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from engine.errors import (
    AccountBroken,
    ContentBlocked,
    QuotaExceeded,
    RecipientRejected,
    SendError,
    TooManyLogins,
    TryLater,
    Uncertain,
)
from engine.sending.smtp import Mailer, SmtpMailer, SmtpSettings
from tests.servers.smtp import Received, SmtpServer

SENDER = "sender@example.com"
LEAD = "lead@example.org"
OTHER_LEAD = "other@example.org"


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settings_for(server: SmtpServer, password: str | None = None) -> SmtpSettings:
    return SmtpSettings(
        host=server.host,
        port=server.port,
        security="none",
        username=server.username,
        password=server.password if password is None else password,
        timeout=5.0,
    )


def make_mailer(server: SmtpServer, password: str | None = None, **kwargs: object) -> SmtpMailer:
    return SmtpMailer(settings_for(server, password), local_hostname="client.test", **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def mailer(smtp_server: SmtpServer) -> Iterator[SmtpMailer]:
    m = make_mailer(smtp_server)
    yield m
    m.close()


def message(
    to: str = LEAD, subject: str = "Hello", body: str = "Hi there,\nquick question.\n"
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Sam Sender <{SENDER}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def send(m: SmtpMailer, to: str = LEAD, **kw: str) -> None:
    m.send(message(to, **kw), from_addr=SENDER, to_addr=to)


def all_text(exc: BaseException) -> str:
    """Everything an exception could show: str, repr, args, formatted traceback chain."""
    return "\n".join([str(exc), repr(exc), repr(exc.args), *traceback.format_exception(exc)])


# --- delivery ----------------------------------------------------------------------------


def test_it_delivers_with_the_right_envelope(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    msg = message(subject="Quick question about Acme")
    msg["Bcc"] = "hidden@example.net"
    mailer.send(msg, from_addr=SENDER, to_addr=LEAD)

    [got] = smtp_server.wait_for(1)
    assert got.mail_from == SENDER
    assert got.rcpt_tos == [LEAD]
    assert got.message["Subject"] == "Quick question about Acme"
    assert got.message["To"] == LEAD
    assert got.message["Bcc"] is None
    assert got.message.get_content() == "Hi there,\nquick question.\n"
    assert smtp_server.by_recipient(LEAD) == [got]


def test_it_keeps_dots_and_non_ascii_text_intact(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    body = ".starts with a dot\n..two dots\n.\nGrüße, Zoë — 你好\n"
    send(mailer, subject="Ünïcode subject", body=body)

    [got] = smtp_server.wait_for(1)
    assert got.message["Subject"] == "Ünïcode subject"
    assert got.message.get_content() == body


def test_it_reuses_one_connection_for_several_sends(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    for i in range(4):
        send(mailer, to=f"lead{i}@example.org")

    assert len(smtp_server.wait_for(4)) == 4
    assert smtp_server.connections == 1
    assert smtp_server.auth_attempts == 1


def test_it_sends_the_envelope_not_the_headers(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    mailer.send(message(to="header@example.org"), from_addr=SENDER, to_addr=LEAD)

    [got] = smtp_server.wait_for(1)
    assert got.rcpt_tos == [LEAD]
    assert smtp_server.by_recipient("header@example.org") == []


def test_it_satisfies_the_mailer_protocol(mailer: SmtpMailer) -> None:
    as_protocol: Mailer = mailer
    assert callable(as_protocol.send) and callable(as_protocol.close)


def test_it_reconnects_after_close(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    send(mailer)
    mailer.close()
    mailer.close()  # twice is harmless
    send(mailer)

    assert len(smtp_server.wait_for(2)) == 2
    assert smtp_server.connections == 2


def test_it_calls_on_store_before_answering(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    seen: list[Received] = []
    smtp_server.on_store = seen.append
    send(mailer)
    # No waiting: the callback ran before the server's 250 reached us.
    assert [r.rcpt_tos for r in seen] == [[LEAD]]


# --- login -------------------------------------------------------------------------------


def test_it_reports_a_wrong_password_as_account_broken_with_one_auth_attempt(
    smtp_server: SmtpServer,
) -> None:
    m = make_mailer(smtp_server, password="wrong-password-987")
    with pytest.raises(AccountBroken) as caught:
        send(m)
    assert caught.value.smtp_code == 535
    assert caught.value.enhanced == "5.7.8"
    assert smtp_server.auth_attempts == 1

    with pytest.raises(AccountBroken):
        send(m)
    assert smtp_server.auth_attempts == 2
    assert smtp_server.auth_failures == 2
    assert smtp_server.messages == []


def test_it_reports_refused_auth_as_account_broken(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    smtp_server.refuse_auth(True)
    with pytest.raises(AccountBroken, match="Username and Password not accepted"):
        send(mailer)
    assert smtp_server.auth_attempts == 1


def test_it_reports_no_auth_offered_as_account_broken(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    smtp_server.no_auth_offered(True)
    with pytest.raises(AccountBroken, match="AUTH"):
        send(mailer)
    assert smtp_server.auth_attempts == 0
    assert smtp_server.messages == []


def test_it_reports_too_many_logins(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    smtp_server.too_many_logins(True)
    with pytest.raises(TooManyLogins) as caught:
        send(mailer)
    assert caught.value.smtp_code == 454


def test_it_notices_credentials_changed_at_runtime(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    mailer.verify_login()
    smtp_server.set_credentials(SENDER, "rotated-app-password")
    with pytest.raises(AccountBroken):
        mailer.verify_login()


def test_it_verifies_login_on_its_own_connection(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    mailer.verify_login()
    assert smtp_server.connections == 1
    assert smtp_server.auth_attempts == 1
    send(mailer)
    assert smtp_server.connections == 2

    bad = make_mailer(smtp_server, password="nope-nope-nope")
    with pytest.raises(AccountBroken):
        bad.verify_login()


def test_it_recovers_once_the_fault_is_cleared(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    smtp_server.refuse_auth(True)
    with pytest.raises(AccountBroken):
        send(mailer)
    smtp_server.reset_faults()
    send(mailer)
    assert len(smtp_server.wait_for(1)) == 1


# --- message-level answers ---------------------------------------------------------------


def test_it_reports_a_tempfail_as_try_later_then_sends(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    smtp_server.tempfail_next(1)
    with pytest.raises(TryLater) as caught:
        send(mailer)
    assert caught.value.smtp_code == 451
    assert caught.value.enhanced == "4.3.0"
    assert smtp_server.messages == []

    send(mailer)
    assert len(smtp_server.wait_for(1)) == 1
    assert smtp_server.connections == 1  # the session survived the 451


def test_it_reports_quota_exceeded(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    smtp_server.quota_exceeded(True)
    with pytest.raises(QuotaExceeded) as caught:
        send(mailer)
    assert caught.value.enhanced == "5.4.5"
    assert "Daily user sending quota exceeded" in caught.value.text
    assert smtp_server.messages == []


def test_it_reports_a_rejected_recipient_and_keeps_the_connection(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    smtp_server.reject_recipient(LEAD)
    with pytest.raises(RecipientRejected) as caught:
        send(mailer, to=LEAD)
    assert caught.value.smtp_code == 550
    assert caught.value.enhanced == "5.1.1"

    send(mailer, to=OTHER_LEAD)
    [got] = smtp_server.wait_for(1)
    assert got.rcpt_tos == [OTHER_LEAD]
    assert smtp_server.connections == 1


def test_it_treats_a_4xx_at_rcpt_as_try_later(smtp_server: SmtpServer, mailer: SmtpMailer) -> None:
    smtp_server.reject_recipient(
        LEAD, 452, "4.2.2 The email account that you tried to reach is over quota."
    )
    with pytest.raises(TryLater):
        send(mailer, to=LEAD)


def test_it_reports_blocked_content_and_keeps_going(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    smtp_server.block_content_next(1)
    with pytest.raises(ContentBlocked) as caught:
        send(mailer)
    assert caught.value.smtp_code == 554
    assert caught.value.enhanced == "5.7.1"

    send(mailer)
    assert len(smtp_server.wait_for(1)) == 1


def test_it_reports_a_drop_after_data_as_uncertain_though_the_server_stored_it(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    smtp_server.drop_after_store_next(1)
    with pytest.raises(Uncertain):
        send(mailer, subject="maybe sent")

    [got] = smtp_server.wait_for(1)
    assert got.message["Subject"] == "maybe sent"

    send(mailer, subject="next one")  # reconnects by itself
    assert [r.message["Subject"] for r in smtp_server.wait_for(2)] == ["maybe sent", "next one"]
    assert smtp_server.connections == 2


# --- connection trouble ------------------------------------------------------------------


def test_it_reports_a_stopped_server_as_try_later(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    smtp_server.stop()
    with pytest.raises(TryLater, match="refused"):
        send(mailer)


def test_it_reports_a_server_gone_under_a_kept_connection_as_try_later(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    send(mailer)
    smtp_server.stop()
    with pytest.raises(TryLater):
        send(mailer)


def test_it_reconnects_once_when_the_kept_connection_died(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    send(mailer)
    smtp_server.stop()
    smtp_server.start()  # same port, the old session is gone

    send(mailer, to=OTHER_LEAD)
    assert [r.rcpt_tos for r in smtp_server.wait_for(2)] == [[LEAD], [OTHER_LEAD]]
    assert smtp_server.connections == 1  # counted since the restart


def test_it_checks_an_idle_connection_with_noop(smtp_server: SmtpServer) -> None:
    clock = FakeMonotonic()
    m = make_mailer(smtp_server, monotonic=clock)
    try:
        send(m)
        clock.now += 30
        send(m)  # not idle long: no probe
        assert smtp_server.noops == 0

        clock.now += 61
        send(m)  # probed, NOOP answered: same connection
        assert smtp_server.noops == 1
        assert smtp_server.connections == 1

        smtp_server.stop()
        smtp_server.start()
        clock.now += 61
        send(m)  # the probe fails: a fresh connection before MAIL
        assert smtp_server.connections == 1
        assert len(smtp_server.wait_for(4)) == 4
    finally:
        m.close()


# --- secrets -----------------------------------------------------------------------------


def test_it_keeps_the_password_out_of_reprs(smtp_server: SmtpServer) -> None:
    settings = settings_for(smtp_server)
    assert smtp_server.password not in repr(settings)
    assert "password" not in repr(settings)
    assert smtp_server.password not in repr(SmtpMailer(settings))


@pytest.mark.parametrize(
    "fault",
    [
        "wrong_password",
        "refuse_auth",
        "no_auth",
        "too_many_logins",
        "quota",
        "recipient",
        "content",
        "drop",
        "stopped",
    ],
)
def test_it_keeps_the_password_out_of_every_error(smtp_server: SmtpServer, fault: str) -> None:
    password = "super-secret-app-pw"
    smtp_server.set_credentials(SENDER, password)
    m = make_mailer(
        smtp_server, password="wrong-secret-pw" if fault == "wrong_password" else password
    )
    {
        "wrong_password": lambda: None,
        "refuse_auth": lambda: smtp_server.refuse_auth(True),
        "no_auth": lambda: smtp_server.no_auth_offered(True),
        "too_many_logins": lambda: smtp_server.too_many_logins(True),
        "quota": lambda: smtp_server.quota_exceeded(True),
        "recipient": lambda: smtp_server.reject_recipient(LEAD),
        "content": lambda: smtp_server.block_content_next(1),
        "drop": lambda: smtp_server.drop_after_store_next(1),
        "stopped": smtp_server.stop,
    }[fault]()
    with pytest.raises(SendError) as caught:
        send(m)
    text = all_text(caught.value)
    assert password not in text
    assert "wrong-secret-pw" not in text
    m.close()


def test_it_blanks_a_password_the_server_echoes(
    smtp_server: SmtpServer, mailer: SmtpMailer
) -> None:
    smtp_server.reject_recipient(LEAD, 550, f"5.1.1 echo {smtp_server.password} back")
    with pytest.raises(RecipientRejected) as caught:
        send(mailer)
    assert smtp_server.password not in all_text(caught.value)
    assert "********" in caught.value.text


# --- the fixture itself ------------------------------------------------------------------


def test_it_times_out_waiting_for_messages_that_never_come(smtp_server: SmtpServer) -> None:
    with pytest.raises(TimeoutError, match="got 0"):
        smtp_server.wait_for(1, timeout=0.05)
