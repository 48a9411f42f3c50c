"""The real PTB Application of ``bot.app``, running in the test's event loop against the fake
Bot API, on the test database (SQLite and PostgreSQL via ``make_ctx``).

Import the fixture into a test module: ``from tests.integration.bot_harness import running_bot``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from telegram.ext import Application

from bot.app import _initialize, build_application
from bot.handlers import register
from engine.context import EngineContext
from engine.logs import RedactSecrets
from engine.storage.models import (
    Campaign,
    Lead,
    Mailbox,
    OutboundMessage,
    SettingOverride,
    Suppression,
    TemplateRow,
)
from tests.conftest import BASE_ENV
from tests.servers.telegram import FakeTelegram

ADMIN = int(BASE_ENV["TELEGRAM_ADMIN_IDS"])
STRANGER = 666_777
SECRETS = (BASE_ENV["EMAIL_PASSWORD"], BASE_ENV["TELEGRAM_BOT_TOKEN"])


@dataclass
class RunningBot:
    app: Application[Any, Any, Any, Any, Any, Any]
    ctx: EngineContext
    fake: FakeTelegram

    async def say(
        self,
        text: str,
        *,
        user: int = ADMIN,
        expect: Callable[[dict], bool] | str | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> dict:
        """The user writes ``text``; returns the first bot output to that chat (or matching
        ``expect``)."""
        mark = self.fake.mark()
        message = self.fake.send_text(user, text, **kwargs)
        return await self.fake.wait_for_async(
            expect or (lambda r: True), timeout, chat_id=message["chat"]["id"], after=mark
        )

    async def upload(
        self,
        filename: str,
        content: bytes,
        *,
        expect: Callable[[dict], bool] | str,
        user: int = ADMIN,
        timeout: float = 20.0,
        **kwargs: Any,
    ) -> dict:
        mark = self.fake.mark()
        self.fake.send_document(user, filename, content, **kwargs)
        return await self.fake.wait_for_async(expect, timeout, chat_id=user, after=mark)

    def add_leads(self, *emails: str, **fields: str) -> list[int]:
        """Store leads directly (the import path has its own tests)."""
        from engine.leads.service import import_csv

        header = "email," + ",".join(fields) if fields else "email"
        rows = [header] + [",".join([e, *fields.values()]) for e in emails]
        import_csv(self.ctx, ("\n".join(rows) + "\n").encode())
        with self.ctx.db.transaction() as session:
            return list(session.scalars(select(Lead.id).order_by(Lead.id)))

    def lead(self, email: str) -> Lead | None:
        with self.ctx.db.transaction() as session:
            lead = session.scalars(select(Lead).where(Lead.email == email)).first()
            if lead is not None:
                session.expunge(lead)
            return lead


def snapshot(ctx: EngineContext) -> dict[str, list[tuple[Any, ...]]]:
    """Everything an operator could change, as comparable tuples."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with ctx.db.transaction() as session:
        for model in (
            Lead,
            Campaign,
            SettingOverride,
            TemplateRow,
            Suppression,
            OutboundMessage,
            Mailbox,
        ):
            cols = [c.key for c in model.__mapper__.column_attrs]
            rows = session.scalars(select(model)).all()
            tables[model.__tablename__] = sorted(
                (tuple(repr(getattr(r, c)) for c in cols) for r in rows), key=repr
            )
    return tables


@pytest.fixture
async def running_bot(
    fake_telegram: FakeTelegram,
    make_ctx: Callable[..., EngineContext],
    smtp_server: Any,
) -> AsyncIterator[RunningBot]:
    """bot.app's Application, wired as ``serve`` wires it (without the engine's scheduler)."""
    ctx = make_ctx(TELEGRAM_API_URL=fake_telegram.url, SMTP_PORT=str(smtp_server.port))
    ctx.rng = random.Random(7)
    app = await start_application(ctx)
    try:
        yield RunningBot(app, ctx, fake_telegram)
    finally:
        await stop_application(app)


async def start_application(ctx: EngineContext) -> Application[Any, Any, Any, Any, Any, Any]:
    """A new Application on ``ctx``, polling the fake Bot API (a process start, as far as the
    bot is concerned)."""
    app = build_application(ctx.settings)
    redactor = RedactSecrets(ctx.settings.secrets)
    app.bot_data.update(ctx=ctx, admin_ids=ctx.settings.admin_ids, redact=redactor.redact)
    register(app)
    assert await _initialize(app, asyncio.Event())
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    return app


async def stop_application(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
