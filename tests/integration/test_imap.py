"""ImapMailbox against a real throwaway Dovecot (tests/servers/dovecot.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from engine.errors import AccountBroken, TryLater
from engine.inbox.imap import ImapMailbox, ImapSettings
from tests.servers.dovecot import SKIP_REASON, Dovecot

pytestmark = pytest.mark.dovecot


def settings_for(server: Dovecot, **overrides: Any) -> ImapSettings:
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": server.user,
        "password": server.password,
        "timeout": 5.0,
    }
    values.update(overrides)
    return ImapSettings(**values)


def message(n: int, message_id: str | None = None) -> bytes:
    mid = message_id or f"<reply-{n}@lead.example.org>"
    return (
        f"From: lead{n}@lead.example.org\r\n"
        f"To: sender@example.com\r\n"
        f"Subject: Re: hello {n}\r\n"
        f"Message-ID: {mid}\r\n"
        f"Date: Tue, 02 Jan 2024 10:00:00 +0000\r\n"
        f"\r\n"
        f"reply body {n}\r\n"
    ).encode()


def test_it_logs_in_and_select_returns_a_uidvalidity(dovecot: Dovecot) -> None:
    with ImapMailbox(settings_for(dovecot)) as box:
        uidvalidity = box.select_readonly("INBOX")
        assert "IMAP4REV1" in box.capabilities
    assert isinstance(uidvalidity, int)
    assert uidvalidity > 0


def test_it_returns_no_uids_when_nothing_is_above_the_last_seen_uid(dovecot: Dovecot) -> None:
    for n in range(3):
        dovecot.deliver(message(n))
    with ImapMailbox(settings_for(dovecot)) as box:
        box.select_readonly("INBOX")
        everything = box.new_uids(0)
        assert len(everything) == 3
        highest = everything[-1]
        # "UID SEARCH UID 4:*" still matches UID 3 on the wire: it must be filtered out.
        assert box._c.search(["UID", f"{highest + 1}:*"]) == [highest]
        assert box.new_uids(highest) == []
        assert box.new_uids(highest + 100) == []


def test_it_returns_no_uids_for_an_empty_mailbox(dovecot: Dovecot) -> None:
    with ImapMailbox(settings_for(dovecot)) as box:
        box.select_readonly("INBOX")
        assert box.new_uids(0) == []
        assert list(box.fetch([])) == []


def test_it_returns_only_the_three_newly_delivered_messages(dovecot: Dovecot) -> None:
    for n in range(4):
        dovecot.deliver(message(n))
    with ImapMailbox(settings_for(dovecot)) as box:
        box.select_readonly("INBOX")
        last_uid = box.new_uids(0)[-1]

    for n in (10, 11, 12):
        dovecot.deliver(message(n))
    with ImapMailbox(settings_for(dovecot)) as box:
        box.select_readonly("INBOX")
        uids = box.new_uids(last_uid)
        fetched = list(box.fetch(uids, batch=2))

    assert len(uids) == 3
    assert uids == sorted(uids)
    assert all(uid > last_uid for uid in uids)
    assert [m.uid for m in fetched] == uids
    assert all(
        b"Subject: Re: hello %d\r\n" % n in m.raw
        for n, m in zip((10, 11, 12), fetched, strict=True)
    )
    assert box.fetched_count == 3


def test_it_does_not_mark_fetched_messages_seen(dovecot: Dovecot) -> None:
    for n in range(2):
        dovecot.append(message(n))
    with ImapMailbox(settings_for(dovecot)) as box:
        box.select_readonly("INBOX")
        fetched = list(box.fetch(box.new_uids(0)))
    assert len(fetched) == 2

    with dovecot.client() as check:
        check.select_folder("INBOX", readonly=True)
        flags = check.get_flags(check.search("ALL"))
    assert len(flags) == 2
    assert all(b"\\Seen" not in f for f in flags.values()), flags


def test_it_finds_the_sent_folder_by_its_special_use_flag(dovecot: Dovecot) -> None:
    with ImapMailbox(settings_for(dovecot)) as box:
        assert box.sent_folder() == "Sent"


def test_it_finds_an_unusually_named_sent_folder_by_special_use() -> None:
    try:
        server = Dovecot(sent_name="Gesendet")
    except FileNotFoundError:
        pytest.skip(SKIP_REASON)
    with server:
        with ImapMailbox(settings_for(server)) as box:
            names = [name for _flags, _d, name in box._c.list_folders()]
            assert "Sent" not in names
            assert box.sent_folder() == "Gesendet"


def test_it_finds_a_message_id_in_the_sent_folder_and_not_a_missing_one(
    dovecot: Dovecot,
) -> None:
    dovecot.append(message(1, "<out-1@sender.example.com>"), "Sent")
    dovecot.deliver_to_sent(message(2, "<out-2@sender.example.com>"))
    dovecot.deliver(message(3, "<in-inbox@sender.example.com>"))
    with ImapMailbox(settings_for(dovecot)) as box:
        sent = box.sent_folder()
        assert sent is not None
        assert box.has_message_id(sent, "<out-1@sender.example.com>")
        assert box.has_message_id(sent, "out-2@sender.example.com")  # brackets optional
        assert not box.has_message_id(sent, "<missing@sender.example.com>")
        assert not box.has_message_id(sent, "<in-inbox@sender.example.com>")
        # a substring of a real ID is not a match
        assert not box.has_message_id(sent, "<t-1@sender.example.com>")


def test_it_searches_gmail_with_x_gm_raw(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    with ImapMailbox(settings_for(dovecot)) as box:
        monkeypatch.setattr(
            ImapMailbox, "capabilities", property(lambda self: frozenset({"X-GM-EXT-1"}))
        )
        searched: list[Any] = []

        def fake_search(criteria: Any, charset: Any = None) -> list[int]:
            searched.append(criteria)
            return [7]

        monkeypatch.setattr(box._c, "search", fake_search)
        monkeypatch.setattr(
            box._c,
            "list_folders",
            lambda: [
                ((b"\\HasNoChildren", b"\\Sent"), b"/", "[Gmail]/Sent Mail"),
                ((b"\\HasNoChildren", b"\\All"), b"/", "[Gmail]/All Mail"),
            ],
        )
        monkeypatch.setattr(box, "select_readonly", lambda folder: 1)
        assert box.sent_folder() == "[Gmail]/All Mail"
        assert box.has_message_id("[Gmail]/All Mail", "<out-1@sender.example.com>")
    assert searched == [[b"X-GM-RAW", "rfc822msgid:out-1@sender.example.com"]]


def test_it_raises_account_broken_on_a_wrong_password_without_leaking_it(
    dovecot: Dovecot,
) -> None:
    wrong = "Wr0ng-Secret-xyz"
    with pytest.raises(AccountBroken) as caught:
        with ImapMailbox(settings_for(dovecot, password=wrong)):
            pass
    assert wrong not in str(caught.value)
    assert wrong not in repr(caught.value.args)
    assert "authentication failed" in str(caught.value).lower()


def test_it_raises_account_broken_after_the_password_was_changed(dovecot: Dovecot) -> None:
    old = dovecot.password
    dovecot.set_password("rotated-pass")
    with pytest.raises(AccountBroken) as caught:
        with ImapMailbox(settings_for(dovecot, password=old)):
            pass
    assert old not in str(caught.value)
    with ImapMailbox(settings_for(dovecot)) as box:  # the new one works
        assert box.select_readonly("INBOX") > 0


def test_it_raises_try_later_when_the_server_is_down(dovecot: Dovecot) -> None:
    dovecot.stop()
    with pytest.raises(TryLater) as caught:
        with ImapMailbox(settings_for(dovecot)):
            pass
    assert dovecot.password not in str(caught.value)

    dovecot.start()  # same port, same mail: reachable again
    with ImapMailbox(settings_for(dovecot)) as box:
        assert box.select_readonly("INBOX") > 0


def test_it_raises_try_later_when_the_server_dies_mid_session(dovecot: Dovecot) -> None:
    dovecot.deliver(message(1))
    with ImapMailbox(settings_for(dovecot)) as box:
        box.select_readonly("INBOX")
        dovecot.stop()
        with pytest.raises(TryLater):
            list(box.fetch(box.new_uids(0)))


def test_it_raises_account_broken_when_starttls_is_not_offered(dovecot: Dovecot) -> None:
    with pytest.raises(AccountBroken, match="STARTTLS"):
        with ImapMailbox(settings_for(dovecot, security="starttls")):
            pass


def test_it_fetches_exactly_the_five_new_messages_in_a_10000_message_mailbox(
    dovecot: Dovecot,
) -> None:
    t0 = time.monotonic()
    dovecot.bulk_fill(10_000)
    print(f"\nbulk_fill(10000): {time.monotonic() - t0:.3f}s")
    with ImapMailbox(settings_for(dovecot)) as box:
        box.select_readonly("INBOX")  # Dovecot indexes the 10,000 here
        last_uid = box.new_uids(0)[-1]
    assert last_uid == 10_000

    for n in range(5):
        dovecot.deliver(message(n))
    with ImapMailbox(settings_for(dovecot)) as box:
        box.select_readonly("INBOX")
        t0 = time.monotonic()
        uids = box.new_uids(last_uid)
        fetched = list(box.fetch(uids))
        elapsed = time.monotonic() - t0
    print(f"new_uids + fetch of 5 new among 10,000: {elapsed * 1000:.1f} ms")
    assert uids == [10_001, 10_002, 10_003, 10_004, 10_005]
    assert box.fetched_count == 5
    assert [m.uid for m in fetched] == uids


def test_it_observes_a_uidvalidity_change(dovecot: Dovecot) -> None:
    for n in range(3):
        dovecot.deliver(message(n))
    with ImapMailbox(settings_for(dovecot)) as box:
        before = box.select_readonly("INBOX")
        assert len(box.new_uids(0)) == 3

    dovecot.reset_uidvalidity("INBOX")

    with ImapMailbox(settings_for(dovecot)) as box:
        after = box.select_readonly("INBOX")
        assert len(box.new_uids(0)) == 3  # same messages, renumbered
    assert after != before
