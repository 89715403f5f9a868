"""The governance service's app: routes, subscriptions and background tasks."""

from fastapi import FastAPI

from flightdeck.governance.api.routes import router
from flightdeck.governance.messaging.subscriptions import subscriptions
from flightdeck.governance.settings import GovernanceSettings
from flightdeck.kit.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="governance",
    title="Flightdeck governance",
    description=(
        "Change requests, classification and risk, CAB approvals, escalations, conflicts, "
        "audit trail and ITSM mirror."
    ),
    routers=[router],
    subscriptions=subscriptions,
)


def create_app(settings: GovernanceSettings | None = None) -> FastAPI:
    """The ASGI app (`uvicorn --factory flightdeck.governance.app:create_app`)."""
    return create_service_app(SPEC, settings or GovernanceSettings())
