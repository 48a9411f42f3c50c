"""Settings changed from the chat (campaign.change_setting): validated like the environment,
persisted in the database, and taking precedence over the environment."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import campaign
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.errors import ConfigError, UserInputError
from engine.storage import store
from tests.conftest import make_settings

Ctx = Callable[..., EngineContext]


def effective(ctx: EngineContext) -> dict[str, str]:
    return {line.key: line.value for line in campaign.settings_view(ctx)}


def test_it_saves_a_valid_setting_over_the_environment(make_ctx: Ctx, clock: FakeClock) -> None:
    ctx = make_ctx(DAILY_EMAIL_LIMIT="500")

    assert campaign.change_setting(ctx, "daily_limit", "50") == "50"

    restarted = EngineContext(db=ctx.db, settings=ctx.settings, clock=clock)
    assert effective(restarted)["daily_limit"] == "50"
    assert campaign.status(restarted).daily_limit == 50


@pytest.mark.parametrize(
    ("key", "raw", "env_name"),
    [
        ("daily_limit", "lots", "DAILY_EMAIL_LIMIT"),
        ("daily_limit", "0", "DAILY_EMAIL_LIMIT"),
        ("min_delay", "-5", "MIN_DELAY_SECONDS"),
        ("followup_delays", "3 days", "FOLLOWUP_DELAYS"),
        ("timezone", "Mars/Olympus", "TIMEZONE"),
        ("calendar_link", "cal.example.com", "CALENDAR_LINK"),
        ("calendar_mode", "sometimes", "CALENDAR_MODE"),
    ],
)
def test_it_refuses_a_value_the_environment_would_refuse(
    make_ctx: Ctx, key: str, raw: str, env_name: str
) -> None:
    ctx = make_ctx()
    with pytest.raises(ConfigError):
        make_settings(**{env_name: raw})

    with pytest.raises(UserInputError, match="Nothing was changed"):
        campaign.change_setting(ctx, key, raw)

    assert effective(ctx)[key] == effective(make_ctx())[key]


def test_it_refuses_a_min_delay_above_the_max_delay(make_ctx: Ctx) -> None:
    ctx = make_ctx(MIN_DELAY_SECONDS="60", MAX_DELAY_SECONDS="120")

    with pytest.raises(UserInputError, match="greater than"):
        campaign.change_setting(ctx, "min_delay", "300")

    assert effective(ctx)["min_delay"] == "60"


def test_it_checks_a_change_against_the_other_overrides(make_ctx: Ctx) -> None:
    ctx = make_ctx(MIN_DELAY_SECONDS="60", MAX_DELAY_SECONDS="120")
    campaign.change_setting(ctx, "max_delay", "600")
    campaign.change_setting(ctx, "min_delay", "500")

    with pytest.raises(UserInputError, match="greater than"):
        campaign.change_setting(ctx, "max_delay", "400")

    assert (effective(ctx)["min_delay"], effective(ctx)["max_delay"]) == ("500", "600")


def test_it_refuses_an_unknown_setting(make_ctx: Ctx) -> None:
    with pytest.raises(UserInputError, match="no setting called"):
        campaign.change_setting(make_ctx(), "email_password", "x")


def test_it_ignores_an_out_of_range_override_saved_before_the_limits(
    make_ctx: Ctx, clock: FakeClock
) -> None:
    """A database written by an older version may hold 3000000d; it no longer takes effect."""
    ctx = make_ctx(FOLLOWUP_DELAYS="3d,4d")
    with ctx.db.transaction() as session:
        store.save_override(session, clock.now(), "followup_delays", "3000000d")

    assert effective(ctx)["followup_delays"] == "3d,4d"
