"""Settings of the validation service (environment prefix `FLIGHTDECK_VALIDATION_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from flightdeck.kit.settings import ServiceSettings


class ValidationSettings(ServiceSettings):
    """Configuration of the validation service."""

    model_config = SettingsConfigDict(env_prefix="FLIGHTDECK_VALIDATION_", extra="ignore")

    service_name: ClassVar[str] = "validation"
    default_port: ClassVar[int] = 8105
