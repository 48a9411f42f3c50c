"""engine.config.load_settings: every problem at once, URL normalising, defaults, secrets."""

from __future__ import annotations

import dataclasses

import pytest

from engine.config import (
    SETTINGS,
    TUNABLES,
    Settings,
    apply_overrides,
    check_overrides,
    display_value,
    load_settings,
    parse_tunable,
)
from engine.errors import ConfigError
from engine.mailboxes.ramp import RampUp
from tests.conftest import BASE_ENV


def env(**overrides: str) -> dict[str, str]:
    values = {**BASE_ENV, **overrides}
    return {k: v for k, v in values.items() if v is not None}


def without(*names: str, **overrides: str) -> dict[str, str]:
    return {k: v for k, v in env(**overrides).items() if k not in names}


def problems_of(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    return caught.value.problems


def test_it_lists_every_problem_at_once() -> None:
    problems = problems_of(
        without(
            "TELEGRAM_BOT_TOKEN",
            "EMAIL_PASSWORD",
            DAILY_EMAIL_LIMIT="lots",
            SMTP_PORT="99999",
            TIMEZONE="Mars/Olympus",
            FOLLOWUP_DELAYS="3 days",
            TELEGRAM_ADMIN_IDS="@me",
        )
    )

    text = "\n".join(problems)
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "EMAIL_PASSWORD",
        "DAILY_EMAIL_LIMIT",
        "SMTP_PORT",
        "TIMEZONE",
        "FOLLOWUP_DELAYS",
        "TELEGRAM_ADMIN_IDS",
    ):
        assert name in text, name
    assert len(problems) == 7


def test_it_reports_min_delay_above_max_delay() -> None:
    problems = problems_of(env(MIN_DELAY_SECONDS="200", MAX_DELAY_SECONDS="100"))

    assert problems == ["MIN_DELAY_SECONDS (200) is greater than MAX_DELAY_SECONDS (100)"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:pw@db.host:5432/app", "postgresql+psycopg2://u:pw@db.host:5432/app"),
        ("postgresql://u:pw@db.host/app", "postgresql+psycopg2://u:pw@db.host/app"),
        ("sqlite:///data/x.db", "sqlite:///data/x.db"),
    ],
)
def test_it_normalises_the_database_url(given: str, expected: str) -> None:
    assert load_settings(env(DATABASE_URL=given)).database_url == expected


def test_it_refuses_a_database_url_it_cannot_use() -> None:
    assert any("DATABASE_URL" in p for p in problems_of(env(DATABASE_URL="mysql://u@h/db")))


@pytest.mark.parametrize(
    ("smtp_port", "imap_port", "smtp_security", "imap_security"),
    [("465", "993", "ssl", "ssl"), ("587", "143", "starttls", "starttls")],
)
def test_it_defaults_security_from_the_port(
    smtp_port: str, imap_port: str, smtp_security: str, imap_security: str
) -> None:
    s = load_settings(
        without("SMTP_SECURITY", "IMAP_SECURITY", SMTP_PORT=smtp_port, IMAP_PORT=imap_port)
    )

    assert (s.smtp_security, s.imap_security) == (smtp_security, imap_security)


def test_it_keeps_an_explicit_security_over_the_port_default() -> None:
    s = load_settings(env(SMTP_PORT="465", SMTP_SECURITY="starttls"))

    assert s.smtp_security == "starttls"


def test_it_keeps_secrets_out_of_repr() -> None:
    s = load_settings(
        env(
            DATABASE_URL="postgres://app:db-secret-pw@db.host/app",
            LICENSE_SHEET_URL="https://sheets.example.com/x.csv",
            LICENSE_KEY="lic-key-4242",
        )
    )

    shown = repr(s) + str(s)
    for secret in ("app-password-123", "TEST-token_abcdef", "db-secret-pw", "lic-key-4242"):
        assert secret not in shown, secret


def test_it_never_echoes_a_malformed_bot_token() -> None:
    problems = problems_of(env(TELEGRAM_BOT_TOKEN="not a token at all"))

    assert problems and "not a token at all" not in "\n".join(problems)


def test_it_reads_an_empty_followup_delays_as_no_followups() -> None:
    assert load_settings(env(FOLLOWUP_DELAYS="")).followup_delays == ()


