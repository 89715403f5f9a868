"""Settings of the governance service (environment prefix `FLIGHTDECK_GOVERNANCE_`)."""

from datetime import timedelta
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from flightdeck.governance.domain.webhooks import RetryPolicy
from flightdeck.kit.settings import ServiceSettings


class GovernanceSettings(ServiceSettings):
    """Configuration of the governance service."""

    model_config = SettingsConfigDict(env_prefix="FLIGHTDECK_GOVERNANCE_", extra="ignore")

    service_name: ClassVar[str] = "governance"
    default_port: ClassVar[int] = 8102

    webhook_poll_seconds: float = 1.0
    """How often the sender looks for due webhook deliveries."""
    webhook_timeout_seconds: float = 5.0
    webhook_backoff_seconds: float = 2.0
    """The first retry delay; it doubles per attempt up to the cap."""
    webhook_backoff_cap_seconds: float = 600.0
    webhook_max_attempts: int = 12
    webhook_max_age_hours: float = 24.0
    webhook_batch_size: int = 50
    stabilization_check_seconds: float = 30.0
    """How often changes whose stabilization period passed are closed."""

    def webhook_retry(self) -> RetryPolicy:
        """The retry schedule of webhook deliveries."""
        return RetryPolicy(
            base=timedelta(seconds=self.webhook_backoff_seconds),
            cap=timedelta(seconds=self.webhook_backoff_cap_seconds),
            max_attempts=self.webhook_max_attempts,
            max_age=timedelta(hours=self.webhook_max_age_hours),
        )
