"""What a running service holds: its settings, database, tokens, relay and consumer."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from flightdeck.events.consumer import ConsumerRunner
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import KafkaSettings, ProducerHandle, broker_reachable
from flightdeck.events.relay import OutboxRelay
from flightdeck.kit import idempotency
from flightdeck.kit.auth import TokenStore
from flightdeck.kit.idempotency import IdempotencyStore
from flightdeck.kit.leases import Lease
from flightdeck.kit.settings import ServiceSettings
from flightdeck.kit.uow import UnitOfWork

log = logging.getLogger(__name__)


class BrokerProbe:
    """Whether the broker answers, asked at most every two seconds (readiness is polled often);
    a change is logged once."""

    def __init__(self, kafka: KafkaSettings, cache_seconds: float = 2.0) -> None:
        self._kafka = kafka
        self._cache_seconds = cache_seconds
        self._last: tuple[float, bool] | None = None

    async def reachable(self) -> bool:
        """The broker's state, from cache when fresh."""
        now = time.monotonic()
        if self._last is not None and now - self._last[0] < self._cache_seconds:
            return self._last[1]
        answer = await broker_reachable(self._kafka, timeout=2.0)
        if self._last is None or self._last[1] != answer:
            state = "reachable" if answer else "unreachable"
            level = logging.INFO if answer else logging.WARNING
            log.log(level, "broker %s is %s", self._kafka.bootstrap_servers, state)
        self._last = (now, answer)
        return answer


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


@dataclass
class ServiceContext:
    """Everything a request or handler of one service needs, built by the lifespan."""

    name: str
    settings: ServiceSettings
    engine: AsyncEngine
    reader: AsyncEngine
    """The engine for read-only work (on SQLite it never waits for writers)."""
    sessions: async_sessionmaker[AsyncSession]
    tokens: TokenStore
    kafka: KafkaSettings
    registry: CollectorRegistry
    idempotency: IdempotencyStore
    uow_class: type[UnitOfWork] = UnitOfWork
    relay: OutboxRelay | None = None
    runner: ConsumerRunner | None = None
    producer: ProducerHandle | None = None
    relay_lease: Lease | None = None
    """On SQLite, the lease that keeps the outbox relay to one process."""
    broker: BrokerProbe = field(init=False)
    clock: Callable[[], datetime] = utc_now
    extras: dict[str, Any] = field(default_factory=dict)
    """Service-specific objects built at startup (clients, caches)."""

    def __post_init__(self) -> None:
        self.broker = BrokerProbe(self.kafka)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction outside a unit of work (Core statements, no events). Like the
        unit of work, it confirms the request's Idempotency-Key in the same commit."""
        async with self.engine.begin() as conn:
            yield conn
            await idempotency.confirm(conn)

    def uow(self, cause: Envelope[Any] | None = None) -> Any:
        """A unit of work of this service; for a consumed event, one that claims its inbox."""
        return self.uow_class(
            self.sessions,
            cause=cause,
            consumer=self.name if cause is not None else None,
            on_commit=self.relay.notify if self.relay is not None else None,
        )
