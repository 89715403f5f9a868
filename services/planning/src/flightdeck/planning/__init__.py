"""Flightdeck planning.

Releases, scope, readiness sign-offs, business calendar, feature toggles, release notes and
runbooks.
"""

from flightdeck.kit.migrations import service_root

SERVICE_DIR = service_root(__file__)
"""`services/planning/`: holds `alembic.ini` and `migrations/`."""
