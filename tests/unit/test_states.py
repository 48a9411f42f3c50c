"""The typed states: no two enums share a value unless listed here on purpose."""

from __future__ import annotations

from itertools import combinations

from engine import states

ENUMS = [
    states.LeadStatus,
    states.OutboundState,
    states.MessageKind,
    states.CampaignState,
    states.AlertCondition,
    states.NoticeKind,
    states.InboundKind,
    states.Hold,
    states.BlockReason,
    states.CalendarMode,
]
# Values two columns share because they name the same idea in each.
SHARED_ON_PURPOSE = {
    ("LeadStatus", "OutboundState"): {"sent", "failed"},
    ("LeadStatus", "CampaignState"): {"stopped"},
    ("OutboundState", "AlertCondition"): {"uncertain"},
    ("LeadStatus", "NoticeKind"): set(),
    ("AlertCondition", "NoticeKind"): set(),
    # An inbound message recorded as a bounce / opt-out / unverified is what the notice is about.
    ("NoticeKind", "InboundKind"): {"bounce", "opt_out", "unverified"},
    # The account is on hold for the reason the alert is about.
    ("AlertCondition", "BlockReason"): {"too_many_logins", "quota"},
}


def test_no_two_enums_share_a_value_by_accident() -> None:
    for a, b in combinations(ENUMS, 2):
        shared = {m.value for m in a} & {m.value for m in b}
        allowed = SHARED_ON_PURPOSE.get((a.__name__, b.__name__), set())
        assert shared <= allowed, f"{a.__name__} and {b.__name__} share {shared - allowed}"


def test_every_job_condition_is_named() -> None:
    for job in ("send", "midnight", "outbox", "maintenance"):
        assert states.AlertCondition.for_job(job).value == f"job:{job}"
