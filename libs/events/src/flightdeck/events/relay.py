"""The outbox relay: publishes staged events in order, in batches, and marks them sent only
after the broker acknowledged them. While the broker is down rows simply wait."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import Row, Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flightdeck.events.kafka import KafkaSettings, ensure_topics, new_producer
from flightdeck.events.tables import outbox
from flightdeck.events.tracing import producer_span

log = logging.getLogger(__name__)

RELAY_LOCK_ID = 0x0F1D_0B0C
"""Postgres advisory lock: one relay batch at a time per database keeps the order."""


class RelayMetrics:
    """Prometheus figures of one relay."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.published = Counter(
            "flightdeck_outbox_published_total", "Outbox events published", registry=registry
        )
        self.failures = Counter(
            "flightdeck_outbox_publish_failures_total",
            "Outbox batches that failed to publish",
            registry=registry,
        )
        self.pending = Gauge(
            "flightdeck_outbox_pending", "Outbox events not yet published", registry=registry
        )


class ProducerHandle:
    """A producer started on first use and replaced after it failed to start."""

    def __init__(
        self,
        settings: KafkaSettings,
        factory: Callable[[KafkaSettings], AIOKafkaProducer] = new_producer,
    ) -> None:
        self._settings = settings
        self._factory = factory
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> AIOKafkaProducer:
        """The started producer."""
        async with self._lock:
            if self._producer is None:
                producer = self._factory(self._settings)
                try:
                    await producer.start()
                except BaseException:
                    await _quietly_stop(producer)
                    raise
                self._producer = producer
            return self._producer

    async def reset(self) -> None:
        """Drop the producer; the next `get` starts a fresh one."""
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await _quietly_stop(producer)

    async def close(self) -> None:
        """Flush and stop."""
        await self.reset()


async def _quietly_stop(producer: AIOKafkaProducer) -> None:
    try:
        await asyncio.wait_for(producer.stop(), 10)
    except Exception as exc:  # stopping a broken producer must not mask the original error
        log.debug("producer stop failed: %s", exc)


