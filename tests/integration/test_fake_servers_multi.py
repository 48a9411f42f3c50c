"""The fakes themselves with several mailboxes: logins on one SmtpServer, users on one Dovecot.

Clients are the plain stdlib ``smtplib`` and ``imapclient``, so these tests check the fakes
(tests/servers/smtp.py, tests/servers/dovecot.py), not the engine.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable
from email.message import EmailMessage

import imapclient
import pytest

from tests.servers.dovecot import Dovecot
from tests.servers.smtp import Received, SmtpServer

A, A_PASS = "alice@sender.example", "alice-app-pass"
B, B_PASS = "bob@sender.example", "bob-app-pass"
LEAD = "lead@acme.example"


@pytest.fixture
def two_logins(smtp_server: SmtpServer) -> SmtpServer:
    """The shared fixture's server with logins A and B besides its primary one."""
    smtp_server.add_login(A, A_PASS)
    smtp_server.add_login(B, B_PASS)
    return smtp_server


def connect(server: SmtpServer, login: str, password: str) -> smtplib.SMTP:
    """A connection after exactly one AUTH PLAIN (``SMTP.login`` would retry with LOGIN)."""
    conn = smtplib.SMTP(server.host, server.port, timeout=5)
    try:
        conn.ehlo()
        conn.user, conn.password = login, password
        conn.auth("PLAIN", conn.auth_plain)
    except BaseException:
        conn.close()
        raise
    return conn


def send_as(server: SmtpServer, login: str, password: str, subject: str, to: str = LEAD) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = login, to, subject
    msg.set_content(f"{subject} body")
    with connect(server, login, password) as conn:
        conn.send_message(msg)


def subjects(messages: list[Received]) -> list[str]:
    return [m.message["Subject"] for m in messages]


# --- SMTP: several logins ----------------------------------------------------------------


def test_by_login_separates_what_each_login_sent(two_logins: SmtpServer) -> None:
    server = two_logins
    send_as(server, A, A_PASS, "a1")
    send_as(server, B, B_PASS, "b1")
    send_as(server, A, A_PASS, "a2")
    send_as(server, server.username, server.password, "primary")

    assert subjects(server.wait_for(2, login=A)) == ["a1", "a2"]
    assert subjects(server.by_login(A)) == ["a1", "a2"]
    assert subjects(server.by_login(B)) == ["b1"]
    assert subjects(server.by_login(server.username)) == ["primary"]
    assert [m.login for m in server.messages] == [A, B, A, server.username]
    assert server.logins == [server.username, A, B]
    assert (server.auth_attempts_for(A), server.auth_attempts_for(B)) == (2, 1)
    assert server.auth_attempts == 4 and server.auth_failures == 0


def test_a_wrong_password_counts_against_that_login_only(two_logins: SmtpServer) -> None:
    server = two_logins
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        connect(server, A, "not-alices-password")
    assert refused.value.smtp_code == 535
    send_as(server, B, B_PASS, "b1")

    assert (server.auth_attempts_for(A), server.auth_failures_for(A)) == (1, 1)
    assert (server.auth_attempts_for(B), server.auth_failures_for(B)) == (1, 0)
    assert (server.auth_attempts, server.auth_failures) == (2, 1)
    assert B_PASS != A_PASS  # B's password does not open A either:
    with pytest.raises(smtplib.SMTPAuthenticationError):
        connect(server, A, B_PASS)


@pytest.mark.parametrize(
    ("fault", "code"),
    [(SmtpServer.refuse_auth, 535), (SmtpServer.too_many_logins, 454)],
    ids=["refuse_auth", "too_many_logins"],
)
def test_an_auth_fault_on_one_login_leaves_the_other_working(
    two_logins: SmtpServer, fault: Callable[..., None], code: int
) -> None:
    server = two_logins
    fault(server, True, login=A)

    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        connect(server, A, A_PASS)  # the right password, refused all the same
    assert refused.value.smtp_code == code
    send_as(server, B, B_PASS, "b1")
    assert subjects(server.by_login(B)) == ["b1"]
    assert server.auth_failures_for(A) == 1 and server.auth_failures_for(B) == 0

    fault(server, False, login=A)
    send_as(server, A, A_PASS, "a1")
    assert subjects(server.by_login(A)) == ["a1"]


