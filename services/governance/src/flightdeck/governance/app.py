"""The governance service's app: routes, subscriptions and background tasks."""

from fastapi import FastAPI

from flightdeck.governance.api import errors
from flightdeck.governance.api.routes import routers
from flightdeck.governance.db.uow import GovernanceUnitOfWork
from flightdeck.governance.messaging.subscriptions import subscriptions
from flightdeck.governance.service.scheduler import close_changes, deliver_webhooks, seed_policy
from flightdeck.governance.settings import GovernanceSettings
from flightdeck.kit.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="governance",
    title="Flightdeck governance",
    description=(
        "Change requests, classification and risk, CAB approvals, escalations, conflicts, "
        "audit trail and ITSM mirror."
    ),
    routers=routers,
    subscriptions=subscriptions,
    uow_class=GovernanceUnitOfWork,
    background=[deliver_webhooks, close_changes],
    on_startup=[seed_policy],
)


def create_app(settings: GovernanceSettings | None = None) -> FastAPI:
    """The ASGI app (`uvicorn --factory flightdeck.governance.app:create_app`)."""
    app = create_service_app(SPEC, settings or GovernanceSettings())
    errors.install(app)
    return app
