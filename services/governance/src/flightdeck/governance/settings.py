"""Settings of the governance service (environment prefix `FLIGHTDECK_GOVERNANCE_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from flightdeck.kit.settings import ServiceSettings


class GovernanceSettings(ServiceSettings):
    """Configuration of the governance service."""

    model_config = SettingsConfigDict(env_prefix="FLIGHTDECK_GOVERNANCE_", extra="ignore")

    service_name: ClassVar[str] = "governance"
    default_port: ClassVar[int] = 8102
