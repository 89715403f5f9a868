"""Settings of the metrics service (environment prefix `FLIGHTDECK_METRICS_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from flightdeck.kit.settings import ServiceSettings


class MetricsSettings(ServiceSettings):
    """Configuration of the metrics service."""

    model_config = SettingsConfigDict(env_prefix="FLIGHTDECK_METRICS_", extra="ignore")

    service_name: ClassVar[str] = "metrics"
    default_port: ClassVar[int] = 8106
