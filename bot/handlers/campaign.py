"""The commands that act on the selected campaign (/run /pause /stop /settings /templates
/template /test), /help, /uncertain and the buttons that settle an email of unknown delivery.
/status, the dashboard, is in ``dashboard``.
Each answer names the campaign when there are several (``named``); with one, it reads as before
there were campaigns."""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import format as fmt
from bot.handlers.common import Ctx, call, ctx_of, named, reply, selection, wake_sending
from bot.messages.templates import warnings_text
from engine import campaign
from engine.campaigns import views
from engine.sending import recovery
from engine.template_checks import check_template
from engine.template_command import parse_template_command


async def help_cmd(update: Update, context: Ctx) -> None:
    """What the bot does and every command."""
    await reply(update, fmt.HELP)


async def run_cmd(update: Update, context: Ctx) -> None:
    """Start or resume the selected campaign."""
    sel = await selection(update, context)
    previous = await call(campaign.run, ctx_of(context), sel.id)
    wake_sending(context)
    await reply(update, fmt.run_text(previous, named(sel)))


async def pause_cmd(update: Update, context: Ctx) -> None:
    """Pause the selected campaign; nothing is lost."""
    sel = await selection(update, context)
    result = await call(campaign.pause, ctx_of(context), sel.id)
    await reply(update, fmt.paused_text(result.in_flight, named(sel)))


async def stop_cmd(update: Update, context: Ctx) -> None:
    """Stop the selected campaign."""
    sel = await selection(update, context)
    result = await call(campaign.stop, ctx_of(context), sel.id)
    await reply(update, fmt.stopped_text(result.in_flight, named(sel)))


async def settings_cmd(update: Update, context: Ctx) -> None:
    """Show the settings (the selected campaign's and the global ones), or change one."""
    ctx = ctx_of(context)
    args = context.args or []
    if len(args) == 1:
        await reply(update, f"Give a value too, e.g. /settings {args[0]} 50")
        return
    sel = await selection(update, context)
    if len(args) >= 2:
        value = await call(campaign.change_setting, ctx, args[0], " ".join(args[1:]), sel.id)
        await reply(update, fmt.setting_changed_text(args[0].lower(), value, named(sel)))
        return
    rows = await call(campaign.settings_view, ctx, sel.id)
    await reply(update, fmt.settings_text(rows, ctx.settings, named(sel)))


async def templates_cmd(update: Update, context: Ctx) -> None:
    """Show the selected campaign's templates, each step with its variants."""
    sel = await selection(update, context)
    for step in await call(views.templates, ctx_of(context), sel.id):
        variant = step.variant if step.variants > 1 else None
        await reply(update, fmt.template_text(step.template, variant))
    of = f"These are the templates of campaign {sel.name}. " if sel.several else ""
    await reply(
        update,
        f"{of}To change one, send /template NAME on the first line, then an optional "
        "'Subject: …' line, then the body. Placeholders: {first_name}, {company|your team}, "
        "any CSV column, {calendar_link}. For an A/B test, /template initial B adds (or "
        "changes) variant B; /template initial B delete removes it.",
    )


TEMPLATE_USAGE = (
    "Which template? e.g.\n/template initial\nSubject: Quick question, {first_name|there}\n"
    "Hi {first_name|there}, …\n\nA variant for an A/B test: /template initial B, the same way; "
    "/template initial B delete removes it."
)


async def template_cmd(update: Update, context: Ctx) -> None:
    """Change (or delete) a template of the selected campaign: /template NAME [VARIANT],
    newline, Subject: …, body; /template NAME VARIANT delete."""
    msg = update.effective_message
    text = msg.text if msg and msg.text else ""
    if len(text.split()) < 2:
        await reply(update, TEMPLATE_USAGE)
        return
    cmd = parse_template_command(text)  # a bad step, variant or form: its words, as ❌
    sel = await selection(update, context)
    where = f" of campaign {sel.name}" if sel.several else ""
    if cmd.delete:
        removed = await call(
            campaign.delete_template_variant, ctx_of(context), sel.id, cmd.name, cmd.variant
        )
        if not removed:
            await reply(
                update, f"❌ {cmd.name}{where} has no variant {cmd.variant}; /templates shows them."
            )
        else:
            await reply(
                update,
                f"🗑 Variant {cmd.variant} of {cmd.name}{where} removed; /templates shows what is "
                "left.",
            )
        return
    t = await call(
        campaign.save_template,
        ctx_of(context),
        cmd.name,
        cmd.subject,
        cmd.body,
        sel.id,
        cmd.variant,
    )
    saved_in = f" in campaign {sel.name}" if sel.several else ""
    shown = fmt.template_text(t, cmd.variant if cmd.variant != "A" else None)
    warned = warnings_text(check_template(t.subject, t.body))
    warned = f"\n\n{warned}" if warned else ""
    await reply(
        update, f"✅ Saved{saved_in}.{_variant_hint(cmd.name, cmd.variant)}{warned}\n\n{shown}"
    )


def _variant_hint(step: str, variant: str) -> str:
    """How a variant is sent (engine.sending.claims deals the letters at the first email)."""
    if variant == "A":
        return ""
    if step == "initial":
        return (
            " Leads not emailed yet are dealt the variants of initial in turn; each keeps its "
            "letter for the follow-ups that have it."
        )
    return (
        f" Variant {variant} of {step} goes to the leads whose first email was variant "
        f"{variant} (/template initial {variant} adds that); the others get its A."
    )


async def test_cmd(update: Update, context: Ctx) -> None:
    """Send the selected campaign's first template with sample data to an address."""
    if not context.args:
        await reply(update, "To which address? e.g. /test you@yourdomain.com")
        return
    sel = await selection(update, context)
    subject = await call(campaign.send_test, ctx_of(context), context.args[0], sel.id)
    of = f" of campaign {sel.name}" if sel.several else ""
    await reply(update, f"📨 Test email{of} sent to {context.args[0]} — subject: {subject}")


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
    wake_sending(context)
    return text
