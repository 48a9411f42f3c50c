"""The campaign commands: /help /status /run /pause /stop /settings /templates /template /test
/uncertain, and the buttons that settle an email of unknown delivery."""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import format as fmt
from bot.handlers.common import Ctx, call, ctx_of, engine_of, reply
from engine import campaign
from engine.scheduler import SEND
from engine.sending import recovery
from engine.states import CampaignState


def _wake_sending(context: Ctx) -> None:
    engine = engine_of(context)
    if engine is not None:
        engine.wake(SEND)


async def help_cmd(update: Update, context: Ctx) -> None:
    """What the bot does and every command."""
    await reply(update, fmt.HELP)


async def status_cmd(update: Update, context: Ctx) -> None:
    """The dashboard."""
    ctx = ctx_of(context)
    report = await call(campaign.status, ctx)
    await reply(update, fmt.status_text(report, ctx.settings.tz))


async def run_cmd(update: Update, context: Ctx) -> None:
    """Start or resume the campaign."""
    previous = await call(campaign.run, ctx_of(context))
    _wake_sending(context)
    verb = (
        "already running"
        if previous == CampaignState.RUNNING
        else "started"
        if previous == CampaignState.STOPPED
        else "resumed"
    )
    await reply(update, f"▶️ Campaign {verb}. /status shows progress.")


async def pause_cmd(update: Update, context: Ctx) -> None:
    """Pause sending; nothing is lost."""
    result = await call(campaign.pause, ctx_of(context))
    await reply(update, fmt.paused_text(result.in_flight))


async def stop_cmd(update: Update, context: Ctx) -> None:
    """Stop the campaign."""
    result = await call(campaign.stop, ctx_of(context))
    await reply(update, fmt.stopped_text(result.in_flight))


async def settings_cmd(update: Update, context: Ctx) -> None:
    """Show the effective limits and pacing, or change one."""
    ctx = ctx_of(context)
    args = context.args or []
    if len(args) == 1:
        await reply(update, f"Give a value too, e.g. /settings {args[0]} 50")
        return
    if len(args) >= 2:
        value = await call(campaign.change_setting, ctx, args[0], " ".join(args[1:]))
        await reply(
            update, f"✅ {args[0].lower()} is now {value} (saved; it overrides the environment)."
        )
        return
    rows = await call(campaign.settings_view, ctx)
    await reply(update, fmt.settings_text(rows, ctx.settings))


async def templates_cmd(update: Update, context: Ctx) -> None:
    """Show the templates."""
    for t in await call(campaign.templates_view, ctx_of(context)):
        await reply(update, fmt.template_text(t))
    await reply(
        update,
        "To change one, send /template NAME on the first line, then an optional "
        "'Subject: …' line, then the body. Placeholders: {first_name}, {company|your team}, "
        "any CSV column, {calendar_link}.",
    )


async def template_cmd(update: Update, context: Ctx) -> None:
    """Change a template: /template NAME, newline, Subject: …, body."""
    msg = update.effective_message
    text = msg.text if msg is not None and msg.text else ""
    first, _, rest = text.partition("\n")
    parts = first.split(maxsplit=1)
    if len(parts) < 2:
        await reply(
            update,
            "Which template? e.g.\n/template initial\nSubject: Quick question, {first_name|there}\nHi {first_name|there}, …",
        )
        return
    name, _, inline = parts[1].partition(" ")
    body = (inline + "\n" + rest).strip() if inline else rest
    t = await call(campaign.change_template, ctx_of(context), name, body)
    await reply(update, "✅ Saved.\n\n" + fmt.template_text(t))


async def test_cmd(update: Update, context: Ctx) -> None:
    """Send the first template with sample data to an address."""
    if not context.args:
        await reply(update, "To which address? e.g. /test you@yourdomain.com")
        return
    subject = await call(campaign.send_test, ctx_of(context), context.args[0])
    await reply(update, f"📨 Test email sent to {context.args[0]} — subject: {subject}")


async def uncertain_cmd(update: Update, context: Ctx) -> None:
    """Emails whose delivery is unknown after a crash, with buttons to decide."""
    rows = await call(recovery.list_uncertain, ctx_of(context))
    if not rows:
        await reply(update, "✅ No email has an unknown delivery.")
        return
    for r in rows[:10]:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("📨 Send again", callback_data=f"resend:{r.id}"),
                    InlineKeyboardButton("✔️ It was sent", callback_data=f"wassent:{r.id}"),
                ]
            ]
        )
        await reply(
            update,
            f"❔ {r.kind} to {r.to_email} — {r.subject[:80]}\n{r.error or ''}",
            reply_markup=markup,
        )


async def resend_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """📨 Send again: the operator says the uncertain email did not arrive."""
    return await _settle(context, ident, resend=True)


async def was_sent_button(q: CallbackQuery, context: Ctx, ident: int) -> str | None:
    """✔️ It was sent: the operator says the uncertain email arrived."""
    return await _settle(context, ident, resend=False)


async def _settle(context: Ctx, ident: int, *, resend: bool) -> str:
    text = fmt.settled_text(await call(recovery.operator_decides, ctx_of(context), ident, resend))
    _wake_sending(context)
    return text
