"""engine.mailboxes.spec: ``/mailbox add EMAIL PASSWORD [key=value …]`` and the bulk CSV, parsed
and validated like the environment variables, without ever repeating the password."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import TUNABLES
from engine.errors import UserInputError
from engine.mailboxes.spec import (
    KEYS,
    MAX_CSV_ROWS,
    MailboxSpec,
    parse_mailbox_args,
    parse_mailbox_csv,
)

PASSWORD = "Zq9-secret-Pw"  # noqa: S105 - a test value, distinctive enough to search for


def refused(text: str) -> str:
    with pytest.raises(UserInputError) as caught:
        parse_mailbox_args(text)
    message = str(caught.value)
    assert PASSWORD not in message
    return message


# --- /mailbox add ------------------------------------------------------------------------------
def test_it_takes_address_and_password_and_leaves_the_rest_unset() -> None:
    spec = parse_mailbox_args(f"  sam@acme.io   {PASSWORD} ")

    assert spec == MailboxSpec(email="sam@acme.io", password=PASSWORD)
    assert all(getattr(spec, key) is None for key in KEYS)


def test_it_reads_every_key_into_its_type() -> None:
    spec = parse_mailbox_args(
        f"sam@acme.io {PASSWORD} smtp_server=SMTP.Acme.io. smtp_port=465 smtp_security=SSL "
        "imap_server=10.0.0.5 imap_port=143 imap_security=starttls daily_limit=40 "
        'sender_name="Sam Sender" ramp_up=" 5 , 2 "'
    )

    assert spec == MailboxSpec(
        email="sam@acme.io",
        password=PASSWORD,
        smtp_server="smtp.acme.io",
        smtp_port=465,
        smtp_security="ssl",
        imap_server="10.0.0.5",
        imap_port=143,
        imap_security="starttls",
        daily_limit=40,
        sender_name="Sam Sender",
        ramp_up="5,2",
    )


def test_it_reads_keys_in_any_case_and_ramp_up_off() -> None:
    spec = parse_mailbox_args(f"sam@acme.io {PASSWORD} RAMP_UP=OFF Daily_Limit=7")

    assert (spec.ramp_up, spec.daily_limit) == ("off", 7)


@pytest.mark.parametrize("password", ["p\"w'x", "a=b", "back\\slash", "ünï©ødé", "smtp_port"])
def test_it_takes_the_password_literally(password: str) -> None:
    assert parse_mailbox_args(f"sam@acme.io {password} smtp_port=25").password == password


def test_it_keeps_the_password_out_of_its_repr() -> None:
    spec = parse_mailbox_args(f"sam@acme.io {PASSWORD}")

    assert PASSWORD not in repr(spec) and "sam@acme.io" in repr(spec)


@pytest.mark.parametrize(
    ("option", "words"),
    [
        ("smtp_port=0", "smtp_port=0 is out of range; use 1..65535"),
        ("imap_port=65536", "imap_port=65536 is out of range; use 1..65535"),
        ("smtp_port=5x", "smtp_port='5x' is not a whole number; use 1..65535"),
        ("smtp_security=tls", "smtp_security='tls': use starttls, ssl or none"),
        ("imap_security=yes", "imap_security='yes': use starttls, ssl or none"),
        ("daily_limit=0", "daily_limit=0 is out of range; use 1..100000"),
        ("daily_limit=100001", "daily_limit=100001 is out of range; use 1..100000"),
        ("ramp_up=5", "ramp_up='5': use off, or START,STEP like 5,2"),
        ("ramp_up=0,2", "ramp_up: START=0 is out of range; use 1..100000"),
        ("smtp_server=smtp_acme", "smtp_server='smtp_acme' is not a host name"),
        ("imap_server=-x.io", "imap_server='-x.io' is not a host name"),
        ("sender_name=" + "n" * 101, "sender_name is 101 characters long; the limit is 100"),
        ('sender_name="Sam\nCc: x@y.z"', "sender_name has a line break"),
    ],
)
def test_it_refuses_a_bad_value_naming_the_key_and_the_remedy(option: str, words: str) -> None:
    assert words in refused(f"sam@acme.io {PASSWORD} {option}")


def test_it_uses_the_daily_limit_range_of_the_settings_table() -> None:
    hi = TUNABLES["daily_limit"].range[1]  # type: ignore[index]

    assert parse_mailbox_args(f"sam@acme.io {PASSWORD} daily_limit={hi}").daily_limit == hi
    assert f"use 1..{hi}" in refused(f"sam@acme.io {PASSWORD} daily_limit={hi + 1}")


def test_it_names_a_misspelt_key_and_suggests_the_right_one() -> None:
    message = refused(f"sam@acme.io {PASSWORD} smtp_sever=smtp.acme.io")

    assert "Option 1 after the password: unknown key 'smtp_sever'" in message
    assert "did you mean smtp_server?" in message
    assert "The keys are smtp_server, smtp_port," in message


def test_it_does_not_repeat_an_unknown_key_unlike_any_real_one() -> None:
    message = refused(f"sam@acme.io {PASSWORD} smtp_port=25 qx7=1")

    assert "Option 2 after the password has an unknown key" in message and "qx7" not in message


def test_it_refuses_a_key_given_twice() -> None:
    message = refused(f"sam@acme.io {PASSWORD} smtp_port=25 SMTP_PORT=26")

    assert message == "smtp_port is given twice; give each key once."


def test_it_refuses_a_key_without_a_value() -> None:
    assert "smtp_port= has no value" in refused(f"sam@acme.io {PASSWORD} smtp_port=")


def test_it_never_repeats_the_words_of_a_password_with_spaces() -> None:
    message = refused("sam@acme.io abcd efgh ijkl mnop")

    assert "Option 1 after the password is not KEY=VALUE" in message
    assert "remove them" in message
    assert not {"abcd", "efgh", "ijkl", "mnop"} & set(message.replace(".", " ").split())


def test_it_never_repeats_an_address_that_may_be_the_password() -> None:
    message = refused(f"{PASSWORD} sam@acme.io")

    assert message == "The address is not an email address like sam@acme.io."


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "Give the mailbox's address and password: /mailbox add EMAIL PASSWORD"),
        ("sam@acme.io", "The password is missing"),
        ("sam@acme.io smtp_port=465", "the second word must be the password, not smtp_port=…"),
        (f'sam@acme.io {PASSWORD} sender_name="Sam', "A quote after the password is not closed"),
    ],
)
def test_it_says_what_is_missing(text: str, words: str) -> None:
    assert words in refused(text)


def test_it_refuses_an_overlong_address_or_password() -> None:
    assert "longer than 254" in refused(f"{'a' * 250}@acme.io {PASSWORD}")
    assert "longer than 1000" in refused("sam@acme.io " + "p" * 1001)


@settings(max_examples=300, deadline=None)
@given(
    tail=st.lists(
        st.sampled_from(
            [
                "smtp_port=0",
                "smtp_port=x",
                "bogus=1",
                "smtp_sever=a",
                "=",
                "x",
                '"',
                "'",
                "sender_name=",
                "ramp_up=a,b",
                "smtp_server=a b",
                PASSWORD,
                f"{PASSWORD}=1",
                f"smtp_server={PASSWORD[:4]}",
            ]
        ),
        max_size=4,
    ),
    first=st.sampled_from(["sam@acme.io", PASSWORD, "", "not-an-address"]),
)
def test_it_never_repeats_the_password_whatever_follows(first: str, tail: list[str]) -> None:
    text = " ".join([first, PASSWORD, *tail])
    try:
        parse_mailbox_args(text)
    except UserInputError as e:
        assert PASSWORD not in str(e)
        assert "secret" not in str(e)


# --- the bulk CSV ------------------------------------------------------------------------------
def csv_rows(text: str) -> list[tuple[int, MailboxSpec | str]]:
    return parse_mailbox_csv(text.encode("utf-8"))


def csv_refused(data: bytes) -> str:
    with pytest.raises(UserInputError) as caught:
        parse_mailbox_csv(data)
    assert PASSWORD not in str(caught.value)
    return str(caught.value)


def test_it_reads_a_csv_with_any_header_case_and_known_columns() -> None:
    rows = csv_rows(
        "Email,PASSWORD,SMTP Server,daily_limit,Ramp_Up\n"
        f"sam@acme.io,{PASSWORD},smtp.acme.io,30,\n"
        "\n"
        'kim@acme.io,"pa,ss",,,"5,2"\n'
    )

    assert rows == [
        (
            2,
            MailboxSpec(
                email="sam@acme.io", password=PASSWORD, smtp_server="smtp.acme.io", daily_limit=30
            ),
        ),
        (4, MailboxSpec(email="kim@acme.io", password="pa,ss", ramp_up="5,2")),
    ]


def test_it_reads_a_semicolon_csv_with_a_bom() -> None:
    data = "\ufeffemail;password;imap_port\r\nsam@acme.io;pw;143\r\n".encode()

    assert parse_mailbox_csv(data) == [
        (2, MailboxSpec(email="sam@acme.io", password="pw", imap_port=143))
    ]


def test_it_reports_each_bad_line_and_keeps_the_good_ones() -> None:
    rows = csv_rows(
        "email,password,smtp_port\n"
        f"sam@acme.io,{PASSWORD},99999\n"
        f"{PASSWORD},sam@acme.io,\n"
        "kim@acme.io,,\n"
        f"lee@acme.io,{PASSWORD},587\n"
        f"SAM@acme.io,{PASSWORD},587\n"
        f"max@acme.io,{PASSWORD},587,surplus\n"
    )

    assert [line for line, _ in rows] == [2, 3, 4, 5, 6, 7]
    errors = {line: r for line, r in rows if isinstance(r, str)}
    assert errors == {
        2: "smtp_port=99999 is out of range; use 1..65535.",
        3: "The address is not an email address like sam@acme.io.",
        4: "The password is empty.",
        6: "The address is already on line 2.",  # counted even though line 2 is refused
        7: (
            "The line has more cells than the header; a password with a comma (or the file's "
            "separator) in it must be in double quotes."
        ),
    }
    assert rows[3] == (5, MailboxSpec(email="lee@acme.io", password=PASSWORD, smtp_port=587))
    assert not any(PASSWORD in e for e in errors.values())


@pytest.mark.parametrize(
    "header", ["email", "password,smtp_port", "address,password", f"sam@acme.io,{PASSWORD}"]
)
def test_it_requires_an_email_and_a_password_column(header: str) -> None:
    message = csv_refused(f"{header}\nsam@acme.io,{PASSWORD}\n".encode())

    assert message.startswith("The first line must name the columns: email, password")
    assert "sam@acme.io" not in message


def test_it_names_an_unknown_column() -> None:
    message = csv_refused(b"email,password,smtp_host\n")

    assert message.startswith("The column 'smtp_host' is not a mailbox key. The keys are")


def test_it_refuses_a_column_named_twice() -> None:
    assert csv_refused(b"email,password,Smtp_Port,smtp port\n") == (
        "The column smtp_port appears twice; keep one."
    )


def test_it_accepts_the_most_rows_and_refuses_one_more() -> None:
    body = "".join(f"u{i}@acme.io,pw\n" for i in range(MAX_CSV_ROWS))

    assert len(csv_rows("email,password\n" + body)) == MAX_CSV_ROWS
    message = csv_refused(f"email,password\n{body}u@acme.io,pw\n".encode())
    assert "more than 1,000 mailboxes" in message


def test_it_refuses_a_file_over_one_megabyte() -> None:
    data = b"email,password\n" + b"sam@acme.io," + b"p" * 1_000_000

    assert "the limit is 1 MB" in csv_refused(data)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "The file is empty"),
        (b"\n\n", "The file is empty"),
        (b"PK\x03\x04rest", "Excel file"),
    ],
)
def test_it_refuses_a_file_that_is_no_mailbox_csv(data: bytes, words: str) -> None:
    assert words in csv_refused(data)


def test_it_gives_no_rows_for_a_header_alone() -> None:
    assert csv_rows("email,password\n") == []
