"""The validation service's app: routes, subscriptions and background tasks."""

from fastapi import FastAPI

from flightdeck.kit.app import ServiceSpec, create_service_app
from flightdeck.validation.api.routes import router
from flightdeck.validation.messaging.subscriptions import subscriptions
from flightdeck.validation.settings import ValidationSettings

SPEC = ServiceSpec(
    name="validation",
    title="Flightdeck validation",
    description=(
        "Quality gates, post-deployment verification, signals, SLOs and error budgets, "
        "incidents and anomalies."
    ),
    routers=[router],
    subscriptions=subscriptions,
)


def create_app(settings: ValidationSettings | None = None) -> FastAPI:
    """The ASGI app (`uvicorn --factory flightdeck.validation.app:create_app`)."""
    return create_service_app(SPEC, settings or ValidationSettings())
