"""Safer defaults, said plainly: a mailbox that may send more than 50 a day with ramp-up off
gets one line on /status and /mailboxes recommending 30–50 a day and RAMP_UP=5,2; the default
DAILY_EMAIL_LIMIT stays 500 and nothing about sending changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.format import status_text
from bot.messages.mailboxes import overview_header
from engine import campaign
from engine.context import EngineContext
from engine.mailboxes import service


@pytest.mark.parametrize(
    ("env", "warned"),
    [
        ({}, True),  # the default: 500 a day, no ramp-up
        ({"DAILY_EMAIL_LIMIT": "51"}, True),
        ({"DAILY_EMAIL_LIMIT": "50"}, False),
        ({"DAILY_EMAIL_LIMIT": "500", "RAMP_UP": "5,2"}, False),
    ],
)
def test_status_and_mailboxes_recommend_a_safer_cap(
    make_ctx: Callable[..., EngineContext], env: dict[str, str], warned: bool
) -> None:
    ctx = make_ctx(**env)
    report = campaign.status(ctx)
    assert ctx.settings.daily_limit == int(env.get("DAILY_EMAIL_LIMIT", "500"))  # unchanged
    assert bool(report.high_caps) is warned
    line = "30–50 a day per mailbox, and RAMP_UP=5,2 for a new one"
    assert (line in status_text(report, ctx.settings.tz)) is warned
    assert (line in overview_header(service.overview(ctx), 1)) is warned
