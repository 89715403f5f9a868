"""Flightdeck metrics: the event log and its projections: DORA, value stream and failure rates."""

from flightdeck.kit.migrations import service_root

SERVICE_DIR = service_root(__file__)
"""`services/metrics/`: holds `alembic.ini` and `migrations/`."""
