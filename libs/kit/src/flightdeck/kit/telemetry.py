"""OpenTelemetry: a tracer provider per process, exporting over OTLP/HTTP when configured."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

log = logging.getLogger(__name__)
_configured = False


def configure(service: str, otlp_endpoint: str | None) -> None:
    """Install the process-wide tracer provider once; traces leave only with an endpoint."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"flightdeck-{service}"}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
        log.info("exporting traces to %s", otlp_endpoint)
    trace.set_tracer_provider(provider)
    _configured = True


def instrument(app: FastAPI) -> None:
    """Server spans for every request."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # excluded_urls are regular expressions searched in the URL: anchor them to the path.
    excluded = r"^https?://[^/]+/(healthz|readyz|metrics)$"
    FastAPIInstrumentor.instrument_app(app, excluded_urls=excluded)


def shutdown() -> None:
    """Flush spans still buffered."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(2000)
