"""Settings of the environments service (environment prefix `FLIGHTDECK_ENVIRONMENTS_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from flightdeck.kit.settings import ServiceSettings


class EnvironmentsSettings(ServiceSettings):
    """Configuration of the environments service."""

    model_config = SettingsConfigDict(env_prefix="FLIGHTDECK_ENVIRONMENTS_", extra="ignore")

    service_name: ClassVar[str] = "environments"
    default_port: ClassVar[int] = 8103
