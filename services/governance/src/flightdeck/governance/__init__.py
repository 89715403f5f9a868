"""Flightdeck governance.

Change requests, classification and risk, CAB approvals, escalations, conflicts, audit trail
and ITSM mirror.
"""

from flightdeck.kit.migrations import service_root

SERVICE_DIR = service_root(__file__)
"""`services/governance/`: holds `alembic.ini` and `migrations/`."""
