"""IMAP UIDVALIDITY and UIDs as BIGINT

They are unsigned 32-bit numbers (RFC 3501); PostgreSQL's INTEGER is signed and refuses values
above 2**31 - 1, which servers that pick UIDVALIDITY at random (or from the clock after 2038) use.
SQLite's INTEGER already holds 64 bits, so only PostgreSQL changes.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (("imap_sync", "uidvalidity"), ("imap_sync", "last_uid"), ("inbound_messages", "uid"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
