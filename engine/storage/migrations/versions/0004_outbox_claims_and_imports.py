"""Outbox claims and an imports ledger

A notification row is claimed (owner + expiry, committed) before the Telegram call, so two
deliveries never send the same row and a crashed claimant's rows are retried after the claim
expires. ``imports`` records every CSV import when it starts, so one killed mid-way is reported
on the next start instead of showing "Importing…" for ever.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from engine.storage.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claim_owner", sa.String(100), nullable=True))
        batch.add_column(sa.Column("claim_expires_at", UTCDateTime(), nullable=True))
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
    )
    op.create_index("ix_imports_unfinished", "imports", ["finished_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_imports_unfinished", table_name="imports")
    op.drop_table("imports")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claim_expires_at")
        batch.drop_column("claim_owner")
