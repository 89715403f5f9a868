"""Flightdeck environments.

Environment registry, desired and observed configuration, reservations, TTL cleanup, masking
and network rules.
"""

from flightdeck.kit.migrations import service_root

SERVICE_DIR = service_root(__file__)
"""`services/environments/`: holds `alembic.ini` and `migrations/`."""