def test_it_reports_cross_variable_problems_alongside_single_ones() -> None:
    env = {**BASE_ENV, "DAILY_EMAIL_LIMIT": "lots", "MIN_DELAY_SECONDS": "200"}
    with pytest.raises(ConfigError) as exc:
        load_settings(env)
    text = "\n".join(exc.value.problems)
    assert "DAILY_EMAIL_LIMIT" in text
    assert "MIN_DELAY_SECONDS (200) is greater than MAX_DELAY_SECONDS (120)" in text


# --- limits: nothing the engine or a database cannot hold is accepted -----------------------
HUGE = "99999999999999999999"  # 20 digits: an OverflowError once, in a timedelta


@pytest.mark.parametrize("value", ["3000000d", f"{HUGE}d", "366d", "3d,400d", "9" * 5000 + "s"])
def test_it_refuses_a_followup_delay_over_365_days_naming_the_limit(value: str) -> None:
    (problem,) = problems_of(env(FOLLOWUP_DELAYS=value))

    assert problem.startswith("FOLLOWUP_DELAYS: ")
    assert "longer than the limit of 365 days" in problem
    assert len(problem) < 200  # a 5,000-digit value is not echoed back


def test_it_accepts_a_followup_delay_of_exactly_365_days() -> None:
    s = load_settings(env(FOLLOWUP_DELAYS="365d,8760h"))

    assert [d.days for d in s.followup_delays] == [365, 365]


def test_it_refuses_more_than_ten_followups() -> None:
    (problem,) = problems_of(env(FOLLOWUP_DELAYS=",".join(["1d"] * 11)))

    assert "at most 10 follow-ups" in problem


# Every whole-number variable with its range (the README's configuration table says the same).
WHOLE_NUMBERS = {
    "DAILY_EMAIL_LIMIT": (1, 100_000),
    "MIN_DELAY_SECONDS": (0, 86_400),
    "MAX_DELAY_SECONDS": (0, 86_400),
    "PAUSE_EVERY_N_EMAILS": (0, 100_000),
    "MAX_PER_DOMAIN_PER_DAY": (0, 100_000),
    "PAUSE_MIN_MINUTES": (0, 1_440),
    "PAUSE_MAX_MINUTES": (0, 1_440),
    "SEND_INTERVAL_SECONDS": (1, 3_600),
    "REPLY_CHECK_INTERVAL_SECONDS": (5, 86_400),
    "RETRY_BASE_SECONDS": (1, 3_600),
    "SENT_COPY_GRACE_SECONDS": (1, 3_600),
    "SMTP_PORT": (1, 65_535),
    "IMAP_PORT": (1, 65_535),
    "PORT": (1, 65_535),
}


@pytest.mark.parametrize("name", sorted(WHOLE_NUMBERS))
@pytest.mark.parametrize("value", [HUGE, "-" + HUGE, "9" * 5000, "above"])
def test_it_refuses_a_huge_or_out_of_range_number_naming_the_range(name: str, value: str) -> None:
    lo, hi = WHOLE_NUMBERS[name]
    if value == "above":
        value = str(hi + 1)
    extra = {"MAX_DELAY_SECONDS": "86400"} if name == "MIN_DELAY_SECONDS" else {}
    extra |= {"PAUSE_MAX_MINUTES": "1440"} if name == "PAUSE_MIN_MINUTES" else {}

    (problem,) = problems_of(env(**{name: value, **extra}))

    assert problem.startswith(f"{name}=")
    assert f"out of range; use {lo}..{hi}" in problem
    assert len(problem) < 200


@pytest.mark.parametrize("name", sorted(WHOLE_NUMBERS))
def test_it_accepts_each_number_at_its_upper_limit(name: str) -> None:
    hi = WHOLE_NUMBERS[name][1]
    extra = {"MAX_DELAY_SECONDS": "86400"} if name == "MIN_DELAY_SECONDS" else {}
    extra |= {"PAUSE_MAX_MINUTES": "1440"} if name == "PAUSE_MIN_MINUTES" else {}
    load_settings(env(**{name: str(hi), **extra}))


