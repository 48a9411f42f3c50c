"""What following a one-click unsubscribe link does: the lead is removed exactly as an opt-out
reply removes it (``engine.leads.removal.opt_out``: ``unsubscribed``, queued emails cancelled,
the address stopped in the other campaigns and suppressed), in one transaction, and the admins
get one line. A repeat changes nothing and tells nobody."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.exc import IntegrityError, OperationalError

from engine import notify
from engine.config import Settings
from engine.context import EngineContext
from engine.leads import removal
from engine.states import NoticeKind
from engine.storage.models import Lead
from engine.unsubscribe.links import Token, addressed_to, link_key, read_token

# Two requests for the same address at once (the mail provider's POST and the lead pressing
# the button, or links of two campaigns) can meet on the suppression row or the leads' locks;
# the loser tries again and finds the work done.
ATTEMPTS = 3


class Outcome(StrEnum):
    UNSUBSCRIBED = "unsubscribed"  # removed now; the admins are told
    ALREADY = "already"  # removed before: nothing changed, nobody is told again
    GONE = "gone"  # the lead was deleted since (or its id is now another address's)


def read(s: Settings, text: str) -> Token | None:
    """The token in a link's path, if this service made it; None without SECRET_KEY (no link
    can be checked, so none is honoured). No database: a forged link costs nothing."""
    if not s.secret_key:
        return None
    return read_token(link_key(s.secret_key), text)


def unsubscribe(ctx: EngineContext, token: Token) -> Outcome:
    """Remove the lead the (genuine) ``token`` names. A lead deleted since cannot be found,
    nor can its address be (the token carries only a tag of it): nothing is written, and the
    answer is still that it is done, since nothing more is sent to a deleted lead."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _unsubscribe(ctx, token)
        except (IntegrityError, OperationalError):
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _unsubscribe(ctx: EngineContext, token: Token) -> Outcome:
    now = ctx.clock.now()
    key = link_key(ctx.settings.secret_key)
    # The lead's row lock makes a second request wait and then find the work done; SQLite has
    # no row locks (and reads outside the write transaction), so there this process's requests
    # take turns.
    with ctx.db.serialised(), ctx.db.transaction() as session:
        lead = session.get(Lead, token.lead_id, with_for_update=True)
        if (
            lead is None
            or lead.campaign_id != token.campaign_id
            or not addressed_to(key, token, lead.email)
        ):
            return Outcome.GONE
        changed = removal.opt_out(
            session,
            now,
            lead,
            reason="unsubscribed with the link in the email",
            elsewhere="unsubscribed in another campaign",
        )
        if not changed:
            return Outcome.ALREADY
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
        notify.emit(
            session,
            now,
            NoticeKind.UNSUBSCRIBE_LINK,
            {
                "lead_id": lead.id,
                "email": lead.email,
                "name": name,
                "company": lead.company or "",
                "campaign_id": lead.campaign_id,
            },
        )
        return Outcome.UNSUBSCRIBED
