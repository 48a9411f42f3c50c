"""/verify: the selected campaign's leads still waiting for their first email, re-checked by
domain. A domain that has lost its mail server since the import (or was imported with
VERIFY_EMAILS=off) fails its leads with "no mail server for DOMAIN", so the campaign never
sends to it and the bounce rate stays clean.

Each distinct domain is looked up once, with the import's bounds (``engine.leads.verification``):
at most ``LOOKUPS_IN_FLIGHT`` at a time, all within the budget. No transaction is open while
DNS answers; the leads are marked afterwards in one short transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from engine.context import EngineContext
from engine.leads import lifecycle
from engine.leads.verification import (
    DomainProgress,
    Verdict,
    dns_lookup,
    look_up_all,
    no_mail_server,
)
from engine.storage import store
from engine.storage.models import Lead

__all__ = ["EXAMPLES", "Recheck", "recheck_waiting_leads"]

EXAMPLES = 5  # addresses named per kind


@dataclass(frozen=True)
class Recheck:
    """What /verify found and did."""

    campaign: str
    leads: int  # leads waiting for their first email, looked at
    domains: int  # their distinct domains, each looked up once
    failed: int = 0  # leads marked invalid: no mail server
    failed_examples: list[str] = field(default_factory=list)  # the first of their addresses
    dead_domains: list[str] = field(default_factory=list)
    unverified_domains: list[str] = field(default_factory=list)  # DNS gave no answer in time
    unverified_leads: int = 0


def recheck_waiting_leads(
    ctx: EngineContext,
    campaign_id: int,
    progress: DomainProgress | None = None,
) -> Recheck:
    """Look up the domains of ``campaign_id``'s leads waiting for their first email, and fail
    those at a domain with no mail server. ``progress`` hears (domains done, domains in all).
    Runs whatever VERIFY_EMAILS says: the operator asked for it."""
    with ctx.db.transaction() as session:
        name = store.campaign(session, ctx.clock.now(), campaign_id=campaign_id).name
        counts: dict[str, int] = {
            domain: int(n)
            for domain, n in session.execute(
                select(Lead.domain, func.count())
                .where(lifecycle.waiting_for_first_email(campaign_id))
                .group_by(Lead.domain)
            )
        }
    if not counts:
        return Recheck(name, 0, 0)
    verdicts = look_up_all(counts, dns_lookup(ctx.settings), ctx.intervals, progress)
    dead = sorted(d for d, v in verdicts.items() if v is Verdict.NO_MAIL_SERVER)
    unknown = sorted(d for d, v in verdicts.items() if v is Verdict.UNVERIFIED)
    failed, examples = 0, list[str]()
    with ctx.db.transaction() as session:
        for domain in dead:
            if len(examples) < EXAMPLES:
                examples += session.scalars(
                    select(Lead.email)
                    .where(lifecycle.waiting_for_first_email(campaign_id), Lead.domain == domain)
                    .order_by(Lead.id)
                    .limit(EXAMPLES - len(examples))
                )
            failed += lifecycle.no_mail_server(session, campaign_id, domain, no_mail_server(domain))
    return Recheck(
        campaign=name,
        leads=sum(counts.values()),
        domains=len(counts),
        failed=failed,
        failed_examples=examples,
        dead_domains=dead,
        unverified_domains=unknown,
        unverified_leads=sum(counts[d] for d in unknown),
    )