@pytest.mark.parametrize("value", ["1e400", "nan", "inf", "1_0"])
def test_it_refuses_a_bounce_rate_that_is_not_a_plain_percentage(value: str) -> None:
    (problem,) = problems_of(env(MAX_BOUNCE_RATE=value))

    assert "MAX_BOUNCE_RATE=" in problem and "is not a percentage like 5 or 2.5" in problem


def test_it_refuses_a_huge_bounce_rate_naming_the_range() -> None:
    (problem,) = problems_of(env(MAX_BOUNCE_RATE=HUGE))

    assert "out of range; use 0..100" in problem


def test_it_refuses_a_calendar_link_longer_than_the_limit() -> None:
    (problem,) = problems_of(env(CALENDAR_LINK="https://cal.example.com/" + "a" * 3000))

    assert "CALENDAR_LINK" in problem and "the limit is 2000" in problem


def test_calendar_mode_is_auto_unless_set_and_names_its_choices() -> None:
    assert load_settings(env()).calendar_mode == "auto"
    assert load_settings(env(CALENDAR_MODE=" ASK ")).calendar_mode == "ask"
    assert load_settings(env(CALENDAR_MODE="off")).calendar_mode == "off"
    [problem] = problems_of(env(CALENDAR_MODE="sometimes"))
    assert problem.startswith("CALENDAR_MODE=") and "auto" in problem and "ask" in problem


def test_authserv_id_is_optional_lowercased_and_checked() -> None:
    assert load_settings(env()).authserv_id == ""
    assert load_settings(env(AUTHSERV_ID=" MX.Google.com ")).authserv_id == "mx.google.com"
    [problem] = problems_of(env(AUTHSERV_ID="mx.google.com; dmarc=pass"))
    assert problem.startswith("AUTHSERV_ID=") and "authserv-id" in problem


# --- the settings table: each setting declared once, everything derived from it -------------
def test_it_declares_each_setting_once_with_a_meaning() -> None:
    assert [row.attr for row in SETTINGS] == [f.name for f in dataclasses.fields(Settings)]
    assert len({row.env for row in SETTINGS}) == len(SETTINGS)
    assert all(row.meaning.strip() and "\n" not in row.meaning for row in SETTINGS)


def test_it_checks_every_whole_number_against_the_range_in_its_row() -> None:
    ranged = {row.env: row.range for row in SETTINGS if row.range}
    assert ranged == WHOLE_NUMBERS


def test_it_hides_every_secret_row_from_repr_and_nothing_else() -> None:
    hidden = {f.name for f in dataclasses.fields(Settings) if not f.repr}
    assert hidden == {row.attr for row in SETTINGS if row.secret}
    assert hidden >= {"telegram_bot_token", "email_password", "license_key", "webhook_secret"}


def test_it_lists_every_secret_value_for_redaction() -> None:
    s = load_settings(
        env(
            DATABASE_URL="postgres://app:db-secret-pw@db.host/app",
            LICENSE_SHEET_URL="https://sheets.example.com/x.csv",
            LICENSE_KEY="lic-key-4242",
            WEBHOOK_URL="https://hook.example.com",
            WEBHOOK_SECRET="hook_secret_1",
        )
    )

    assert sorted(s.secrets) == sorted(
        [
            "123456:TEST-token_abcdef",
            "app-password-123",
            "db-secret-pw",
            "lic-key-4242",
            "hook_secret_1",
        ]
    )


def test_it_makes_exactly_the_tunable_rows_changeable_from_the_chat() -> None:
    assert list(TUNABLES) == [row.key for row in SETTINGS if row.tunable]
    s = load_settings(env())
    for key in TUNABLES:  # every tunable shows a value and takes back what it shows
        shown = display_value(s, key)
        assert check_overrides(s, {key: shown}) == [], key


def test_it_names_a_refused_chat_value_by_its_key_and_an_env_value_by_its_variable() -> None:
    with pytest.raises(ValueError, match=r"^daily_limit=0 is out of range; use 1\.\.100000$"):
        parse_tunable("daily_limit", "0")
    (problem,) = problems_of(env(DAILY_EMAIL_LIMIT="0"))
    assert problem == "DAILY_EMAIL_LIMIT=0 is out of range; use 1..100000"


