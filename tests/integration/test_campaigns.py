"""Several campaigns at once through the real aiosmtpd (and Dovecot for replies), on SQLite and
PostgreSQL, with the injected clock: each lead gets its own campaign's wording and number of
steps, an address is in one live campaign at a time, a reply in one campaign stops the address in
every other, A/B variants are dealt evenly and kept, and each campaign's own cap, mailboxes and
state hold only its own leads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import campaign
from engine.campaigns import registry
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.errors import UserInputError
from engine.inbox.sync import check_inbox
from engine.leads import service as leads
from engine.sending.queue import run_send_queue
from engine.states import CampaignState, Hold, LeadStatus
from engine.storage import store
from engine.storage.models import Campaign, Lead, OutboundMessage
from engine.templates import Template
from tests import mailshapes
from tests.integration.sendkit import NO_PACING, mailbox_ctx
from tests.servers.smtp import SmtpServer

Ctx = Callable[..., EngineContext]
ADMIN = 1001


def _csv(*emails: str) -> bytes:
    rows = "".join(f"{e},{e.split('@')[0].title()}\n" for e in emails)
    return ("email,first_name\n" + rows).encode()


def _send(ctx: EngineContext) -> int:
    mailer = ctx.new_mailer()
    try:
        return run_send_queue(ctx, mailer).sent
    finally:
        mailer.close()


def _leads(ctx: EngineContext, campaign_id: int) -> dict[str, Lead]:
    with ctx.db.transaction() as session:
        rows = list(session.scalars(select(Lead).where(Lead.campaign_id == campaign_id)))
        session.expunge_all()
    return {r.email_key: r for r in rows}


def _new(ctx: EngineContext, name: str) -> int:
    return registry.create(ctx, ADMIN, name).id


def _template(ctx: EngineContext, cid: int, name: str, subject: str, body: str, v: str = "A"):  # type: ignore[no-untyped-def]
    with ctx.db.transaction() as session:
        store.save_template(
            session,
            ctx.clock.now(),
            Template(name=name, subject=subject, body=body),
            campaign_id=cid,
            variant=v,
        )


@pytest.fixture
def two(engine_ctx: Ctx) -> tuple[EngineContext, int, int]:
    """Campaign ``default`` (two follow-ups, 1 day apart) and ``agency`` (none), each with its
    own first email."""
    ctx = engine_ctx(**NO_PACING, FOLLOWUP_DELAYS="1d,1d")
    a = 1
    b = _new(ctx, "agency")
    campaign.change_setting(ctx, "followup_delays", "none", campaign_id=b)
    _template(ctx, a, "initial", "For founders", "Hi {first_name}, founders' offer.")
    _template(ctx, b, "initial", "For agencies", "Hi {first_name}, agencies' offer.")
    return ctx, a, b


def test_two_campaigns_send_their_own_wording_and_number_of_steps(
    two: tuple[EngineContext, int, int], smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx, a, b = two
    assert leads.import_csv(ctx, _csv("ann@a.io", "abe@a.io"), campaign_id=a).imported == 2
    assert leads.import_csv(ctx, _csv("bea@b.io", "bob@b.io"), campaign_id=b).imported == 2
    campaign.run(ctx, a)
    campaign.run(ctx, b)
    for _ in range(4):  # day 0, then three days of follow-ups
        _send(ctx)
        clock.advance(timedelta(days=1, minutes=1))
    sent: dict[str, list[str]] = {}
    for m in smtp_server.messages:
        sent.setdefault(m.rcpt_tos[0], []).append(str(m.message["Subject"]))
    assert sent["ann@a.io"] == ["For founders", "Re: For founders", "Re: For founders"]
    assert sent["abe@a.io"] == ["For founders", "Re: For founders", "Re: For founders"]
    assert sent["bea@b.io"] == ["For agencies"]
    assert sent["bob@b.io"] == ["For agencies"]
    bodies = {m.rcpt_tos[0]: m.message.get_body().get_content() for m in smtp_server.messages}
    assert "agencies' offer" in bodies["bea@b.io"] and "founders' offer" not in bodies["bea@b.io"]
    assert {k: v.status for k, v in _leads(ctx, b).items()} == {
        "bea@b.io": LeadStatus.COMPLETED,
        "bob@b.io": LeadStatus.COMPLETED,
    }
    with ctx.db.transaction() as session:
        rows = session.execute(select(OutboundMessage.to_email, OutboundMessage.campaign_id))
        assert {(to, cid) for to, cid in rows} == {
            ("ann@a.io", a),
            ("abe@a.io", a),
            ("bea@b.io", b),
            ("bob@b.io", b),
        }


def test_a_paused_campaign_holds_only_its_own_leads(
    two: tuple[EngineContext, int, int], smtp_server: SmtpServer
) -> None:
    ctx, a, b = two
    leads.import_csv(ctx, _csv("ann@a.io"), campaign_id=a)
    leads.import_csv(ctx, _csv("bea@b.io"), campaign_id=b)
    campaign.run(ctx, a)
    campaign.run(ctx, b)
    campaign.pause(ctx, a)

    assert _send(ctx) == 1
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == ["bea@b.io"]
    assert campaign.status(ctx, a).hold is Hold.CAMPAIGN_NOT_RUNNING
    assert campaign.status(ctx, b).state == CampaignState.RUNNING


def test_an_address_live_in_one_campaign_is_skipped_in_another(
    two: tuple[EngineContext, int, int],
) -> None:
    ctx, a, b = two
    leads.import_csv(ctx, _csv("ann@a.io", "abe@a.io"), campaign_id=a)

    report = leads.import_csv(ctx, _csv("ann@a.io", "new@n.io"), campaign_id=b)

    assert report.imported == 1
    assert report.in_other_campaign == {"default": [2]}
    assert report.campaign == "agency"
    assert set(_leads(ctx, b)) == {"new@n.io"}


def test_a_finished_address_may_join_a_new_campaign_but_one_that_answered_may_not(
    two: tuple[EngineContext, int, int],
) -> None:
    ctx, a, b = two
    leads.import_csv(ctx, _csv("done@d.io", "said@s.io"), campaign_id=a)
    with ctx.db.transaction() as session:
        for lead in session.scalars(select(Lead).where(Lead.campaign_id == a)):
            if lead.email_key == "done@d.io":
                lead.status, lead.queue = LeadStatus.COMPLETED, None
            else:
                lead.status, lead.replied_at = LeadStatus.REPLIED, ctx.clock.now()

    report = leads.import_csv(ctx, _csv("done@d.io", "said@s.io"), campaign_id=b)

    assert report.imported == 1
    assert report.answered_elsewhere == {"default": [3]}
    assert set(_leads(ctx, b)) == {"done@d.io"}


def test_a_reply_in_one_campaign_stops_the_address_in_the_other(
    make_ctx: Ctx, smtp_server: SmtpServer, dovecot, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    ctx = mailbox_ctx(make_ctx, smtp_server, dovecot, FOLLOWUP_DELAYS="1d")
    b = _new(ctx, "later")
    leads.import_csv(ctx, _csv("ana@acme.io"), campaign_id=1)
    campaign.run(ctx, 1)
    assert _send(ctx) == 1
    # The same address waits in a second campaign (e.g. added there once the first ended).
    with ctx.db.transaction() as session:
        session.add(
            Lead(
                campaign_id=b,
                email="ana@acme.io",
                email_key="ana@acme.io",
                domain="acme.io",
                custom={},
                status=LeadStatus.PENDING,
                queue=2,
                next_send_at=ctx.clock.now(),
                created_at=ctx.clock.now(),
            )
        )
    ours = str(smtp_server.messages[0].message["Message-ID"])
    dovecot.deliver(
        mailshapes.threaded_reply(
            "ana@acme.io", dovecot.user, ours, [ours], "Sounds good, call me.", "Hi Ana"
        )
    )

    assert check_inbox(ctx).kinds == {"human": 1}

    assert _leads(ctx, 1)["ana@acme.io"].status == LeadStatus.REPLIED
    other = _leads(ctx, b)["ana@acme.io"]
    assert other.status == LeadStatus.STOPPED and other.queue is None
    campaign.run(ctx, b)
    clock.advance(timedelta(days=2))
    _send(ctx)
    # Only the calendar answer to her reply: not A's follow-up (she replied), not B's first
    # email (stopped).
    with ctx.db.transaction() as session:
        steps = session.execute(
            select(OutboundMessage.campaign_id, OutboundMessage.step, OutboundMessage.state)
        ).all()
    assert sorted(steps) == [(1, 0, "sent"), (1, 100, "sent")]
    assert len(smtp_server.messages) == 2


def test_variants_are_dealt_evenly_and_kept_for_later_steps(
    engine_ctx: Ctx, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    ctx = engine_ctx(**NO_PACING, FOLLOWUP_DELAYS="1d,1d")
    for v in "AB":
        _template(ctx, 1, "initial", f"Subject {v}", f"Body {v} {{first_name}}", v)
        _template(ctx, 1, "followup_1", "", f"Followup {v}", v)
    _template(ctx, 1, "followup_2", "", "Last one, A only")  # step 2 has only A
    emails = [f"l{i}@c{i}.io" for i in range(10)]
    leads.import_csv(ctx, _csv(*emails))
    campaign.run(ctx)
    for _ in range(3):
        _send(ctx)
        clock.advance(timedelta(days=1, minutes=1))
    by_lead: dict[str, list[str]] = {}
    for m in smtp_server.messages:
        by_lead.setdefault(m.rcpt_tos[0], []).append(m.message.get_body().get_content().strip())
    first = Counter(body[0].split()[1] for body in by_lead.values())
    assert first == {"A": 5, "B": 5}
    for bodies in by_lead.values():
        letter = bodies[0].split()[1]
        assert bodies[1].startswith(f"Followup {letter}")
        assert bodies[2].startswith("Last one, A only")
    with ctx.db.transaction() as session:
        rows = session.execute(
            select(OutboundMessage.step, OutboundMessage.variant, Lead.variant).join(
                Lead, Lead.id == OutboundMessage.lead_id
            )
        ).all()
    assert all(v == lv for step, v, lv in rows if step < 2)
    assert {v for step, v, _ in rows if step == 2} == {"A"}  # the step has no B


def test_a_campaigns_own_cap_holds_it_and_not_the_other(
    two: tuple[EngineContext, int, int], smtp_server: SmtpServer
) -> None:
    ctx, a, b = two
    campaign.change_setting(ctx, "daily_limit", "2", campaign_id=a)
    leads.import_csv(ctx, _csv(*(f"a{i}@a.io" for i in range(4))), campaign_id=a)
    leads.import_csv(ctx, _csv(*(f"b{i}@b.io" for i in range(3))), campaign_id=b)
    campaign.run(ctx, a)
    campaign.run(ctx, b)

    assert _send(ctx) == 5

    to = Counter(m.rcpt_tos[0].split("@")[1] for m in smtp_server.messages)
    assert to == {"a.io": 2, "b.io": 3}
    report = campaign.status(ctx, a)
    assert report.hold is Hold.CAMPAIGN_LIMIT and report.hold_detail == {"sent": 2, "limit": 2}
    assert (report.campaign_sent_today, report.campaign_limit) == (2, 2)


def test_a_campaign_sends_only_from_its_own_mailboxes(
    two: tuple[EngineContext, int, int], smtp_server: SmtpServer
) -> None:
    ctx, a, b = two
    with pytest.raises(UserInputError, match="No mailbox nobody@x.io"):
        campaign.change_setting(ctx, "mailboxes", "nobody@x.io", campaign_id=b)
    campaign.change_setting(ctx, "mailboxes", ctx.settings.email_address.upper(), campaign_id=b)
    leads.import_csv(ctx, _csv("bea@b.io"), campaign_id=b)
    campaign.run(ctx, b)
    assert _send(ctx) == 1
    assert smtp_server.messages[0].message["From"].addresses[0].addr_spec == (
        ctx.settings.email_address
    )


def test_campaigns_are_created_named_renamed_and_deleted(
    two: tuple[EngineContext, int, int],
) -> None:
    ctx, a, b = two
    with pytest.raises(UserInputError, match="already exists"):
        registry.create(ctx, ADMIN, "AGENCY")
    for bad in ("", "has space", "x" * 41, "émoji"):
        with pytest.raises(UserInputError, match="not a usable campaign name"):
            registry.create(ctx, ADMIN, bad)
    # The new campaign copied the creating admin's campaign's own values.
    c = registry.create(ctx, ADMIN, "copy-of-agency")
    assert campaign.settings_view(ctx, c.id)[0].value == "none"
    assert registry.rename(ctx, "Copy-Of-Agency", "agency_2") == ("copy-of-agency", "agency_2")
    assert registry.selected(ctx, ADMIN).name == "agency_2"

    leads.import_csv(ctx, _csv("z@z.io"), campaign_id=c.id)
    campaign.run(ctx, c.id)
    with pytest.raises(UserInputError, match="is running"):
        registry.preview_delete(ctx, "agency_2")
    campaign.pause(ctx, c.id)
    assert registry.preview_delete(ctx, "agency_2").leads == 1
    registry.delete_campaign(ctx, c.id)
    with ctx.db.transaction() as session:
        assert session.get(Campaign, c.id) is None
        assert session.scalar(select(Lead.id).where(Lead.email_key == "z@z.io")) is None
    # The admin's selection falls back to the first campaign; the first cannot be deleted.
    assert registry.selected(ctx, ADMIN).id == a
    with pytest.raises(UserInputError, match="first campaign"):
        registry.preview_delete(ctx, "default")


def test_the_selection_is_per_admin_and_survives_a_restart(
    two: tuple[EngineContext, int, int], clock: FakeClock
) -> None:
    ctx, a, b = two
    registry.select_for(ctx, ADMIN, "AGENCY")
    registry.select_for(ctx, 2002, "default")
    restarted = EngineContext(db=ctx.db, settings=ctx.settings, clock=clock)
    assert registry.selected(restarted, ADMIN).id == b
    assert registry.selected(restarted, 2002).id == a
    assert registry.selected(restarted, 3003).id == a  # never chose: the first campaign
    with pytest.raises(UserInputError, match="no campaign called 'nope'"):
        registry.select_for(restarted, ADMIN, "nope")
