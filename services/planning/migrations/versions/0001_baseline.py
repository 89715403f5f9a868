"""Baseline of the planning database: outbox, inbox, idempotency keys, leases.

Revision ID: 0001
Revises:
"""

from flightdeck.kit.migrations import platform_v1_downgrade, platform_v1_upgrade

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    platform_v1_upgrade()


def downgrade() -> None:
    platform_v1_downgrade()
