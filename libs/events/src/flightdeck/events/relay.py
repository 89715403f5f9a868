"""The outbox relay: publishes staged events in order, in batches, and marks each one sent
only after the broker acknowledged it. While the broker is down rows simply wait; a row the
broker can never accept is set aside (quarantined) so the rows behind it still flow."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka import errors as kafka_errors
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry
from sqlalchemy import BigInteger, ColumnElement, any_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flightdeck.events.instruments import RelayMetrics
from flightdeck.events.kafka import (
    KafkaSettings,
    ProducerHandle,
    cancelled_from_outside,
    ensure_topics,
)
from flightdeck.events.tables import outbox
from flightdeck.events.tracing import producer_span

log = logging.getLogger(__name__)

__all__ = ["OutboxRelay"]

RELAY_LOCK_ID = 0x0F1D_0B0C
"""Postgres advisory lock: one relay batch at a time per database keeps the order."""

PERMANENT = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.InvalidTopicError,
    kafka_errors.CorruptRecordException,
    kafka_errors.InvalidMessageError,
    kafka_errors.UnsupportedForMessageFormatError,
)
"""Errors no retry will cure for that record."""

Guard = Callable[[], Awaitable[bool]]


@dataclass
class _Outcome:
    """What happened to one batch."""

    acked: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    retry_error: BaseException | None = None


class OutboxRelay:
    """Drains one database's outbox to Kafka.

    On PostgreSQL replicas share the outbox: a transaction-scoped advisory lock lets one batch
    run at a time (so one key's events stay in order) and `FOR UPDATE SKIP LOCKED` keeps a
    waiting replica from blocking. On SQLite there must be one relay per database file;
    `guard` (a lease, from the service kit) makes sure of it.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        settings: KafkaSettings,
        *,
        producer: ProducerHandle | None = None,
        batch_size: int = 1000,
        max_batch_bytes: int = 32 * 1024 * 1024,
        poll_interval: float = 0.5,
        max_backoff: float = 5.0,
        retention: timedelta = timedelta(days=3),
        registry: CollectorRegistry | None = None,
        guard: Guard | None = None,
        reader: AsyncEngine | None = None,
    ) -> None:
        self._engine = engine
        self._reader = reader or engine
        self._settings = settings
        self._topics = settings.topics
        self._producer = producer or ProducerHandle(settings)
        self._owns_producer = producer is None
        self._batch_size = batch_size
        self._max_batch_bytes = max_batch_bytes
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._retention = retention
        self._guard = guard
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._postgres = engine.dialect.name == "postgresql"
        self._topics_seen: set[str] = set()
        self._topics_checked_at = 0.0
        self.metrics = RelayMetrics(registry)
        self.last_error: str | None = None

    def notify(self) -> None:
        """Tell the relay new rows were committed, so it does not wait for the next poll."""
        self._wakeup.set()

    def stop(self) -> None:
        """Ask the loop to finish after the current batch."""
        self._stopping.set()
        self._wakeup.set()

    @property
    def stopping(self) -> bool:
        """Whether `stop` was called."""
        return self._stopping.is_set()

    async def run(self) -> None:
        """Publish until stopped, backing off while the broker or database is unavailable."""
        backoff = 0.1
        last_purge = 0.0
        try:
            while not self._stopping.is_set():
                self._wakeup.clear()
                try:
                    if self._guard is not None and not await self._guard():
                        await self._sleep(self._poll_interval * 4)
                        continue
                    published = await self.drain_once()
                except asyncio.CancelledError as exc:
                    if cancelled_from_outside():
                        raise
                    await self._failed(exc)  # leaked from the producer's internals
                    await self._sleep(backoff)
                    continue
                except Exception as exc:  # broker or database trouble: keep trying, loudly
                    await self._failed(exc)
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                backoff = 0.1
                self.last_error = None
                if time.monotonic() - last_purge > 60:
                    last_purge = time.monotonic()
                    await self._purge_published()
                if published < self._batch_size:
                    await self._sleep(self._poll_interval)
        finally:
            if self._owns_producer:
                await self._producer.close()

    async def drain_once(self) -> int:
        """Publish one batch in id order; returns how many rows were acknowledged.

        Raises the broker's error after recording what did get through, so the caller backs off.
        """
        outcome = await (self._drain_locked() if self._postgres else self._drain_single())
        if outcome.acked:
            self.metrics.published.inc(len(outcome.acked))
        if outcome.refused:
            self.metrics.quarantined.inc(len(outcome.refused))
            for row_id, error in outcome.refused.items():
                log.error("outbox row %d refused by the broker for good: %s", row_id, error)
        if outcome.retry_error is not None:
            raise outcome.retry_error
        return len(outcome.acked)

    async def drain(self) -> int:
        """Publish every pending row now; returns how many."""
        total = 0
        while published := await self.drain_once():
            total += published
        return total

    async def pending(self) -> int:
        """Rows waiting to be published (quarantined rows excluded)."""
        async with self._reader.connect() as conn:
            count = await conn.scalar(select(func.count()).select_from(outbox).where(_waiting()))
        self.metrics.pending.set(count or 0)
        return int(count or 0)

    async def _drain_locked(self) -> _Outcome:
        async with self._engine.begin() as conn:
            if not await conn.scalar(select(func.pg_try_advisory_xact_lock(RELAY_LOCK_ID))):
                return _Outcome()
            rows = await self._next_batch(conn)
            outcome = await self._publish(rows) if rows else _Outcome()
            await self._record(conn, outcome)
        return outcome

    async def _drain_single(self) -> _Outcome:
        # SQLite: no lock is held while publishing (it would stall every API write), and the
        # batch is read without taking the write lock (one relay per file: the lease).
        async with self._reader.begin() as conn:
            rows = await self._next_batch(conn)
        if not rows:
            return _Outcome()
        outcome = await self._publish(rows)
        async with self._engine.begin() as conn:
            await self._record(conn, outcome)
        return outcome

    async def _next_batch(self, conn: AsyncConnection) -> Sequence[Any]:
        """The oldest waiting rows: at most `batch_size` of them, and no more than
        `max_batch_bytes` in all (the first row always goes). One round trip."""
        size = func.length(outbox.c.value)
        before = func.sum(size).over(order_by=outbox.c.id) - size
        candidates = (
            select(outbox.c.id, before.label("before"))
            .where(_waiting())
            .order_by(outbox.c.id)
            .limit(self._batch_size)
            .subquery()
        )
        within = select(candidates.c.id).where(candidates.c.before < self._max_batch_bytes)
        columns = (outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.value, outbox.c.headers)
        statement = select(*columns).where(outbox.c.id.in_(within)).order_by(outbox.c.id)
        if self._postgres:
            statement = statement.with_for_update(skip_locked=True)
        return (await conn.execute(statement)).all()

    def _among(self, ids: list[int]) -> ColumnElement[bool]:
        # One array parameter on PostgreSQL: a statement with a thousand parameters is
        # prepared afresh for every batch size, which costs more than running it.
        if self._postgres:
            return outbox.c.id == any_(bindparam("ids", ids, type_=ARRAY(BigInteger())))
        return outbox.c.id.in_(ids)

    async def _publish(self, rows: Sequence[Any]) -> _Outcome:
        outcome = _Outcome()
        producer = await self._producer.get()
        await self._ensure_topics(producer, {self._topics.physical(row.topic) for row in rows})
        sent: list[tuple[int, asyncio.Future[Any]]] = []
        with producer_span("outbox publish", **{"messaging.batch.message_count": len(rows)}):
            for row in rows:
                try:
                    future = await producer.send(
                        self._topics.physical(row.topic),
                        value=row.value,
                        key=row.key.encode(),
                        headers=[(name, value.encode()) for name, value in row.headers],
                    )
                except PERMANENT as exc:
                    outcome.refused[row.id] = f"{type(exc).__name__}: {exc}"
                    continue
                except KafkaError as exc:
                    outcome.retry_error = exc
                    break
                sent.append((row.id, future))
            # Let every queued send settle before deciding: one left in flight would land
            # after the retry (out of order) and, on a restarted embedded broker, could
            # auto-create its topic while we create it too.
            results = await asyncio.gather(*(future for _, future in sent), return_exceptions=True)
        for (row_id, _), result in zip(sent, results, strict=True):
            if not isinstance(result, BaseException):
                outcome.acked.append(row_id)
            elif isinstance(result, PERMANENT):
                outcome.refused[row_id] = f"{type(result).__name__}: {result}"
            elif outcome.retry_error is None:
                outcome.retry_error = result
        return outcome

    async def _record(self, conn: AsyncConnection, outcome: _Outcome) -> None:
        now = datetime.now(UTC)
        if outcome.acked:
            acked = update(outbox).where(self._among(outcome.acked))
            await conn.execute(acked.values(published_at=now))
        for row_id, error in outcome.refused.items():
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id)
                .values(failed_at=now, error=error[:2000])
            )

    async def _ensure_topics(self, producer: AIOKafkaProducer, topics: set[str]) -> None:
        # A restarted embedded broker has lost its topics, yet accepts records for them from a
        # producer with cached metadata, then wipes them when the topic is created. So unless
        # the topics were seen a moment ago, with no failure since, look again and create
        # what is missing before sending. (A restart takes longer than that moment.)
        fresh = time.monotonic() - self._topics_checked_at < 1.0
        if fresh and topics <= self._topics_seen:
            return
        cluster = await producer.client.fetch_all_metadata()
        missing = topics - set(cluster.topics())
        if missing:
            await ensure_topics(self._settings, missing)
        self._topics_seen = topics | set(cluster.topics())
        self._topics_checked_at = time.monotonic()

    async def _failed(self, exc: BaseException) -> None:
        self.metrics.failures.inc()
        message = f"{type(exc).__name__}: {exc}"
        if message != self.last_error:
            log.warning("outbox relay cannot publish, will retry: %s", message)
        self.last_error = message
        self._topics_checked_at = 0.0  # the broker may be a new one when it answers again

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


def _waiting() -> Any:
    return outbox.c.published_at.is_(None) & outbox.c.failed_at.is_(None)
