"""Alembic environment of the governance service."""

from flightdeck.governance.db.tables import metadata
from flightdeck.kit.migrations import run_migrations

run_migrations([metadata])
