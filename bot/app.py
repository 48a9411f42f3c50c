"""The process: configuration, database, the PTB Application, the engine and the web server, run
together in one event loop (the shape of PTB's custom-webhook example)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import BotCommand, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from bot import format as fmt
from bot.handlers import register
from bot.notifier import TelegramNotifier
from bot.unsubscribe import unsubscribe_routes
from engine.config import Settings, load_settings
from engine.context import EngineContext
from engine.errors import ConfigError, DatabaseUnavailable
from engine.intervals import TEST_ENV as TEST_INTERVALS_ENV
from engine.intervals import Intervals
from engine.intervals import parse as parse_intervals
from engine.leads import imports
from engine.license import check_license
from engine.logs import setup_logging
from engine.mailboxes import service as mailbox_service
from engine.scheduler import Scheduler
from engine.sending.claims import expire_leases
from engine.storage import leases
from engine.storage.db import Database

log = logging.getLogger("bot")
POLLER_LEASE = "telegram_poller"
WEBHOOK_LEASE = "telegram_webhook"


def main() -> int:
    try:
        settings = load_settings(dotenv=Path(".env"))
        intervals = _test_intervals()
    except ConfigError as e:
        print("Cannot start: the configuration has problems:", file=sys.stderr)
        for p in e.problems:
            print(f"  - {p}", file=sys.stderr)
        print(
            "Set these environment variables (or put them in .env) and start again.",
            file=sys.stderr,
        )
        return 2
    redactor = setup_logging(settings.log_level, settings.secrets)
    try:
        check_license(settings.license_sheet_url, settings.license_key)
        db = Database(settings.database_url)
        db.claim_single_process()
        db.migrate()
    except ConfigError as e:
        print("Cannot start: " + "; ".join(e.problems), file=sys.stderr)
        return 2
    except DatabaseUnavailable as e:
        print(
            f"Cannot start: the database is unreachable ({redactor.redact(str(e))}).",
            file=sys.stderr,
        )
        return 1
    except Exception as e:  # noqa: BLE001 - one clear line, no traceback, secrets redacted
        print(f"Cannot start: {redactor.redact(f'{type(e).__name__}: {e}')}", file=sys.stderr)
        return 1
    try:
        asyncio.run(serve(settings, db, intervals=intervals, redact=redactor.redact))
    except TokenRefused:
        print(
            "Cannot start: Telegram refused TELEGRAM_BOT_TOKEN. Copy the token from @BotFather "
            "again (it looks like 123456:ABC-...).",
            file=sys.stderr,
        )
        return 2
    finally:
        db.dispose()
    return 0


def _test_intervals() -> Intervals:
    """Small job intervals and TTLs for the end-to-end tests, from OUTREACH_TEST_INTERVALS
    (see engine/intervals.py; unset in production: today's timing)."""
    text = os.environ.get(TEST_INTERVALS_ENV, "")
    try:
        return parse_intervals(text)
    except ValueError as e:
        raise ConfigError([str(e)]) from None


def build_application(settings: Settings) -> Application[Any, Any, Any, Any, Any, Any]:
    api = settings.telegram_api_url.rstrip("/")
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .concurrent_updates(8)
    )
    if settings.webhook_url:
        builder = builder.updater(None)
    return builder.build()


