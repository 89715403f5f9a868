"""Flightdeck validation.

Quality gates, post-deployment verification, signals, SLOs and error budgets, incidents and
anomalies.
"""

from flightdeck.kit.migrations import service_root

SERVICE_DIR = service_root(__file__)
"""`services/validation/`: holds `alembic.ini` and `migrations/`."""
