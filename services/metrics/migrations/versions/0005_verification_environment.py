"""The environment of each VerificationPassed, so that a release counts as verified only in
its target environment.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BACKFILL_POSTGRESQL = """
UPDATE verifications SET environment = (
  SELECT event_log.data->>'environment' FROM event_log
  WHERE event_log.event_id = verifications.event_id)
"""
BACKFILL_SQLITE = """
UPDATE verifications SET environment = (
  SELECT json_extract(event_log.data, '$.environment') FROM event_log
  WHERE event_log.event_id = verifications.event_id)
"""


def upgrade() -> None:
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("environment", sa.Text(), nullable=True))
    # Verifications already projected take their environment from the logged event.
    dialect = op.get_bind().dialect.name
    op.execute(BACKFILL_POSTGRESQL if dialect == "postgresql" else BACKFILL_SQLITE)


def downgrade() -> None:
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_column("environment")
