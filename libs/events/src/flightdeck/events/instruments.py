"""Prometheus figures of the relay and the consumer runner (each service registers its own)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class RelayMetrics:
    """Prometheus figures of one relay."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.published = Counter(
            "flightdeck_outbox_published_total", "Outbox events published", registry=registry
        )
        self.failures = Counter(
            "flightdeck_outbox_publish_failures_total",
            "Outbox batches that failed to publish",
            registry=registry,
        )
        self.quarantined = Counter(
            "flightdeck_outbox_quarantined_total",
            "Outbox events the broker refused for good (see the outbox table's error column)",
            registry=registry,
        )
        self.pending = Gauge(
            "flightdeck_outbox_pending", "Outbox events not yet published", registry=registry
        )


class ConsumerMetrics:
    """Prometheus figures of one runner."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        def counter(name: str, text: str) -> Counter:
            return Counter(f"flightdeck_consumer_{name}_total", text, ["topic"], registry=registry)

        self.handled = counter("handled", "Events handled")
        self.skipped = counter("skipped", "Records skipped (unknown or unsubscribed types)")
        self.retries = counter("retries", "Handler retries")
        self.dead_lettered = counter("dead_lettered", "Records sent to the dead-letter topic")
        self.lag = Gauge(
            "flightdeck_consumer_lag",
            "High-water mark of fetched records minus committed offset",
            ["topic", "partition"],
            registry=registry,
        )
        self.restarts = Counter(
            "flightdeck_consumer_restarts_total", "Consumers re-created", registry=registry
        )