def test_an_every_login_auth_fault_refuses_all_and_off_clears_per_login_ones(
    two_logins: SmtpServer,
) -> None:
    server = two_logins
    server.refuse_auth(login=A)
    server.refuse_auth()  # every login
    for login, password in ((A, A_PASS), (B, B_PASS)):
        with pytest.raises(smtplib.SMTPAuthenticationError):
            connect(server, login, password)
    # refused before the credentials are checked, still counted per login (AUTH PLAIN's
    # initial response names it)
    assert server.auth_failures_for(A) == server.auth_failures_for(B) == 1

    server.refuse_auth(False)  # off for every login, A's own switch included
    send_as(server, A, A_PASS, "a1")
    send_as(server, B, B_PASS, "b1")
    assert len(server.wait_for(2)) == 2


def test_quota_on_one_login_leaves_the_other_sending(two_logins: SmtpServer) -> None:
    server = two_logins
    server.quota_exceeded(login=A)
    for _ in range(2):  # a switch, not a count
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send_as(server, A, A_PASS, "a")
        assert refused.value.smtp_code == 550
    send_as(server, B, B_PASS, "b1")
    assert subjects(server.messages) == ["b1"]


@pytest.mark.parametrize(
    ("arm", "code"),
    [
        (lambda s, login: s.tempfail_next(1, 421, "4.7.0 Try again later", login=login), 421),
        (lambda s, login: s.block_content_next(1, login=login), 554),
    ],
    ids=["tempfail_next", "block_content_next"],
)
def test_a_next_data_fault_on_one_login_is_used_up_by_that_login_only(
    two_logins: SmtpServer, arm: Callable[[SmtpServer, str | None], None], code: int
) -> None:
    server = two_logins
    arm(server, A)
    send_as(server, B, B_PASS, "b1")  # does not use up A's fault
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send_as(server, A, A_PASS, "a1")
    assert refused.value.smtp_code == code
    send_as(server, A, A_PASS, "a2")  # used up
    assert subjects(server.messages) == ["b1", "a2"]


def test_a_login_uses_its_own_next_data_fault_before_the_every_login_one(
    two_logins: SmtpServer,
) -> None:
    server = two_logins
    server.tempfail_next(1, 451, "4.3.0 for everyone")
    server.tempfail_next(1, 452, "4.3.1 for A", login=A)
    with pytest.raises(smtplib.SMTPDataError) as first:
        send_as(server, A, A_PASS, "a1")
    with pytest.raises(smtplib.SMTPDataError) as second:
        send_as(server, A, A_PASS, "a2")
    assert (first.value.smtp_code, second.value.smtp_code) == (452, 451)
    send_as(server, B, B_PASS, "b1")
    assert subjects(server.messages) == ["b1"]


def test_a_drop_after_store_on_one_login_stores_and_cuts_only_that_login(
    two_logins: SmtpServer,
) -> None:
    server = two_logins
    server.drop_after_store_next(login=A)
    send_as(server, B, B_PASS, "b1")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send_as(server, A, A_PASS, "a1")
    assert [(m.login, m.message["Subject"]) for m in server.messages] == [(B, "b1"), (A, "a1")]


def test_a_recipient_rejected_for_one_login_is_accepted_from_the_other(
    two_logins: SmtpServer,
) -> None:
    server = two_logins
    server.reject_recipient(LEAD.upper(), 550, "5.7.1 Blocked for this sender", login=A)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send_as(server, A, A_PASS, "a1")
    assert refused.value.recipients[LEAD][0] == 550
    send_as(server, B, B_PASS, "b1")
    assert subjects(server.messages) == ["b1"]

    server.reset_faults()
    send_as(server, A, A_PASS, "a2")
    assert subjects(server.by_login(A)) == ["a2"]


def test_set_credentials_replaces_the_primary_login_and_keeps_the_others(
    two_logins: SmtpServer,
) -> None:
    server = two_logins
    old_primary, old_password = server.username, server.password
    server.set_credentials("new@sender.example", "new-pass")
    assert server.logins == ["new@sender.example", A, B]
    with pytest.raises(smtplib.SMTPAuthenticationError):
        connect(server, old_primary, old_password)
    send_as(server, "new@sender.example", "new-pass", "n1")
    send_as(server, A, A_PASS, "a1")
    assert [m.login for m in server.messages] == ["new@sender.example", A]


# --- Dovecot: several users --------------------------------------------------------------

TWO, TWO_PASS = "two@example.com", "two-imap-pass"


def mail(subject: str, to: str) -> bytes:
    return (
        f"From: lead@acme.example\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@acme.example>\r\n"
        f"Date: Tue, 02 Jan 2024 10:00:00 +0000\r\n\r\n{subject} body\r\n"
    ).encode()


def inbox_subjects(client: imapclient.IMAPClient) -> list[str]:
    client.select_folder("INBOX", readonly=True)
    fetched = client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return sorted(
        data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().strip().removeprefix("Subject: ")
        for data in fetched.values()
    )


