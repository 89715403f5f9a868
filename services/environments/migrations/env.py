"""Alembic environment of the environments service."""

from flightdeck.environments.db.tables import metadata
from flightdeck.kit.migrations import run_migrations

run_migrations([metadata])
