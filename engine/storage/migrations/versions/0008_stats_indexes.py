"""Indexes for /stats: each of its figures read from an index

/stats counts a campaign's emails per step, variant, state and kind, its emails per local day,
and its answers per step, variant, kind and lead. With 1,000,000 leads (1.35M emails) the
indexes 0007 made for them ((campaign, step, variant), (campaign, attempted_at) and the same for
inbound messages) still sent every row to the table: ~7.7 s for /stats on SQLite. These carry
the columns the counts need, so they are answered from the index alone (``bench/stats.py``,
bench/RESULTS.md "Part 7: /stats at 1M leads"):

- outbound (campaign, step, variant, state, kind) replaces (campaign, step, variant);
- outbound (campaign, attempted_at, state, kind) replaces (campaign, attempted_at); the
  campaign's own daily cap is counted from it too;
- outbound (campaign, step, variant) of the failed emails only: the recipients refused at RCPT;
- inbound (campaign, step, variant, kind, lead) replaces (campaign, step, variant);
- inbound (campaign, step, variant, lead) of the hard-bounce reports only;
- leads (campaign, interest) of the marked leads only: the positive replies start from them.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The same texts as engine.storage.models' FAILED_EMAIL, HARD_BOUNCE_REPORT and MARKED_LEAD
# (which the queries use), as they were when this revision was written.
FAILED = sa.text("state = 'failed'")
HARD_BOUNCE = sa.text("kind = 'bounce' AND reason LIKE 'hard bounce%'")
MARKED = sa.text("interest IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_outbound_campaign_step", table_name="outbound_messages")
    op.create_index(
        "ix_outbound_campaign_counts",
        "outbound_messages",
        ["campaign_id", "step", "variant", "state", "kind"],
    )
    op.drop_index("ix_outbound_campaign_attempted", table_name="outbound_messages")
    op.create_index(
        "ix_outbound_campaign_day",
        "outbound_messages",
        ["campaign_id", "attempted_at", "state", "kind"],
    )
    op.create_index(
        "ix_outbound_campaign_failed",
        "outbound_messages",
        ["campaign_id", "step", "variant"],
        sqlite_where=FAILED,
        postgresql_where=FAILED,
    )
    op.drop_index("ix_inbound_campaign", table_name="inbound_messages")
    op.create_index(
        "ix_inbound_campaign_answers",
        "inbound_messages",
        ["campaign_id", "step", "variant", "kind", "lead_id"],
    )
    op.create_index(
        "ix_inbound_hard_bounces",
        "inbound_messages",
        ["campaign_id", "step", "variant", "lead_id"],
        sqlite_where=HARD_BOUNCE,
        postgresql_where=HARD_BOUNCE,
    )
    op.create_index(
        "ix_leads_campaign_interest",
        "leads",
        ["campaign_id", "interest"],
        sqlite_where=MARKED,
        postgresql_where=MARKED,
    )


def downgrade() -> None:
    op.drop_index("ix_leads_campaign_interest", table_name="leads")
    op.drop_index("ix_inbound_hard_bounces", table_name="inbound_messages")
    op.drop_index("ix_inbound_campaign_answers", table_name="inbound_messages")
    op.create_index("ix_inbound_campaign", "inbound_messages", ["campaign_id", "step", "variant"])
    op.drop_index("ix_outbound_campaign_failed", table_name="outbound_messages")
    op.drop_index("ix_outbound_campaign_day", table_name="outbound_messages")
    op.create_index(
        "ix_outbound_campaign_attempted", "outbound_messages", ["campaign_id", "attempted_at"]
    )
    op.drop_index("ix_outbound_campaign_counts", table_name="outbound_messages")
    op.create_index(
        "ix_outbound_campaign_step", "outbound_messages", ["campaign_id", "step", "variant"]
    )
