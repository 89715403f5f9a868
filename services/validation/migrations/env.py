"""Alembic environment of the validation service."""

from flightdeck.kit.migrations import run_migrations
from flightdeck.validation.db.tables import metadata

run_migrations([metadata])