@pytest.fixture
def two_users(dovecot: Dovecot) -> Dovecot:
    dovecot.add_user(TWO, TWO_PASS)
    return dovecot


@pytest.mark.dovecot
def test_each_user_sees_only_its_own_inbox(two_users: Dovecot) -> None:
    d = two_users
    d.deliver(mail("one first", d.user))
    d.deliver(mail("two first", TWO), user=TWO)
    d.append(mail("two second", TWO), user=TWO)
    d.bulk_fill(3, user=TWO)

    with d.client() as one, d.client(user=TWO) as two:
        assert inbox_subjects(one) == ["one first"]
        assert inbox_subjects(two) == sorted(
            ["two first", "two second", "filler 0", "filler 1", "filler 2"]
        )
        # each has its own special-use folders
        for client in (one, two):
            roles = {name: flags for flags, _, name in client.list_folders()}
            assert b"\\Sent" in roles[d.sent_name] and b"\\Trash" in roles["Trash"]
    assert (d.inbox_count(), d.inbox_count(user=TWO)) == (1, 5)
    assert d.users == [d.user, TWO]


@pytest.mark.dovecot
def test_deliver_to_sent_goes_to_that_users_sent_folder(two_users: Dovecot) -> None:
    d = two_users
    d.deliver_to_sent(mail("sent by two", "lead@acme.example"), user=TWO)
    assert d.inbox_count(d.sent_name, user=TWO) == 1
    assert d.inbox_count(d.sent_name) == 0
    with d.client(user=TWO) as two:
        assert two.select_folder(d.sent_name)[b"EXISTS"] == 1


@pytest.mark.dovecot
def test_a_wrong_password_fails_only_that_user(two_users: Dovecot) -> None:
    d = two_users
    wrong = imapclient.IMAPClient(d.host, d.port, ssl=False, timeout=5)
    try:
        with pytest.raises(imapclient.exceptions.LoginError):
            wrong.login(TWO, d.password)  # the default user's password is not two's
    finally:
        wrong.shutdown()

    # Right after logins, twice within a second, to passwords of equal length: Dovecot
    # stats its passwd-file at most once a second and compares mtime and size only.
    for old, new in ((TWO_PASS, "rotated-1"), ("rotated-1", "rotated-2")):
        d.set_password(new, user=TWO)
        stale = imapclient.IMAPClient(d.host, d.port, ssl=False, timeout=5)
        try:
            with pytest.raises(imapclient.exceptions.LoginError):
                stale.login(TWO, old)
        finally:
            stale.shutdown()
        with d.client() as one, d.client(user=TWO) as two:  # the default one is untouched
            assert one.select_folder("INBOX")[b"EXISTS"] == 0
            assert two.select_folder("INBOX")[b"EXISTS"] == 0
    assert (d.password_of(TWO), d.password) == ("rotated-2", "imap-pass")


@pytest.mark.dovecot
def test_reset_uidvalidity_of_one_user_keeps_the_others(two_users: Dovecot) -> None:
    d = two_users

    def uidvalidities() -> tuple[int, int]:
        with d.client() as one, d.client(user=TWO) as two:
            return (
                one.select_folder("INBOX")[b"UIDVALIDITY"],
                two.select_folder("INBOX")[b"UIDVALIDITY"],
            )

    d.deliver(mail("kept", TWO), user=TWO)
    before = uidvalidities()
    d.reset_uidvalidity(user=TWO)
    after = uidvalidities()
    assert after[0] == before[0] and after[1] != before[1]
    assert d.inbox_count(user=TWO) == 1


@pytest.mark.dovecot
def test_an_append_to_the_second_users_inbox_wakes_its_idle(two_users: Dovecot) -> None:
    d = two_users
    with d.client(user=TWO) as watcher:
        watcher.select_folder("INBOX")
        watcher.idle()
        try:
            # The default user's new mail comes first: two's IDLE must not count it.
            d.append(mail("for one", d.user))
            d.append(mail("for two", TWO), user=TWO)
            deadline = time.monotonic() + 10
            exists: list[int] = []
            while not exists:
                left = deadline - time.monotonic()
                assert left > 0, "IDLE of the second user was not woken within 10s"
                for response in watcher.idle_check(timeout=left):
                    if len(response) >= 2 and response[1] == b"EXISTS":
                        exists.append(int(response[0]))
        finally:
            watcher.idle_done()
        assert exists == [1]
        assert inbox_subjects(watcher) == ["for two"]
