"""The metrics service's app: routes, subscriptions and background tasks."""

from fastapi import FastAPI

from flightdeck.events.topics import PUBLISHERS, events_topic
from flightdeck.kit.app import ServiceSpec, create_service_app
from flightdeck.metrics.api.routes import router
from flightdeck.metrics.messaging.subscriptions import ingest_batches
from flightdeck.metrics.settings import MetricsSettings

SPEC = ServiceSpec(
    name="metrics",
    title="Flightdeck metrics",
    description="The event log and its projections: DORA, value stream and failure rates.",
    routers=[router],
    extra_topics=[events_topic(producer) for producer in PUBLISHERS],
    batch_handler=ingest_batches,
    batches_in_flight=2,
    keep_unknown_types=True,
)


def create_app(settings: MetricsSettings | None = None) -> FastAPI:
    """The ASGI app (`uvicorn --factory flightdeck.metrics.app:create_app`)."""
    return create_service_app(SPEC, settings or MetricsSettings())
