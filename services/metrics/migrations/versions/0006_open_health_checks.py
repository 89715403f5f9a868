"""An index of the health checks still open, per service and environment.

The refresh looks for them around every touched span. PostgreSQL estimated their number from
two independent columns (a third of failures have no recovery time, the rollbacks; two thirds
are health checks) at about a quarter of all failures, where a handful are open, and read the
whole table for them in every batch; this index holds only the open ones.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OPEN = "kind = 'health_check' AND recovered_us IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_failures_open",
        "failures",
        ["service", "environment"],
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_failures_open", table_name="failures")
