"""The inbox in the chat (part 8): answers written in Telegram are drafts with a state
(``answer_drafts``); a human reply keeps its whole new text, the thread it cites and its intent
label; a lead keeps an out-of-office return date and who referred it. Existing replies keep
their snippet as their text (all a reply stored before) and have no label.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from engine.storage.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as t:
        t.add_column(sa.Column("away_until", sa.Date(), nullable=True))
        t.add_column(sa.Column("referred_by", sa.String(320), nullable=True))
    with op.batch_alter_table("inbound_messages") as t:
        t.add_column(sa.Column("body_text", sa.Text(), nullable=False, server_default=""))
        t.add_column(sa.Column("thread_refs", sa.Text(), nullable=True))
        t.add_column(sa.Column("label", sa.String(20), nullable=True))
        t.add_column(sa.Column("label_by", sa.BigInteger(), nullable=True))
    op.execute("UPDATE inbound_messages SET body_text = snippet WHERE kind = 'human'")
    op.create_table(
        "answer_drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "lead_id", sa.Integer(), sa.ForeignKey("leads.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "inbound_id",
            sa.Integer(),
            sa.ForeignKey("inbound_messages.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("admin_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("preview_message_id", sa.BigInteger(), nullable=True),
        sa.Column("outbound_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_answer_drafts_admin_state", "answer_drafts", ["admin_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_answer_drafts_admin_state", table_name="answer_drafts")
    op.drop_table("answer_drafts")
    with op.batch_alter_table("inbound_messages") as t:
        t.drop_column("label_by")
        t.drop_column("label")
        t.drop_column("thread_refs")
        t.drop_column("body_text")
    with op.batch_alter_table("leads") as t:
        t.drop_column("referred_by")
        t.drop_column("away_until")
