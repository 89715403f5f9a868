"""Alembic environment of the executor service."""

from flightdeck.executor.db.tables import metadata
from flightdeck.kit.migrations import run_migrations

run_migrations([metadata])
