"""The planning service's app: routes, subscriptions and background tasks."""

from fastapi import FastAPI

from flightdeck.kit.app import ServiceSpec, create_service_app
from flightdeck.planning.api.routes import router
from flightdeck.planning.db.uow import PlanningUnitOfWork
from flightdeck.planning.messaging.subscriptions import subscriptions
from flightdeck.planning.settings import PlanningSettings

SPEC = ServiceSpec(
    name="planning",
    title="Flightdeck planning",
    description=(
        "Releases, scope, readiness sign-offs, business calendar, feature toggles, "
        "release notes and runbooks."
    ),
    routers=[router],
    subscriptions=subscriptions,
    uow_class=PlanningUnitOfWork,
)


def create_app(settings: PlanningSettings | None = None) -> FastAPI:
    """The ASGI app (`uvicorn --factory flightdeck.planning.app:create_app`)."""
    return create_service_app(SPEC, settings or PlanningSettings())
