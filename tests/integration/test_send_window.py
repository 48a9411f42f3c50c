"""The sending window through the engine: nothing is claimed outside it, /status says why and
until when, the window can be set from the chat, and sending resumes when it opens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.format import status_text
from engine import campaign
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.sending.claims import claim_next
from engine.sending.pacing import Gate
from engine.states import Hold
from tests.integration.sendkit import NO_PACING, add_leads, start

Ctx = Callable[..., EngineContext]


def test_it_holds_sending_outside_the_window_and_resumes_inside(
    make_ctx: Ctx, clock: FakeClock
) -> None:
    ctx = make_ctx(**NO_PACING, SEND_WINDOW="09:00-17:00", SEND_DAYS="mon-fri")
    start(ctx)
    add_leads(ctx, "ana@acme.io")
    clock.set(datetime(2026, 3, 6, 18, 0, tzinfo=UTC))  # Friday 18:00 UTC

    held = claim_next(ctx)
    assert isinstance(held, Gate) and held.hold is Hold.OUTSIDE_WINDOW
    assert held.wait_until == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    report = campaign.status(ctx)
    assert report.hold is Hold.OUTSIDE_WINDOW
    assert "Not sending: outside the sending window (09:00-17:00 Mon-Fri, " in status_text(
        report, ctx.settings.tz
    )
    assert report.next_send_at == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)

    clock.set(datetime(2026, 3, 9, 9, 0, tzinfo=UTC))
    assert not isinstance(claim_next(ctx), Gate)


def test_it_takes_a_window_set_from_the_chat(make_ctx: Ctx, clock: FakeClock) -> None:
    ctx = make_ctx(**NO_PACING)
    start(ctx)
    add_leads(ctx, "ana@acme.io")
    clock.set(datetime(2026, 3, 4, 23, 0, tzinfo=UTC))

    assert campaign.change_setting(ctx, "send_window", "08:00-18:00") == "08:00-18:00"
    held = claim_next(ctx)

    assert isinstance(held, Gate) and (held.detail["start"], held.detail["end"]) == (
        "08:00",
        "18:00",
    )
