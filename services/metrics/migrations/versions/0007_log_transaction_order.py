"""The event log records the transaction that appended each event.

Batches now append to the log before taking the projection lock, so concurrent transactions
interleave their sequence numbers. `/events` pages the log by (txid, seq), up to the oldest
transaction still running, so that no event ever appears behind a reader's cursor. Rows logged
before this revision get txid 0: they were committed in `seq` order.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "event_log",
        sa.Column("txid", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "event_log",
            "txid",
            server_default=sa.text("(pg_current_xact_id()::text::bigint)"),
        )
    op.create_index("ix_event_log_order", "event_log", ["txid", "seq"])


def downgrade() -> None:
    op.drop_index("ix_event_log_order", table_name="event_log")
    with op.batch_alter_table("event_log", schema=None) as batch_op:
        batch_op.drop_column("txid")
