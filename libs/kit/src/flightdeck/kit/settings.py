"""Settings every service shares. A service subclasses `ServiceSettings` with its own env
prefix (`FLIGHTDECK_<SERVICE>_`); any setting can also be given once for all services with
the plain `FLIGHTDECK_` prefix (the service's own prefix wins)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from flightdeck.events.kafka import KafkaSettings

SHARED_PREFIX = "FLIGHTDECK_"
PER_SERVICE_ONLY = frozenset({"port", "database_url"})


class _SharedEnv(EnvSettingsSource):
    """`FLIGHTDECK_<FIELD>` for settings that make sense across services."""

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in super().__call__().items() if k not in PER_SERVICE_ONLY}


class ServiceSettings(BaseSettings):
    """Configuration of one service process."""

    model_config = SettingsConfigDict(extra="ignore", env_prefix=SHARED_PREFIX)

    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8100

    host: str = "127.0.0.1"
    port: int = 0
    var_dir: Path = Path("var")
    database_url: str = ""
    """SQLAlchemy async URL; default a SQLite file under `var_dir`."""
    postgres_server: str | None = None
    """`postgresql+asyncpg://user@host:port`: each service then uses `flightdeck_<service>`."""
    tokens_file: Path | None = None
    """Defaults to `var_dir/tokens.json`."""
    tokens_json: str | None = None
    """Token entries as JSON, in place of or in addition to the file."""

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = ""
    kafka_idempotent_producer: bool = False
    kafka_session_timeout_ms: int = 6_000
    kafka_heartbeat_interval_ms: int = 1_000
    kafka_fetch_max_wait_ms: int = 20
    kafka_request_timeout_ms: int = 10_000
    kafka_partitions: int = 3

    consumer_enabled: bool = True
    consumer_max_attempts: int = 5
    consumer_backoff_seconds: float = 0.2
    consumer_stale_seconds: float = 20.0
    """Re-create a consumer that has held no partition (or failed to commit) this long."""
    relay_enabled: bool = True
    relay_batch_size: int = 1000
    relay_poll_seconds: float = 0.5

    max_body_bytes: int = 1024 * 1024
    max_webhook_body_bytes: int = 25 * 1024 * 1024
    log_level: str = "INFO"
    log_json: bool = True
    otlp_endpoint: str | None = None
    """OTLP/HTTP traces endpoint, e.g. `http://otel-collector:4318/v1/traces`; off when unset."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        own = cls.model_config.get("env_prefix", SHARED_PREFIX)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if own != SHARED_PREFIX:
            sources.append(_SharedEnv(settings_cls, env_prefix=SHARED_PREFIX))
        return (*sources, dotenv_settings, file_secret_settings)

    @model_validator(mode="after")
    def _defaults(self) -> ServiceSettings:
        if not self.port:
            self.port = self.default_port
        if not self.database_url:
            if self.postgres_server:
                server = self.postgres_server.rstrip("/")
                self.database_url = f"{server}/flightdeck_{self.service_name}"
            else:
                self.database_url = f"sqlite+aiosqlite:///{self.var_dir / self.service_name}.db"
        if self.tokens_file is None:
            self.tokens_file = self.var_dir / "tokens.json"
        return self

    def kafka(self) -> KafkaSettings:
        """The Kafka client settings of this service."""
        return KafkaSettings(
            bootstrap_servers=self.kafka_bootstrap_servers,
            client_id=f"flightdeck-{self.service_name}",
            topic_prefix=self.kafka_topic_prefix,
            idempotent_producer=self.kafka_idempotent_producer,
            session_timeout_ms=self.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.kafka_heartbeat_interval_ms,
            fetch_max_wait_ms=self.kafka_fetch_max_wait_ms,
            request_timeout_ms=self.kafka_request_timeout_ms,
            partitions=self.kafka_partitions,
        )
