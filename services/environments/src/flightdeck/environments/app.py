"""The environments service's app: routes, subscriptions and background tasks."""

from fastapi import FastAPI

from flightdeck.environments.api.routes import router
from flightdeck.environments.messaging.subscriptions import subscriptions
from flightdeck.environments.settings import EnvironmentsSettings
from flightdeck.kit.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="environments",
    title="Flightdeck environments",
    description=(
        "Environment registry, desired and observed configuration, reservations, TTL "
        "cleanup, masking and network rules."
    ),
    routers=[router],
    subscriptions=subscriptions,
)


def create_app(settings: EnvironmentsSettings | None = None) -> FastAPI:
    """The ASGI app (`uvicorn --factory flightdeck.environments.app:create_app`)."""
    return create_service_app(SPEC, settings or EnvironmentsSettings())
