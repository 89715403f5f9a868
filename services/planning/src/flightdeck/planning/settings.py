"""Settings of the planning service (environment prefix `FLIGHTDECK_PLANNING_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from flightdeck.kit.settings import ServiceSettings


class PlanningSettings(ServiceSettings):
    """Configuration of the planning service."""

    model_config = SettingsConfigDict(env_prefix="FLIGHTDECK_PLANNING_", extra="ignore")

    service_name: ClassVar[str] = "planning"
    default_port: ClassVar[int] = 8101
