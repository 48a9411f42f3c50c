"""/stats: the selected campaign's figures per step and A/B variant, then a chart of its last 14
days (``sendPhoto``); /stats NAME shows another campaign without selecting it; /stats all
compares every campaign."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError

from bot.charts import daily_chart
from bot.handlers.common import Ctx, call, ctx_of, reply
from bot.messages import stats as words
from engine.campaigns import registry, stats
from engine.context import EngineContext
from engine.storage import store

log = logging.getLogger(__name__)


def _which(ctx: EngineContext, admin_id: int | None, name: str) -> tuple[int, str]:
    """The campaign asked for (by name, else the admin's selection) and the zone of the days."""
    with ctx.db.transaction() as session:
        cid = registry.find(session, name).id if name else registry.selected_id(session, admin_id)
        return cid, str(store.effective_settings(session, ctx.settings).tz)


async def stats_cmd(update: Update, context: Ctx) -> None:
    """Figures per step and variant, and a chart of the last 14 days; /stats all compares."""
    ctx = ctx_of(context)
    args = context.args or []
    if args and args[0].lower() == "all":
        await reply(update, words.compare_text(await call(stats.compare, ctx, ctx.clock.now())))
        return
    user = update.effective_user
    msg = update.effective_message
    campaign_id, _ = await call(_which, ctx, user.id if user else None, " ".join(args))
    if msg is not None:
        await show_stats(context, msg.chat_id, campaign_id)


async def show_stats(context: Ctx, chat_id: int, campaign_id: int) -> None:
    """A campaign's figures as a message, then its chart as a photo (/stats, and 📈 Stats under
    /campaigns)."""
    ctx = ctx_of(context)
    zone = await call(_zone, ctx)
    now = ctx.clock.now()
    report, days = await asyncio.gather(
        call(stats.campaign_stats, ctx, campaign_id, now), call(stats.daily, ctx, campaign_id, now)
    )
    await context.bot.send_message(chat_id, words.stats_text(report), parse_mode=ParseMode.HTML)
    if report.steps or any(d.replies for d in days):
        await _chart(context, chat_id, report, days, zone)


def _zone(ctx: EngineContext) -> str:
    with ctx.db.transaction() as session:
        return str(store.effective_settings(session, ctx.settings).tz)


async def _chart(
    context: Ctx,
    chat_id: int,
    report: stats.CampaignStats,
    days: list[stats.DayCount],
    zone: str,
) -> None:
    """The PNG of the days, drawn in a worker thread; a failure is said in words."""
    with contextlib.suppress(TelegramError):
        await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
    try:
        png = await asyncio.to_thread(
            daily_chart,
            [d.day for d in days],
            [d.sent for d in days],
            [d.replies for d in days],
            words.chart_title(report, len(days)),
        )
    except Exception:  # noqa: BLE001 - the figures are already there; say the chart is not
        log.warning("could not draw the /stats chart", exc_info=True)
        await context.bot.send_message(chat_id, words.CHART_FAILED)
        return
    try:
        await context.bot.send_photo(
            chat_id,
            photo=png,
            filename="stats.png",
            caption=words.chart_caption(report.name, zone, len(days)),
        )
    except TelegramError as e:
        log.warning("could not send the /stats chart: %s", type(e).__name__)
        await context.bot.send_message(chat_id, words.CHART_NOT_SENT)
