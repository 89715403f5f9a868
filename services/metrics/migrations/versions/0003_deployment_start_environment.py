"""The environment of each DeploymentStarted, so that a release's deployment milestones count
only its deployments to the release's target environment.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BACKFILL_POSTGRESQL = """
UPDATE deployment_starts SET environment = (
  SELECT event_log.data->>'environment' FROM event_log
  WHERE event_log.event_id = deployment_starts.event_id)
"""
BACKFILL_SQLITE = """
UPDATE deployment_starts SET environment = (
  SELECT json_extract(event_log.data, '$.environment') FROM event_log
  WHERE event_log.event_id = deployment_starts.event_id)
"""


def upgrade() -> None:
    with op.batch_alter_table("deployment_starts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("environment", sa.Text(), nullable=True))
    # Starts already projected take their environment from the logged event.
    dialect = op.get_bind().dialect.name
    op.execute(BACKFILL_POSTGRESQL if dialect == "postgresql" else BACKFILL_SQLITE)


def downgrade() -> None:
    with op.batch_alter_table("deployment_starts", schema=None) as batch_op:
        batch_op.drop_column("environment")