class _Server(uvicorn.Server):
    """We handle SIGTERM/SIGINT ourselves, to shut everything down in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn
        return


@dataclass
class Process:
    """What the running process is made of; /health and the webhook endpoint read it."""

    settings: Settings
    ctx: EngineContext
    scheduler: Scheduler
    application: Application[Any, Any, Any, Any, Any, Any]
    redact: Callable[[str], str]
    polling: bool = False  # this replica polls Telegram now


def web_app(proc: Process) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        body: dict[str, Any] = {
            "status": "healthy",
            "scheduler_running": proc.scheduler.running,
            "timestamp": datetime.now(UTC).isoformat(),
            "replica": proc.ctx.owner,
            "polling": proc.polling,
            # IMAP IDLE connections this replica keeps (one per mailbox; only on the holder of
            # the reply-check lease, 0 elsewhere). A count under a lock: no I/O.
            "idle_watchers": proc.scheduler.idle.running,
        }
        problems = []
        try:
            body["jobs"] = await asyncio.wait_for(asyncio.to_thread(_job_health, proc.ctx), 5)
            body["database"] = "ok"
        except (DatabaseUnavailable, TimeoutError) as e:
            body["database"] = "unreachable"
            problems.append(f"database unreachable: {proc.redact(str(e))[:200]}")
        if not proc.scheduler.running:
            problems.append("scheduler is not running")
        if problems:
            body["status"] = "unhealthy"
            body["reason"] = "; ".join(problems)
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    async def telegram_webhook(request: Request) -> Response:
        settings, app = proc.settings, proc.application
        if not settings.webhook_url:
            return Response(status_code=404)
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != settings.webhook_secret:
            return Response("forbidden", status_code=403)
        try:
            data = await request.json()
            update = Update.de_json(data, app.bot)
        except (json.JSONDecodeError, ValueError, TypeError, KeyError):
            return Response("bad update", status_code=400)
        await app.update_queue.put(update)
        return Response(status_code=200)

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/telegram", telegram_webhook, methods=["POST"]),
            # The one-click unsubscribe links: served whenever SECRET_KEY can check them, so
            # links already sent keep working if PUBLIC_URL is later unset.
            *unsubscribe_routes(proc.ctx),
        ]
    )


def _job_health(ctx: EngineContext) -> dict[str, Any]:
    from sqlalchemy import select

    from engine.storage.models import JobRun

    with ctx.db.transaction() as session:
        return {
            j.job: {
                "last_success": j.last_success_at.isoformat() if j.last_success_at else None,
                "consecutive_failures": j.consecutive_failures,
            }
            for j in session.scalars(select(JobRun))
        }


def check_mailboxes(ctx: EngineContext) -> None:
    """Mailbox 1 takes EMAIL_ADDRESS; mailboxes whose passwords this SECRET_KEY cannot decrypt
    are marked broken and named in one alert. The process starts either way."""
    try:
        mailbox_service.at_start(ctx)
    except DatabaseUnavailable as e:
        log.warning("could not check the mailboxes at start: %s", type(e).__name__)


def _same(text: str) -> str:
    return text


async def serve(
    settings: Settings,
    db: Database,
    *,
    intervals: Intervals | None = None,
    redact: Callable[[str], str] = _same,
) -> None:
    """Run until SIGTERM/SIGINT. Each step that starts something registers how to undo it on
    the exit stack, so the shutdown is the start read backwards."""
    ctx = EngineContext(db=db, settings=settings, intervals=intervals or Intervals())
    # SQLite has one process: any 'sending' row was left by a previous run. On PostgreSQL only
    # rows of processes known to be gone (or past their lease) are touched.
    expire_leases(ctx, everything=db.is_sqlite)
    check_mailboxes(ctx)
    application = build_application(settings)
    application.bot_data.update(ctx=ctx, admin_ids=settings.admin_ids, redact=redact)
    register(application)
    notifier = TelegramNotifier(application.bot, settings.admin_ids, ready=False)
    scheduler = Scheduler(ctx, notifier)
    application.bot_data["engine"] = scheduler
    proc = Process(settings, ctx, scheduler, application, redact)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(_step, "leave the replica table", _leave, ctx)
        stack.push_async_callback(_step, "stop the Telegram application", _stop_app, application)
        # The engine and /health start at once; Telegram joins when it can be reached (until
        # then notifications wait in the database and the engine keeps its schedule).
        scheduler.start()
        stack.callback(scheduler.shutdown)
        server = _Server(
            uvicorn.Config(
                web_app(proc),
                host="0.0.0.0",
                port=settings.port,
                log_level="warning",
                lifespan="off",
            )
        )
        web = asyncio.create_task(server.serve())
        stack.push_async_callback(_step, "stop the web server", _stop_web, server, web)
        stack.push_async_callback(_step, "stop polling", _stop_polling, application)
        telegram = asyncio.create_task(_telegram_main(proc, notifier, stop))
        stack.push_async_callback(_step, "stop the Telegram task", _cancel, telegram)
        log.info("started: replica %s, web on port %d", ctx.owner, settings.port)
        _log_unsubscribe_links(settings)
        await stop.wait()
        log.info("shutting down")
    log.info("stopped")
    if not telegram.cancelled() and isinstance(telegram.exception(), TokenRefused):
        raise TokenRefused


def _log_unsubscribe_links(settings: Settings) -> None:
    """Say once whether campaign emails carry the one-click unsubscribe link, and why not when
    only SECRET_KEY is missing (PUBLIC_URL then does not default to WEBHOOK_URL)."""
    if settings.public_url:
        log.info("one-click unsubscribe links on: %s/u/…", settings.public_url)
    elif settings.webhook_url and not settings.secret_key:
        log.warning(
            "no one-click unsubscribe links in campaign emails: WEBHOOK_URL is set but "
            "SECRET_KEY is not (it signs the links); set SECRET_KEY to turn them on"
        )


async def _step(what: str, step: Callable[..., Awaitable[None]], *args: Any) -> None:
    """One shutdown step: a failure is logged (type and message, redacted by the log filter)
    and the next step still runs."""
    try:
        await step(*args)
    except Exception as e:  # noqa: BLE001 - logged; the rest of the shutdown must still run
        log.warning("shutdown: could not %s (%s: %s)", what, type(e).__name__, e)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, TokenRefused):
        pass  # a refused token is reported by serve() once the shutdown is done


async def _stop_polling(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()


async def _stop_web(server: _Server, web: asyncio.Task[None]) -> None:
    server.should_exit = True
    await asyncio.wait_for(web, 10)


async def _stop_app(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if application.running:
        await application.stop()
    await application.shutdown()  # does nothing if it was never initialised


async def _leave(ctx: EngineContext) -> None:
    await asyncio.to_thread(leases.leave, ctx)


async def _telegram_main(proc: Process, notifier: TelegramNotifier, stop: asyncio.Event) -> None:
    """Reach Telegram (retrying), then take this replica's Telegram role."""
    application = proc.application
    try:
        if not await _initialize(application, stop):
            log.info("stopped before Telegram could be reached")
            return
    except TokenRefused:
        stop.set()
        raise
    await application.start()
    notifier.ready = True
    await report_interrupted_imports(proc.ctx, application.bot)
    await _telegram_role(proc, stop)


