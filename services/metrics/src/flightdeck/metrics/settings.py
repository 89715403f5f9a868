"""Settings of the metrics service (environment prefix `FLIGHTDECK_METRICS_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from flightdeck.events.kafka import KafkaSettings
from flightdeck.kit.settings import ServiceSettings


class MetricsSettings(ServiceSettings):
    """Configuration of the metrics service."""

    model_config = SettingsConfigDict(env_prefix="FLIGHTDECK_METRICS_", extra="ignore")

    service_name: ClassVar[str] = "metrics"
    default_port: ClassVar[int] = 8106

    kafka_max_poll_records: int = 2000
    """Records fetched at once: all of them (every partition's) are logged and projected in
    one transaction, so larger batches spread the per-batch statements over more events. Past
    a few thousand, PostgreSQL starts choosing whole-table plans for the refresh statements
    (measured on 1M events: 5,000 is slower than 2,000)."""

    def kafka(self) -> KafkaSettings:
        """The shared Kafka settings, with this service's fetch size."""
        return super().kafka().model_copy(update={"max_poll_records": self.kafka_max_poll_records})
