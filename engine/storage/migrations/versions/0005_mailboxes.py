"""Mailboxes: many sending accounts, each with its own pacing, cap, inbox mark and alerts

The mailbox configured in the environment becomes mailbox 1 (``source = 'env'``): its pacing
row (``mailbox_state`` id 1) already exists, and every lead that has a thread, every outbound
and inbound message, and the inbox mark belong to it. Leads never written to get no mailbox:
the first email picks one (rotation), and from then on the lead stays with it.

``imap_sync`` (key: folder) becomes ``imap_marks`` (key: mailbox, folder). ``alerts`` gains a
``scope`` in its key (``''`` for the whole service, ``mailbox:N`` for one mailbox), so one
mailbox's alert neither hides nor clears another's.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from engine.storage.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailboxes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False, unique=True),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("password_enc", sa.Text(), nullable=True),
        sa.Column("smtp_server", sa.String(255), nullable=True),
        sa.Column("smtp_port", sa.Integer(), nullable=True),
        sa.Column("smtp_security", sa.String(10), nullable=True),
        sa.Column("imap_server", sa.String(255), nullable=True),
        sa.Column("imap_port", sa.Integer(), nullable=True),
        sa.Column("imap_security", sa.String(10), nullable=True),
        sa.Column("daily_limit", sa.Integer(), nullable=True),
        sa.Column("sender_name", sa.String(100), nullable=True),
        sa.Column("ramp_up", sa.String(20), nullable=True),
        sa.Column("ramp_started_at", UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("hold", sa.String(20), nullable=True),
        sa.Column("hold_detail", sa.Text(), nullable=False, server_default=""),
        sa.Column("last_check_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    # Mailbox 1 stands for the environment's account; its address is filled in at start (the
    # migration cannot read the environment), so the placeholder is never shown.
    first_sent = sa.text(
        "(SELECT MIN(attempted_at) FROM outbound_messages WHERE state IN "
        "('sent', 'sending', 'uncertain'))"
    )
    op.execute(
        sa.text(
            "INSERT INTO mailboxes (id, email, email_key, source, state, hold_detail,"
            " ramp_started_at, created_at, updated_at) VALUES (1, '', '', 'env', 'active', '',"
            f" {first_sent.text}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
    )
    if op.get_bind().dialect.name == "postgresql":  # id 1 was given: the next one is 2
        op.execute("SELECT setval(pg_get_serial_sequence('mailboxes', 'id'), 1)")

    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("mailbox_id", sa.Integer(), nullable=True))
        batch.create_index("ix_leads_mailbox_queue_due", ["queue", "mailbox_id", "next_send_at"])
    op.execute(
        "UPDATE leads SET mailbox_id = 1 WHERE id IN "
        "(SELECT lead_id FROM outbound_messages WHERE lead_id IS NOT NULL)"
    )
    # A lead waiting for its first email has no thread yet, whatever it was sent before.
    op.execute("UPDATE leads SET mailbox_id = NULL WHERE queue = 2 AND next_step = 0")
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("mailbox_id", sa.Integer(), nullable=True))
        batch.create_index("ix_outbound_mailbox_attempted", ["mailbox_id", "attempted_at"])
        # A mailbox's queued answers and retries: without it SQLite's planner walks the
        # mailbox's whole history (measured: 10 ms per pick at 300k leads over 50 mailboxes).
        batch.create_index("ix_outbound_state_mailbox", ["state", "mailbox_id", "not_before"])
    op.execute("UPDATE outbound_messages SET mailbox_id = 1")
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("mailbox_id", sa.Integer(), nullable=True))
    op.execute("UPDATE inbound_messages SET mailbox_id = 1")

    op.create_table(
        "imap_marks",
        sa.Column("mailbox_id", sa.Integer(), primary_key=True),
        sa.Column("folder", sa.String(255), primary_key=True),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.execute(
        "INSERT INTO imap_marks (mailbox_id, folder, uidvalidity, last_uid, updated_at)"
        " SELECT 1, folder, uidvalidity, last_uid, updated_at FROM imap_sync"
    )
    op.drop_table("imap_sync")

    op.create_table(
        "alerts_scoped",
        sa.Column("condition", sa.String(50), primary_key=True),
        sa.Column("scope", sa.String(50), primary_key=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.execute(
        "INSERT INTO alerts_scoped (condition, scope, active, detail, count, since, updated_at)"
        " SELECT condition, '', active, detail, count, since, updated_at FROM alerts"
    )
    op.drop_table("alerts")
    op.rename_table("alerts_scoped", "alerts")


def downgrade() -> None:
    op.create_table(
        "alerts_flat",
        sa.Column("condition", sa.String(50), primary_key=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.execute(
        "INSERT INTO alerts_flat (condition, active, detail, count, since, updated_at)"
        " SELECT condition, active, detail, count, since, updated_at FROM alerts"
        " WHERE scope = ''"
    )
    op.drop_table("alerts")
    op.rename_table("alerts_flat", "alerts")

    op.create_table(
        "imap_sync",
        sa.Column("folder", sa.String(255), primary_key=True),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.execute(
        "INSERT INTO imap_sync (folder, uidvalidity, last_uid, updated_at)"
        " SELECT folder, uidvalidity, last_uid, updated_at FROM imap_marks WHERE mailbox_id = 1"
    )
    op.drop_table("imap_marks")
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("mailbox_id")
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_index("ix_outbound_state_mailbox")
        batch.drop_index("ix_outbound_mailbox_attempted")
        batch.drop_column("mailbox_id")
    with op.batch_alter_table("leads") as batch:
        batch.drop_index("ix_leads_mailbox_queue_due")
        batch.drop_column("mailbox_id")
    op.drop_table("mailboxes")
