"""The consumer runner: one consumer group per service, offsets committed only after the
handler's transaction committed, retries with backoff, and a dead-letter topic so that one
poison record never blocks its partition."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry, Counter, Gauge

from flightdeck.events import logcontext
from flightdeck.events.codec import DecodeError, UnknownEventType, decode
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import KafkaSettings, ensure_topics, new_consumer
from flightdeck.events.relay import ProducerHandle
from flightdeck.events.tracing import consumer_span, trace_id_of

log = logging.getLogger(__name__)

Handler = Callable[[Envelope[Any]], Awaitable[None]]
BatchHandler = Callable[[Sequence[Envelope[Any]]], Awaitable[None]]

DLQ_HEADERS = (
    "dlq_consumer",
    "dlq_error",
    "dlq_error_type",
    "dlq_attempts",
    "dlq_failed_at",
    "dlq_original_topic",
    "dlq_original_partition",
    "dlq_original_offset",
)


class _Stale(Exception):
    """The consumer no longer makes progress (for instance after a broker restart)."""


class _Interrupted(Exception):
    """Stop was requested while a handler was still failing; its batch stays uncommitted."""


class ConsumerMetrics:
    """Prometheus figures of one runner."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.handled = Counter(
            "flightdeck_consumer_handled_total", "Events handled", ["topic"], registry=registry
        )
        self.skipped = Counter(
            "flightdeck_consumer_skipped_total",
            "Records skipped (unknown or unsubscribed types)",
            ["topic"],
            registry=registry,
        )
        self.retries = Counter(
            "flightdeck_consumer_retries_total", "Handler retries", ["topic"], registry=registry
        )
        self.dead_lettered = Counter(
            "flightdeck_consumer_dead_lettered_total",
            "Records sent to the dead-letter topic",
            ["topic"],
            registry=registry,
        )
        self.lag = Gauge(
            "flightdeck_consumer_lag",
            "High-water mark of fetched records minus committed offset",
            ["topic", "partition"],
            registry=registry,
        )
        self.restarts = Counter(
            "flightdeck_consumer_restarts_total", "Consumers re-created", registry=registry
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a failing handler is retried before dead-lettering."""

    max_attempts: int = 5
    backoff_base: float = 0.2
    backoff_max: float = 5.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th failure."""
        return float(min(self.backoff_base * 2 ** (attempt - 1), self.backoff_max))


class ConsumerRunner:
    """Consumes a service's subscriptions and hands each event to `handle`.

    `handle` must be idempotent (the inbox makes it so); it runs again after a crash between
    its commit and the offset commit. `accepts` filters event types; records of other or
    unknown types are skipped. With `batch_handle`, each fetched batch of a partition is
    handed over at once; when the batch fails, records are retried one by one.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        group: str,
        topics: Sequence[str],
        handle: Handler,
        accepts: Collection[str] | None = None,
        batch_handle: BatchHandler | None = None,
        retry: RetryPolicy | None = None,
        producer: ProducerHandle | None = None,
        registry: CollectorRegistry | None = None,
        stale_after: float | None = None,
    ) -> None:
        self._settings = settings
        self.group = group
        self._topics = [settings.topics.physical(name) for name in topics]
        self._dlq = settings.topics.dlq(group)
        self._handle = handle
        self._batch_handle = batch_handle
        self._accepts = frozenset(accepts) if accepts is not None else None
        self._retry = retry or RetryPolicy()
        self._producer = producer or ProducerHandle(settings)
        self._owns_producer = producer is None
        self._stale_after = stale_after or max(3 * settings.session_timeout_ms / 1000, 15.0)
        self._stopping = asyncio.Event()
        self._committed: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self.metrics = ConsumerMetrics(registry)
        self.assigned = asyncio.Event()
        """Set while the consumer holds partitions (tests wait for it before producing)."""

    def stop(self) -> None:
        """Finish the record in hand, commit, and leave the group."""
        self._stopping.set()

    def lag(self) -> dict[str, int]:
        """Per `topic:partition`: high-water mark of fetched records minus committed offset."""
        consumer = self._consumer
        if consumer is None:
            return {}
        figures: dict[str, int] = {}
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            lag = max(high - self._committed.get(tp, 0), 0)
            figures[f"{tp.topic}:{tp.partition}"] = lag
            self.metrics.lag.labels(tp.topic, str(tp.partition)).set(lag)
        return figures

    async def run(self) -> None:
        """Consume until stopped; re-create the consumer when it stops making progress."""
        backoff = 0.5
        try:
            while not self._stopping.is_set():
                try:
                    await self._run_consumer()
                    backoff = 0.5
                except _Stale as exc:
                    log.warning("consumer %s is stale (%s); re-creating it", self.group, exc)
                    self.metrics.restarts.inc()
                except (KafkaError, OSError, TimeoutError) as exc:
                    log.warning(
                        "consumer %s failed: %s; retrying in %.1fs", self.group, exc, backoff
                    )
                    self.metrics.restarts.inc()
                    await self._pause(backoff)
                    backoff = min(backoff * 2, 10.0)
                except Exception:  # never die silently: log, wait, start over
                    log.exception("consumer %s crashed; restarting in %.1fs", self.group, backoff)
                    self.metrics.restarts.inc()
                    await self._pause(backoff)
                    backoff = min(backoff * 2, 10.0)
        finally:
            if self._owns_producer:
                await self._producer.close()

    async def _run_consumer(self) -> None:
        await ensure_topics(self._settings, [*self._topics, self._dlq])
        group_id = self._settings.topics.physical(self.group)
        consumer = new_consumer(self._settings, group_id, self._topics)
        self._committed.clear()
        await consumer.start()
        self._consumer = consumer
        try:
            await self._loop(consumer)
        finally:
            self.assigned.clear()
            self._consumer = None
            try:
                await asyncio.wait_for(consumer.stop(), 10)
            except Exception as exc:  # a stuck consumer must not keep us from re-creating it
                log.debug("consumer stop failed: %s", exc)

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        unassigned_since = time.monotonic()
        last_progress = time.monotonic()
        fetch_failures = 0
        while not self._stopping.is_set():
            if time.monotonic() - last_progress > self._stale_after / 2:
                await self._probe_group(consumer)
                last_progress = time.monotonic()
            try:
                batches = await consumer.getmany(timeout_ms=200)
                fetch_failures = 0
            except KafkaError as exc:
                fetch_failures += 1
                if fetch_failures >= 5:
                    raise _Stale(f"fetch keeps failing: {exc}") from exc
                await self._pause(0.5)
                continue
            if consumer.assignment():
                if not self.assigned.is_set():
                    log.info(
                        "consumer %s assigned %d partitions", self.group, len(consumer.assignment())
                    )
                self.assigned.set()
                unassigned_since = time.monotonic()
            elif time.monotonic() - unassigned_since > self._stale_after:
                raise _Stale("no partitions assigned")
            else:
                self.assigned.clear()
            if not batches:
                continue
            last_progress = time.monotonic()
            offsets: dict[TopicPartition, OffsetAndMetadata] = {}
            try:
                for tp, records in batches.items():
                    await self._process_partition(tp, records)
                    offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "")
            except _Interrupted:
                await self._commit(consumer, offsets)
                return
            await self._commit(consumer, offsets)

    async def _probe_group(self, consumer: AIOKafkaConsumer) -> None:
        """While idle, ask the group coordinator for a committed offset: a consumer whose
        group the broker forgot (a restarted embedded broker) fails here and is re-created."""
        assignment = sorted(consumer.assignment())
        if not assignment:
            return
        try:
            await asyncio.wait_for(consumer.committed(assignment[0]), 5)
        except (KafkaError, TimeoutError) as exc:
            raise _Stale(f"group coordinator does not answer: {exc}") from exc

    async def _commit(
        self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, OffsetAndMetadata]
    ) -> None:
        if not offsets:
            return
        for attempt in range(1, 3):
            try:
                await asyncio.wait_for(consumer.commit(offsets), 3)
            except (KafkaError, TimeoutError) as exc:
                if attempt == 2:
                    raise _Stale(f"offset commit keeps failing: {exc}") from exc
                await self._pause(0.2 * attempt)
                continue
            self._committed.update({tp: meta.offset for tp, meta in offsets.items()})
            self.lag()
            return

    async def _process_partition(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        envelopes: list[tuple[ConsumerRecord, Envelope[Any]]] = []
        for record in records:
            envelope = await self._decode(record)
            if envelope is not None:
                envelopes.append((record, envelope))
        if not envelopes:
            return
        if self._batch_handle is not None and len(envelopes) > 1:
            try:
                await self._batch_handle([envelope for _, envelope in envelopes])
            except Exception as exc:
                log.warning("batch of %d failed (%s); handling one by one", len(envelopes), exc)
            else:
                self.metrics.handled.labels(tp.topic).inc(len(envelopes))
                return
        for record, envelope in envelopes:
            await self._process(record, envelope)

    async def _decode(self, record: ConsumerRecord) -> Envelope[Any] | None:
        try:
            envelope = decode(record.value, record.headers)
        except UnknownEventType as exc:
            log.debug("skipping %s: %s", record.topic, exc.reason)
            self.metrics.skipped.labels(record.topic).inc()
            return None
        except DecodeError as exc:
            log.error(
                "malformed record %s:%d@%d: %s",
                record.topic,
                record.partition,
                record.offset,
                exc.reason,
            )
            await self._dead_letter(record, exc, attempts=1)
            return None
        if self._accepts is not None and envelope.type not in self._accepts:
            self.metrics.skipped.labels(record.topic).inc()
            return None
        return envelope

    async def _process(self, record: ConsumerRecord, envelope: Envelope[Any]) -> None:
        with (
            logcontext.bound(
                event_id=envelope.id,
                event_type=envelope.type,
                correlation_id=envelope.correlation_id,
                trace_id=trace_id_of(envelope.traceparent),
            ),
            consumer_span(
                f"{envelope.type} process",
                envelope.traceparent,
                **{"messaging.message.id": envelope.id, "messaging.destination.name": record.topic},
            ),
        ):
            for attempt in range(1, self._retry.max_attempts + 1):
                try:
                    await self._handle(envelope)
                except Exception as exc:
                    if attempt == self._retry.max_attempts:
                        log.error(
                            "giving up on %s after %d attempts: %s", envelope.id, attempt, exc
                        )
                        await self._dead_letter(record, exc, attempts=attempt)
                        return
                    log.warning("handler failed (attempt %d): %s", attempt, exc)
                    self.metrics.retries.labels(record.topic).inc()
                    await self._pause(self._retry.delay(attempt))
                    if self._stopping.is_set():
                        raise _Interrupted from exc
                else:
                    self.metrics.handled.labels(record.topic).inc()
                    return

    async def _dead_letter(
        self, record: ConsumerRecord, error: BaseException, *, attempts: int
    ) -> None:
        reason = error.reason if isinstance(error, DecodeError) else str(error)
        extra = {
            "dlq_consumer": self.group,
            "dlq_error": reason[:4000],
            "dlq_error_type": type(error).__name__,
            "dlq_attempts": str(attempts),
            "dlq_failed_at": datetime.now(UTC).isoformat(),
            "dlq_original_topic": self._settings.topics.logical(record.topic),
            "dlq_original_partition": str(record.partition),
            "dlq_original_offset": str(record.offset),
        }
        headers = [(k, v) for k, v in record.headers if k not in extra]
        headers += [(k, v.encode()) for k, v in extra.items()]
        producer = await self._producer.get()
        await producer.send_and_wait(self._dlq, value=record.value, key=record.key, headers=headers)
        self.metrics.dead_lettered.labels(record.topic).inc()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
