"""A lead's steps are unique per mailbox: a lead whose mailbox was removed may start again from
another mailbox, as a new thread, while the old thread's rows stay for its history

``outbound_messages`` was unique on (lead, step); it becomes unique on (lead, mailbox, step).
Within one mailbox a step still goes at most once; a restarted lead's new initial email is a
new row next to the old one. The calendar answer (step 100, queued before a mailbox takes it)
stays at most one per lead, by a partial unique index.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

CALENDAR_STEP = 100  # engine.storage.models.CALENDAR_STEP when this was written

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_constraint("uq_outbound_lead_step", type_="unique")
        batch.create_unique_constraint(
            "uq_outbound_lead_mailbox_step", ["lead_id", "mailbox_id", "step"]
        )
    calendar = sa.text(f"step = {CALENDAR_STEP}")
    op.create_index(
        "uq_outbound_lead_calendar",
        "outbound_messages",
        ["lead_id"],
        unique=True,
        sqlite_where=calendar,
        postgresql_where=calendar,
    )


def downgrade() -> None:
    # Fails while a restarted lead has two rows for one step: those threads cannot be told
    # apart by revision 0005.
    op.drop_index("uq_outbound_lead_calendar", table_name="outbound_messages")
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_constraint("uq_outbound_lead_mailbox_step", type_="unique")
        batch.create_unique_constraint("uq_outbound_lead_step", ["lead_id", "step"])
