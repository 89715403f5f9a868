"""Alembic environment of the metrics service."""

from flightdeck.kit.migrations import run_migrations
from flightdeck.metrics.db.tables import metadata

run_migrations([metadata])
