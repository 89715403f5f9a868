"""Topic names: `flightdeck.<service>.events` and `flightdeck.<consumer>.dlq`."""

from dataclasses import dataclass

SERVICES = ("planning", "governance", "environments", "executor", "validation", "metrics")
PUBLISHERS = ("planning", "governance", "environments", "executor", "validation")


def events_topic(service: str) -> str:
    """The topic a service publishes its domain events on."""
    return f"flightdeck.{service}.events"


def dlq_topic(consumer: str) -> str:
    """The dead-letter topic of one consumer group."""
    return f"flightdeck.{consumer}.dlq"


def retry_topic(consumer: str) -> str:
    """Where one consumer group's dead letters are replayed, so other groups see no copies."""
    return f"flightdeck.{consumer}.retry"


@dataclass(frozen=True, slots=True)
class Topics:
    """Maps logical topic (and consumer group) names to the broker's, with an optional
    namespace prefix, so several Flightdeck installations (or test runs) share one cluster.
    """

    prefix: str = ""

    def physical(self, logical: str) -> str:
        """The name on the broker."""
        return f"{self.prefix}{logical}"

    def logical(self, physical: str) -> str:
        """The name without the prefix."""
        return physical.removeprefix(self.prefix)

    def events(self, service: str) -> str:
        """The broker name of a service's event topic."""
        return self.physical(events_topic(service))

    def dlq(self, consumer: str) -> str:
        """The broker name of a consumer's dead-letter topic."""
        return self.physical(dlq_topic(consumer))

    def retry(self, consumer: str) -> str:
        """The broker name of a consumer's replay topic."""
        return self.physical(retry_topic(consumer))

    def all_topics(self) -> list[str]:
        """Every topic Flightdeck uses: event topics, and each consumer's DLQ and retry topic."""
        per_consumer = [t for s in SERVICES for t in (self.dlq(s), self.retry(s))]
        return [self.events(s) for s in PUBLISHERS] + per_consumer