async def report_interrupted_imports(ctx: EngineContext, bot: Any) -> int:
    """Tell the chat of every import whose process died mid-way (kill -9, OOM) that nothing was
    imported: edit its "Importing…" message, or send a new one if that cannot be edited."""
    try:
        runs = await asyncio.to_thread(
            imports.claim_interrupted, ctx, gone_after=ctx.intervals.replica_gone
        )
    except DatabaseUnavailable as e:
        log.warning("could not look for interrupted imports: %s", type(e).__name__)
        return 0
    for run in runs:
        text = (
            f"❌ The import of {run.file_name} was interrupted; nothing was imported. "
            "Send it again."
        )
        try:
            if run.message_id is None:
                raise TelegramError("no progress message")
            await bot.edit_message_text(text, chat_id=run.chat_id, message_id=run.message_id)
        except TelegramError:
            try:
                await bot.send_message(run.chat_id, text)
            except TelegramError as e:
                log.warning("could not report an interrupted import: %s", type(e).__name__)
    return len(runs)


class TokenRefused(Exception):
    """Telegram refused TELEGRAM_BOT_TOKEN: retrying cannot help."""


async def _initialize(
    application: Application[Any, Any, Any, Any, Any, Any], stop: asyncio.Event
) -> bool:
    """Initialize the bot, retrying while Telegram is unreachable. False if SIGTERM came first."""
    delay = 1.0
    while True:
        try:
            await application.initialize()
            break
        except InvalidToken:
            raise TokenRefused from None
        except TelegramError as e:
            log.warning(
                "Telegram unreachable at start (%s); retrying in %.0fs", type(e).__name__, delay
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return False
            delay = min(delay * 2, 30)
    try:
        await application.bot.set_my_commands([BotCommand(c, d) for c, d in fmt.COMMANDS])
    except TelegramError as e:
        log.warning("could not register the command menu: %s", type(e).__name__)
    return True


async def _telegram_role(proc: Process, stop: asyncio.Event) -> None:
    """Webhook: register once. Polling: only the holder of the poller lease polls."""
    ctx, application, settings = proc.ctx, proc.application, proc.settings
    if settings.webhook_url:
        await _register_webhook(ctx, application, settings)
        return
    updater = application.updater
    assert updater is not None
    ttl = ctx.intervals.poller_lease
    while not stop.is_set():
        try:
            leader = await asyncio.to_thread(leases.try_acquire, ctx, POLLER_LEASE, ttl)
        except DatabaseUnavailable:
            leader = False
        try:
            if leader and not updater.running:
                log.info("this replica now polls Telegram")
                await updater.start_polling(
                    poll_interval=0.0,
                    timeout=10,
                    drop_pending_updates=False,
                    allowed_updates=Update.ALL_TYPES,
                )
            elif not leader and updater.running:
                log.info("another replica polls Telegram now; stopping polling here")
                await updater.stop()
        except TelegramError as e:
            log.warning("polling could not start: %s", type(e).__name__)
        proc.polling = updater.running
        if leader:
            await report_interrupted_imports(ctx, application.bot)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), ttl / 3)


async def _register_webhook(
    ctx: EngineContext, application: Application[Any, Any, Any, Any, Any, Any], settings: Settings
) -> None:
    url = settings.webhook_url.rstrip("/") + "/telegram"
    ttl = ctx.intervals.webhook_lease
    if not await asyncio.to_thread(leases.try_acquire, ctx, WEBHOOK_LEASE, ttl):
        return
    try:
        info = await application.bot.get_webhook_info()
        if info.url != url:
            await application.bot.set_webhook(
                url, secret_token=settings.webhook_secret, allowed_updates=Update.ALL_TYPES
            )
            log.info("webhook registered")
    except TelegramError as e:
        log.warning("could not register the webhook: %s", type(e).__name__)
