"""Fixtures shared by the integration tests of the sending engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from engine.context import EngineContext
from engine.sending.smtp import Mailer
from tests.integration.sendkit import NO_PACING, smtp_env
from tests.servers.smtp import SmtpServer

Ctx = Callable[..., EngineContext]


@pytest.fixture
def engine_ctx(make_ctx: Ctx, smtp_server: SmtpServer) -> Ctx:
    """An EngineContext pointed at the test SMTP server, pacing off unless overridden."""

    def make(**env: str) -> EngineContext:
        return make_ctx(**smtp_env(smtp_server, **{**NO_PACING, **env}))

    return make


@pytest.fixture
def mailers() -> Iterator[Callable[[EngineContext], Mailer]]:
    """Mailers made for a test, closed after it."""
    made: list[Mailer] = []

    def make(ctx: EngineContext) -> Mailer:
        m = ctx.new_mailer()
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()
