"""The executor service's app: routes, subscriptions and background tasks."""

from fastapi import FastAPI

from flightdeck.executor.api.routes import router
from flightdeck.executor.messaging.subscriptions import subscriptions
from flightdeck.executor.settings import ExecutorSettings
from flightdeck.kit.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="executor",
    title="Flightdeck executor",
    description=(
        "Deployment windows, queues and locks, checklists, rollout strategies, drivers "
        "and CI webhook ingestion."
    ),
    routers=[router],
    subscriptions=subscriptions,
)


def create_app(settings: ExecutorSettings | None = None) -> FastAPI:
    """The ASGI app (`uvicorn --factory flightdeck.executor.app:create_app`)."""
    return create_service_app(SPEC, settings or ExecutorSettings())
