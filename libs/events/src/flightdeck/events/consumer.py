"""The consumer runner: one consumer group per service, offsets committed only after the
handler's transaction committed, retries with backoff, and a dead-letter topic so that one
poison record never blocks its partition."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry

from flightdeck.events import logcontext
from flightdeck.events.codec import DecodeError, UnknownEventType, decode
from flightdeck.events.envelope import Envelope
from flightdeck.events.instruments import ConsumerMetrics
from flightdeck.events.kafka import (
    KafkaSettings,
    ProducerHandle,
    bounded,
    cancelled_from_outside,
    ensure_topics,
    new_consumer,
)
from flightdeck.events.retry import RetryPolicy
from flightdeck.events.topics import retry_topic
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

__all__ = ["DLQ_HEADERS", "BatchHandler", "ConsumerRunner", "Handler", "RetryPolicy"]


_DECODE_SLICE = 250
"""Records decoded between two turns of the event loop."""


@dataclass(frozen=True, slots=True)
class _InFlight:
    """A fetch being handled, and the offsets to commit once it and every earlier one are."""

    task: asyncio.Task[None]
    done: dict[TopicPartition, OffsetAndMetadata]


class _Stale(Exception):
    """The consumer no longer makes progress (for instance after a broker restart)."""


class _Stopping(Exception):
    """Stop was requested in the middle of a batch; what is done so far gets committed."""


class ConsumerRunner:
    """Consumes a service's subscriptions and hands each event to `handle`.

    `handle` must be idempotent (the inbox makes it so): it runs again after a crash between
    its commit and the offset commit. `accepts` filters event types by the `ce_type` header;
    records of other or unknown types are skipped undecoded, unless `keep_unknown` asks for
    unknown types to be handed over with opaque data (`flightdeck.events.opaque`). With
    `batch_handle`, the records of every partition one fetch returned are handed over in one
    call (so the handler must not rely on their order across partitions); offsets are
    committed only after that call succeeded. When it fails, each record is retried on its
    own (still through `batch_handle`), partition by partition, so a poison record is
    isolated. With `batches_in_flight` above 1, the next fetch is decoded and handed over
    while earlier batches are still being handled (their database work overlaps); the
    handler must then tolerate concurrent calls, and offsets are still committed in fetch
    order, each batch's only once every earlier one has completed. When an earlier batch
    does not complete, the later ones are fetched again: their malformed records are then
    dead-lettered a second time. Cancelling the runner cancels the batches in flight.
    The runner also consumes `flightdeck.<group>.retry`, where dead letters are replayed.
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
        keep_unknown: bool = False,
        batches_in_flight: int = 1,
    ) -> None:
        if batches_in_flight < 1:
            raise ValueError("batches_in_flight must be at least 1")
        self._settings = settings
        self._in_flight_limit = batches_in_flight if batch_handle is not None else 1
        self.group = group
        physical = [settings.topics.physical(name) for name in (*topics, retry_topic(group))]
        self._topics = sorted(set(physical))
        self._dlq = settings.topics.dlq(group)
        self._handle = handle
        self._batch_handle = batch_handle
        self._one_at_a_time: Handler = (
            (lambda envelope: batch_handle([envelope])) if batch_handle is not None else handle
        )
        self._accepts = frozenset(accepts) if accepts is not None else None
        self._keep_unknown = keep_unknown
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
        """Finish the record in hand, commit what is done, and leave the group."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """Whether `stop` was called."""
        return self._stopping.is_set()

    def lag(self) -> dict[str, int]:
        """Per `topic:partition`: high-water mark of fetched records minus committed offset."""
        consumer = self._consumer
        if consumer is None:
            return {}
        figures: dict[str, int] = {}
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            committed = self._committed.get(tp)
            if high is None or committed is None:
                continue  # nothing fetched or committed yet by this consumer
            figures[f"{tp.topic}:{tp.partition}"] = lag = max(high - committed, 0)
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
                except asyncio.CancelledError as exc:
                    if cancelled_from_outside():
                        raise
                    # aiokafka cancels its own internal calls when the broker vanishes; such a
                    # CancelledError is a failure of this consumer, not a request to stop.
                    log.warning("consumer %s was interrupted (%r); re-creating it", self.group, exc)
                    self.metrics.restarts.inc()
                    await self._pause(backoff)
                except Exception as exc:  # never die: log, wait, start over
                    level = (
                        logging.WARNING if isinstance(exc, (KafkaError, OSError)) else logging.ERROR
                    )
                    log.log(
                        level, "consumer %s failed: %r; retrying in %.1fs", self.group, exc, backoff
                    )
                    self.metrics.restarts.inc()
                    await self._pause(backoff)
                    backoff = min(backoff * 2, 10.0)
        finally:
            if self._owns_producer:
                await self._producer.close()

    async def _run_consumer(self) -> None:
        await ensure_topics(self._settings, [*self._topics, self._dlq])
        consumer = new_consumer(
            self._settings, self._settings.topics.physical(self.group), self._topics
        )
        self._committed.clear()
        await consumer.start()
        self._consumer = consumer
        try:
            await self._loop(consumer)
        finally:
            self.assigned.clear()
            self._consumer = None
            try:
                await bounded(consumer.stop(), 10)
            except Exception as exc:  # a stuck consumer must not keep us from re-creating it
                log.debug("consumer stop failed: %s", exc)

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        in_flight: deque[_InFlight] = deque()
        try:
            await self._fetch_and_handle(consumer, in_flight)
        except BaseException as exc:
            cancelled = isinstance(exc, asyncio.CancelledError)
            if cancelled:  # the batches in flight are cancelled too, not waited for
                for batch in in_flight:
                    batch.task.cancel()
            # Commit, in fetch order, what completed; the first failure ends the commits.
            with contextlib.suppress(BaseException):
                await self._settle(consumer, in_flight, keep=0)
            await _abandon(in_flight, cancel=cancelled)
            raise
        try:
            await self._settle(consumer, in_flight, keep=0)
        finally:
            await _abandon(in_flight, cancel=False)  # left when a commit failed

    async def _fetch_and_handle(
        self, consumer: AIOKafkaConsumer, in_flight: deque[_InFlight]
    ) -> None:
        idle_since = outside_group_since = time.monotonic()
        fetch_failures = 0
        while not self._stopping.is_set():
            if time.monotonic() - idle_since > self._stale_after / 2:
                await self._check_alive(consumer)
                idle_since = time.monotonic()
            if _in_group(consumer):
                outside_group_since = time.monotonic()
            elif time.monotonic() - outside_group_since > self._stale_after:
                # Not "idle with no partitions" (a member of a healthy group has a generation):
                # joining keeps failing, as after the embedded broker forgot the group.
                raise _Stale("cannot join the group")
            try:
                batches = await consumer.getmany(timeout_ms=200)
                fetch_failures = 0
            except KafkaError as exc:
                fetch_failures += 1
                if fetch_failures >= 5:
                    raise _Stale(f"fetch keeps failing: {exc}") from exc
                await self._pause(0.5)
                continue
            self._note_assignment(consumer)
            if not batches:
                await self._settle(consumer, in_flight, keep=0)
                continue
            idle_since = time.monotonic()
            done: dict[TopicPartition, OffsetAndMetadata] = {}
            decoded = {
                tp: await self._decode_all(tp, records, done) for tp, records in batches.items()
            }
            in_flight.append(
                _InFlight(asyncio.create_task(self._handle_fetch(batches, decoded, done)), done)
            )
            if not await self._settle(consumer, in_flight, keep=self._in_flight_limit - 1):
                return

    def _note_assignment(self, consumer: AIOKafkaConsumer) -> None:
        if consumer.assignment():
            if not self.assigned.is_set():
                log.info("consumer %s holds %d partitions", self.group, len(consumer.assignment()))
            self.assigned.set()
        else:
            self.assigned.clear()

    async def _handle_fetch(
        self,
        batches: dict[TopicPartition, list[ConsumerRecord]],
        decoded: dict[TopicPartition, list[tuple[ConsumerRecord, Envelope[Any]]]],
        done: dict[TopicPartition, OffsetAndMetadata],
    ) -> None:
        """Handle one fetch's decoded records, noting in `done` what may be committed."""
        if not await self._handle_together(batches, decoded, done):
            for tp, pending in decoded.items():
                await self._handle_one_by_one(tp, batches[tp], pending, done)

    async def _settle(
        self, consumer: AIOKafkaConsumer, in_flight: deque[_InFlight], *, keep: int
    ) -> bool:
        """Wait for the oldest batches in flight until at most `keep` remain, committing
        each one's offsets in fetch order; whether to go on consuming. After a batch that
        did not complete (stopping, or an error, which is raised once the younger batches
        are done), the younger ones' offsets are not committed: they may lie beyond records
        of that batch that were not handled, and are fetched again."""
        while len(in_flight) > keep:
            oldest = in_flight.popleft()
            try:
                await oldest.task
            except BaseException as exc:
                try:
                    # What was handled is committed, even when stopping or when
                    # dead-lettering failed; the younger batches never are.
                    await self._commit(consumer, oldest.done)
                finally:
                    await _abandon(in_flight, cancel=isinstance(exc, asyncio.CancelledError))
                if isinstance(exc, _Stopping):
                    return False
                raise
            await self._commit(consumer, oldest.done)
        return True

    async def _check_alive(self, consumer: AIOKafkaConsumer) -> None:
        """While idle, make sure the broker still knows our group and topics: a restarted
        embedded broker forgets both, and the old consumer would wait forever."""
        try:
            cluster = await bounded(consumer._client.fetch_all_metadata(), 5)
            assignment = sorted(consumer.assignment())
            if assignment:
                await bounded(consumer.committed(assignment[0]), 5)
        except (KafkaError, TimeoutError) as exc:
            raise _Stale(f"broker does not answer: {exc}") from exc
        missing = set(self._topics) - set(cluster.topics())
        if missing:
            raise _Stale(f"topics gone: {', '.join(sorted(missing))}")

    async def _commit(
        self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, OffsetAndMetadata]
    ) -> None:
        # aiokafka refuses the whole commit if one partition was revoked meanwhile.
        offsets = {tp: meta for tp, meta in offsets.items() if tp in consumer.assignment()}
        if not offsets:
            return
        for attempt in range(1, 3):
            try:
                await bounded(consumer.commit(offsets), 3)
            except (CommitFailedError, IllegalStateError) as exc:
                # The group rebalanced: the new owner gets these records again (idempotent).
                log.info("commit after a rebalance dropped: %s", exc)
                return
            except (KafkaError, TimeoutError) as exc:
                if attempt == 2:
                    raise _Stale(f"offset commit keeps failing: {exc!r}") from exc
                await asyncio.sleep(0.2)
                continue
            self._committed.update({tp: meta.offset for tp, meta in offsets.items()})
            self.lag()
            return

    async def _decode_all(
        self,
        tp: TopicPartition,
        records: list[ConsumerRecord],
        done: dict[TopicPartition, OffsetAndMetadata],
    ) -> list[tuple[ConsumerRecord, Envelope[Any]]]:
        """A partition's records to handle, decoded; the skipped ones in front count as done."""
        pending: list[tuple[ConsumerRecord, Envelope[Any]]] = []
        for n, record in enumerate(records, 1):
            if n % _DECODE_SLICE == 0:
                await asyncio.sleep(0)  # let batches in flight take their database replies
            envelope = await self._decode(record)
            if envelope is None:
                if not pending:
                    done[tp] = OffsetAndMetadata(record.offset + 1, "")
                continue
            pending.append((record, envelope))
        return pending

    async def _handle_together(
        self,
        batches: dict[TopicPartition, list[ConsumerRecord]],
        decoded: dict[TopicPartition, list[tuple[ConsumerRecord, Envelope[Any]]]],
        done: dict[TopicPartition, OffsetAndMetadata],
    ) -> bool:
        """Hand every partition's records to the batch handler in one call; whether it did
        (False: no batch handler, a single record, or the call failed)."""
        envelopes = [envelope for pending in decoded.values() for _, envelope in pending]
        if self._batch_handle is None or len(envelopes) < 2:
            return False
        try:
            await self._batch_handle(envelopes)
        except Exception as exc:
            log.warning("batch of %d failed (%r); handling one at a time", len(envelopes), exc)
            return False
        for tp, pending in decoded.items():
            self.metrics.handled.labels(tp.topic).inc(len(pending))
            done[tp] = OffsetAndMetadata(batches[tp][-1].offset + 1, "")
        return True

    async def _handle_one_by_one(
        self,
        tp: TopicPartition,
        records: list[ConsumerRecord],
        pending: list[tuple[ConsumerRecord, Envelope[Any]]],
        done: dict[TopicPartition, OffsetAndMetadata],
    ) -> None:
        for record, envelope in pending:
            if self._stopping.is_set():
                raise _Stopping
            await self._process(record, envelope)
            done[tp] = OffsetAndMetadata(record.offset + 1, "")
        done[tp] = OffsetAndMetadata(records[-1].offset + 1, "")

    async def _decode(self, record: ConsumerRecord) -> Envelope[Any] | None:
        raw_type = next((value for key, value in record.headers if key == "ce_type"), None)
        ce_type = raw_type.decode(errors="replace") if raw_type is not None else None
        if self._accepts is not None and ce_type is not None and ce_type not in self._accepts:
            self.metrics.skipped.labels(record.topic).inc()
            return None
        where = f"{record.topic}:{record.partition}@{record.offset}"
        try:
            return decode(record.value, record.headers, keep_unknown=self._keep_unknown)
        except UnknownEventType as exc:
            log.debug("skipping %s: %s", where, exc.reason)
            self.metrics.skipped.labels(record.topic).inc()
        except DecodeError as exc:
            log.error("malformed record %s: %s", where, exc.reason)
            await self._dead_letter(record, exc, attempts=1)
        except Exception as exc:  # whatever a record holds, it must never stall its partition
            log.exception("undecodable record %s", where)
            await self._dead_letter(record, exc, attempts=1)
        return None

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
            await self._attempt(record, envelope)

    async def _attempt(self, record: ConsumerRecord, envelope: Envelope[Any]) -> None:
        attempts = streak = 0  # failures that count; consecutive transient ones
        while True:
            try:
                await self._one_at_a_time(envelope)
            except Exception as exc:
                transient = self._retry.transient(exc)
                streak = streak + 1 if transient else 0
                attempts += 0 if transient else 1
                if attempts >= self._retry.max_attempts:
                    log.error("giving up on %s after %d attempts: %r", envelope.id, attempts, exc)
                    await self._dead_letter(record, exc, attempts=attempts)
                    return
                kind = "unavailable, waiting" if transient else f"attempt {attempts}"
                log.warning("handler failed (%s): %r", kind, exc)
                self.metrics.retries.labels(record.topic).inc()
                await self._pause(self._retry.delay(streak if transient else attempts))
                if self._stopping.is_set():
                    raise _Stopping from exc
            else:
                self.metrics.handled.labels(record.topic).inc()
                return

    async def _dead_letter(
        self, record: ConsumerRecord, error: BaseException, *, attempts: int
    ) -> None:
        reason = error.reason if isinstance(error, DecodeError) else f"{error}"
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


async def _abandon(in_flight: deque[_InFlight], *, cancel: bool) -> None:
    """Let the batches in flight end (or cancel them) without committing their offsets."""
    tasks = [batch.task for batch in in_flight]
    in_flight.clear()
    if cancel:
        for task in tasks:
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _in_group(consumer: AIOKafkaConsumer) -> bool:
    """Whether the consumer is a member of a formed group generation (with or without
    partitions). Reads aiokafka's coordinator state; assumes membership if that changes."""
    coordinator = getattr(consumer, "_coordinator", None)
    generation = getattr(coordinator, "generation", 1)
    return bool(consumer.assignment()) or (isinstance(generation, int) and generation >= 0)
