"""Settings of the executor service (environment prefix `FLIGHTDECK_EXECUTOR_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from flightdeck.kit.settings import ServiceSettings


class ExecutorSettings(ServiceSettings):
    """Configuration of the executor service."""

    model_config = SettingsConfigDict(env_prefix="FLIGHTDECK_EXECUTOR_", extra="ignore")

    service_name: ClassVar[str] = "executor"
    default_port: ClassVar[int] = 8104
