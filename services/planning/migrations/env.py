"""Alembic environment of the planning service."""

from flightdeck.kit.migrations import run_migrations
from flightdeck.planning.db.tables import metadata

run_migrations([metadata])
