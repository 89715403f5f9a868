"""W3C trace context for events: the `ce_traceparent` a new event carries, and the span a
consumer opens under the traceparent it received."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
tracer = trace.get_tracer("flightdeck.events")


def active_traceparent() -> str | None:
    """The traceparent of the active span, if there is one."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def new_traceparent() -> str:
    """The traceparent of a fresh trace."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id inside a traceparent header value."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) >= 4 and len(parts[1]) == 32 else None


@contextmanager
def consumer_span(name: str, traceparent: str | None, **attributes: Any) -> Iterator[None]:
    """A consumer span continuing the producer's trace."""
    context = _propagator.extract({"traceparent": traceparent} if traceparent else {})
    with tracer.start_as_current_span(
        name, context=context, kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield


@contextmanager
def producer_span(name: str, **attributes: Any) -> Iterator[None]:
    """A producer span around publishing a batch."""
    with tracer.start_as_current_span(name, kind=SpanKind.PRODUCER, attributes=attributes):
        yield
