"""Room for case-folded titles: `items.title_key` holds three times a title's length
(case folding may expand a character to three, "ß" to "ss", "ΐ" to three).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.alter_column(
            "title_key", type_=sa.String(600), existing_type=sa.String(200), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.alter_column(
            "title_key", type_=sa.String(200), existing_type=sa.String(600), existing_nullable=False
        )
