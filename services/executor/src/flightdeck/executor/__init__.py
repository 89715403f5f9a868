"""Flightdeck executor.

Deployment windows, queues and locks, checklists, rollout strategies, drivers and CI webhook
ingestion.
"""

from flightdeck.kit.migrations import service_root

SERVICE_DIR = service_root(__file__)
"""`services/executor/`: holds `alembic.ini` and `migrations/`."""
