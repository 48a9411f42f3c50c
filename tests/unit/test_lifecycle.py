"""Lead status transitions (engine/leads/lifecycle.py): pure functions of the lead row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.leads import lifecycle
from engine.states import LeadStatus
from engine.storage.models import QUEUE_FOLLOWUP, QUEUE_NEW, Lead

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _lead(status: LeadStatus = LeadStatus.PENDING, step: int = 0) -> Lead:
    return Lead(
        email="ana@acme.io",
        status=status,
        queue=QUEUE_NEW,
        next_send_at=NOW,
        next_step=step,
        followups_sent=max(0, step - 1),
    )


def test_a_sent_step_queues_the_next_one() -> None:
    lead = _lead()
    lifecycle.step_sent(lead, 0, NOW, NOW + timedelta(days=3))
    assert (lead.status, lead.queue, lead.next_send_at) == (
        LeadStatus.SENT,
        QUEUE_FOLLOWUP,
        NOW + timedelta(days=3),
    )
    assert (lead.next_step, lead.last_sent_at) == (1, NOW)


def test_the_last_step_completes_the_lead() -> None:
    lead = _lead(LeadStatus.SENT, step=2)
    lifecycle.step_sent(lead, 2, NOW, None)
    assert (lead.status, lead.queue, lead.next_send_at) == (LeadStatus.COMPLETED, None, None)
    assert (lead.next_step, lead.followups_sent) == (3, 2)


def test_a_sent_step_keeps_a_reply_that_came_first() -> None:
    lead = _lead(LeadStatus.REPLIED)
    lead.queue = None
    lifecycle.step_sent(lead, 0, NOW, NOW + timedelta(days=3))
    assert (lead.status, lead.queue) == (LeadStatus.REPLIED, None)


@pytest.mark.parametrize(
    ("whole_domain", "status"), [(False, LeadStatus.UNSUBSCRIBED), (True, LeadStatus.STOPPED)]
)
def test_a_suppressed_lead_leaves_the_queue(whole_domain: bool, status: LeadStatus) -> None:
    lead = _lead()
    lifecycle.suppressed(lead, whole_domain=whole_domain, why="suppressed: x")
    assert (lead.status, lead.queue, lead.next_send_at, lead.last_error) == (
        status,
        None,
        None,
        "suppressed: x",
    )


def test_a_refusal_at_rcpt_bounces_and_can_be_undone() -> None:
    lead = _lead(LeadStatus.SENT)
    before = lifecycle.rejected_at_rcpt(lead, "550 5.1.1 no such user")
    assert (lead.status, lead.queue, lead.last_error) == (
        LeadStatus.BOUNCED,
        None,
        "550 5.1.1 no such user",
    )
    lifecycle.restore(lead, before)
    assert (lead.status, lead.last_error) == (LeadStatus.SENT, None)


def test_an_unusable_address_fails_the_lead() -> None:
    lead = _lead()
    lifecycle.failed(lead, "x" * 900)
    assert (lead.status, lead.queue, lead.next_send_at) == (LeadStatus.FAILED, None, None)
    assert len(lead.last_error) == 500


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (LeadStatus.PENDING, LeadStatus.STOPPED),
        (LeadStatus.SENT, LeadStatus.STOPPED),
        (LeadStatus.REPLIED, LeadStatus.REPLIED),
        (LeadStatus.BOUNCED, LeadStatus.BOUNCED),
    ],
)
def test_stopping_keeps_a_final_status(before: LeadStatus, after: LeadStatus) -> None:
    lead = _lead(before)
    lifecycle.stopped(lead)
    assert (lead.status, lead.queue, lead.next_send_at) == (after, None, None)


def test_a_restarted_lead_starts_a_new_thread_in_the_new_leads_queue() -> None:
    lead = _lead(LeadStatus.SENT, step=2)
    lead.mailbox_id, lead.first_subject, lead.queue = 3, "Hello Ana", QUEUE_FOLLOWUP
    lifecycle.restarted(lead, NOW)
    assert (lead.status, lead.next_step, lead.followups_sent) == (LeadStatus.PENDING, 0, 0)
    assert (lead.mailbox_id, lead.first_subject) == (None, None)
    assert (lead.queue, lead.next_send_at) == (QUEUE_NEW, NOW)
