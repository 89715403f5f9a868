"""Lighter indexes for ingest: the event log's time index becomes BRIN on PostgreSQL (events
arrive roughly in time order), and the deployments' per-day index goes (day lookups use the
service's time index as ranges).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_index("ix_deployments_day")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_event_log_time", table_name="event_log")
        op.create_index("ix_event_log_time", "event_log", ["time"], postgresql_using="brin")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_event_log_time", table_name="event_log")
        op.create_index("ix_event_log_time", "event_log", ["time"])
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index("ix_deployments_day", ["service", "finished_day"], unique=False)