def test_it_skips_an_override_that_no_longer_parses_or_breaks_a_cross_check() -> None:
    s = load_settings(env())

    assert apply_overrides(s, {"daily_limit": "50", "bogus": "1"}).daily_limit == 50
    assert apply_overrides(s, {"daily_limit": "lots"}).daily_limit == 500
    assert apply_overrides(s, {"min_delay": "500"}) == s  # above max_delay (120)
    assert apply_overrides(s, {"followup_delays": "off"}).followup_delays == ()


# --- part 6: many mailboxes ------------------------------------------------------------------
def test_it_reads_ramp_up_as_off_or_start_and_step() -> None:
    assert load_settings(env()).ramp_up is None
    assert load_settings(env(RAMP_UP=" 5 , 2 ")).ramp_up == RampUp(5, 2)
    assert load_settings(env(RAMP_UP="OFF")).ramp_up is None
    assert parse_tunable("ramp_up", "10,0") == RampUp(10, 0)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("5", "use off, or START,STEP like 5,2"),
        ("5,2,1", "use off, or START,STEP like 5,2"),
        ("0,2", "START=0 is out of range; use 1..100000"),
        ("100001,1", "START=100001 is out of range; use 1..100000"),
        ("5,-1", "STEP=-1 is out of range; use 0..100000"),
        ("5,x", "STEP='x' is not a whole number"),
    ],
)
def test_it_refuses_a_bad_ramp_up_naming_key_or_variable(value: str, words: str) -> None:
    with pytest.raises(ValueError, match=r"^ramp_up") as caught:
        parse_tunable("ramp_up", value)
    assert words in str(caught.value)
    (problem,) = problems_of(env(RAMP_UP=value))
    assert problem.startswith("RAMP_UP") and words in problem


def test_it_shows_ramp_up_as_it_is_written() -> None:
    s = load_settings(env(RAMP_UP="5,2"))
    assert display_value(s, "ramp_up") == "5,2"
    assert display_value(load_settings(env()), "ramp_up") == "off"


def test_it_accepts_a_secret_key_of_16_characters_and_keeps_it_secret() -> None:
    key = "k" * 15 + "Z"
    s = load_settings(env(SECRET_KEY=key))

    assert s.secret_key == key
    assert key in s.secrets
    assert key not in repr(s)
    assert load_settings(env()).secret_key == ""


def test_it_refuses_a_short_secret_key_without_echoing_it() -> None:
    (problem,) = problems_of(env(SECRET_KEY="tooShort-0123"))

    assert "SECRET_KEY is shorter than 16 characters" in problem
    assert "tooShort" not in problem


@pytest.mark.parametrize(("value", "idle"), [("on", True), ("OFF", False), ("", True)])
def test_it_reads_reply_idle_as_on_or_off(value: str, idle: bool) -> None:
    assert load_settings(env(REPLY_IDLE=value)).reply_idle is idle


def test_it_refuses_a_reply_idle_that_is_not_on_or_off() -> None:
    assert problems_of(env(REPLY_IDLE="sometimes")) == ["REPLY_IDLE='sometimes': use on or off"]


def test_it_reads_dns_nameservers_with_optional_ports() -> None:
    s = load_settings(env(DNS_NAMESERVERS="1.1.1.1, 127.0.0.1:5353, [::1]:5300, 2606:4700::1111"))

    assert s.dns_nameservers == (
        ("1.1.1.1", 53),
        ("127.0.0.1", 5353),
        ("::1", 5300),
        ("2606:4700::1111", 53),
    )
    assert load_settings(env()).dns_nameservers == ()


@pytest.mark.parametrize(
    "value", ["dns.google", "1.1.1.1:0", "1.1.1.1:65536", "[::1", "1.1.1.1:53:1", "1.1.1.1:0053x"]
)
def test_it_refuses_a_nameserver_that_is_not_an_ip_and_port(value: str) -> None:
    (problem,) = problems_of(env(DNS_NAMESERVERS=f"9.9.9.9,{value}"))

    assert problem.startswith(f"DNS_NAMESERVERS: {value!r} is not an IP address")


def test_it_refuses_more_than_ten_nameservers() -> None:
    (problem,) = problems_of(env(DNS_NAMESERVERS=",".join(["1.1.1.1"] * 11)))

    assert problem == "DNS_NAMESERVERS: at most 10 servers"
