"""The metrics service's app: routes, subscriptions and background tasks."""

from fastapi import FastAPI

from flightdeck.kit.app import ServiceSpec, create_service_app
from flightdeck.metrics.api.routes import router
from flightdeck.metrics.messaging.subscriptions import subscriptions
from flightdeck.metrics.settings import MetricsSettings

SPEC = ServiceSpec(
    name="metrics",
    title="Flightdeck metrics",
    description="The event log and its projections: DORA, value stream and failure rates.",
    routers=[router],
    subscriptions=subscriptions,
)


def create_app(settings: MetricsSettings | None = None) -> FastAPI:
    """The ASGI app (`uvicorn --factory flightdeck.metrics.app:create_app`)."""
    return create_service_app(SPEC, settings or MetricsSettings())