class OutboxRelay:
    """Drains one database's outbox to Kafka."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: KafkaSettings,
        *,
        producer: ProducerHandle | None = None,
        batch_size: int = 1000,
        poll_interval: float = 0.5,
        max_backoff: float = 5.0,
        retention: timedelta = timedelta(days=3),
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._topics = settings.topics
        self._producer = producer or ProducerHandle(settings)
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._retention = retention
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._postgres = engine.dialect.name == "postgresql"
        self.metrics = RelayMetrics(registry)
        self.last_error: str | None = None

    def notify(self) -> None:
        """Tell the relay new rows were committed, so it does not wait for the next poll."""
        self._wakeup.set()

    def stop(self) -> None:
        """Ask the loop to finish after the current batch."""
        self._stopping.set()
        self._wakeup.set()

    async def run(self) -> None:
        """Publish until stopped, backing off while the broker or database is unavailable."""
        backoff = 0.1
        last_purge = 0.0
        try:
            while not self._stopping.is_set():
                self._wakeup.clear()
                try:
                    published = await self.drain_once()
                    backoff = 0.1
                    self.last_error = None
                except (KafkaError, OSError, TimeoutError) as exc:
                    await self._failed(exc)
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                except Exception as exc:  # database trouble: keep trying, never die silently
                    log.exception("outbox relay batch failed")
                    await self._failed(exc)
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                if time.monotonic() - last_purge > 60:
                    last_purge = time.monotonic()
                    await self._purge_published()
                if published < self._batch_size:
                    await self._sleep(self._poll_interval)
        finally:
            await self._producer.close()

    async def drain_once(self) -> int:
        """Publish one batch in id order; returns how many rows were published."""
        if self._postgres:
            published = await self._drain_locked()
        else:
            published = await self._drain_single()
        if published:
            self.metrics.published.inc(published)
        return published

    async def _drain_locked(self) -> int:
        # PostgreSQL: replicas share the relay; the advisory lock gives one batch at a time
        # (keeping per-key order) and SKIP LOCKED keeps a waiting replica from blocking.
        async with self._engine.begin() as conn:
            if not await self._take_turn(conn):
                return 0
            rows = (await conn.execute(self._next_batch())).all()
            if rows:
                await self._publish(rows)
                await self._mark_published(conn, [row.id for row in rows])
        return len(rows)

    async def _drain_single(self) -> int:
        # SQLite: exactly one relay per database file, so no lock is held while publishing
        # (holding SQLite's write lock would stall every API write while the broker is slow).
        async with self._engine.begin() as conn:
            rows = (await conn.execute(self._next_batch())).all()
        if rows:
            await self._publish(rows)
            async with self._engine.begin() as conn:
                await self._mark_published(conn, [row.id for row in rows])
        return len(rows)

    async def _mark_published(self, conn: AsyncConnection, ids: list[int]) -> None:
        await conn.execute(
            update(outbox).where(outbox.c.id.in_(ids)).values(published_at=datetime.now(UTC))
        )

    async def drain(self) -> int:
        """Publish every pending row now; returns how many."""
        total = 0
        while published := await self.drain_once():
            total += published
        return total

    async def pending(self) -> int:
        """Rows not yet published."""
        async with self._engine.connect() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        self.metrics.pending.set(count or 0)
        return int(count or 0)

    def _next_batch(self) -> Select[tuple[int, str, str, bytes, list[list[str]]]]:
        statement = (
            select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.value, outbox.c.headers)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(self._batch_size)
        )
        if self._postgres:
            statement = statement.with_for_update(skip_locked=True)
        return statement

    async def _take_turn(self, conn: AsyncConnection) -> bool:
        return bool(await conn.scalar(select(func.pg_try_advisory_xact_lock(RELAY_LOCK_ID))))

    async def _publish(self, rows: Sequence[Row[Any]]) -> None:
        producer = await self._producer.get()
        await self._ensure_topics(producer, {self._topics.physical(row.topic) for row in rows})
        with producer_span("outbox publish", **{"messaging.batch.message_count": len(rows)}):
            futures: list[asyncio.Future[Any]] = []
            error: BaseException | None = None
            for row in rows:
                try:
                    futures.append(
                        await producer.send(
                            self._topics.physical(row.topic),
                            value=row.value,
                            key=row.key.encode(),
                            headers=[(name, value.encode()) for name, value in row.headers],
                        )
                    )
                except KafkaError as exc:
                    error = exc
                    break
            # Let every queued send settle before deciding: one left in flight would land
            # after the retry (out of order) and, on a restarted embedded broker, could
            # auto-create its topic while we create it too.
            outcomes = await asyncio.gather(*futures, return_exceptions=True)
        error = error or next((o for o in outcomes if isinstance(o, BaseException)), None)
        if error is not None:
            raise error

    async def _ensure_topics(self, producer: AIOKafkaProducer, topics: set[str]) -> None:
        # Fresh metadata on every batch: a restarted embedded broker has lost its topics, yet
        # accepts records for them from a producer with cached metadata, then wipes them when
        # the topic is created. Creating first keeps every record (one round trip per batch).
        cluster = await producer.client.fetch_all_metadata()
        missing = topics - set(cluster.topics())
        if missing:
            await ensure_topics(self._settings, missing)

    async def _failed(self, exc: BaseException) -> None:
        self.metrics.failures.inc()
        message = f"{type(exc).__name__}: {exc}"
        if message != self.last_error:
            log.warning("outbox relay cannot publish, will retry: %s", message)
        self.last_error = message

    async def _purge_published(self) -> None:
        cutoff = datetime.now(UTC) - self._retention
        try:
            async with self._engine.begin() as conn:
                await conn.execute(delete(outbox).where(outbox.c.published_at < cutoff))
        except Exception:
            log.exception("purging published outbox rows failed")

    async def _sleep(self, seconds: float) -> None:
        if self._stopping.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)
