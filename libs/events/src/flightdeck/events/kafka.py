"""Kafka clients configured the same way everywhere, working on Apache Kafka and on the
embedded Tansu broker (no idempotent producer there, slow rebalances, fetches that must
not wait long)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from pydantic import BaseModel

from flightdeck.events.topics import Topics

T = TypeVar("T")

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""Largest record, in bytes, the producer sends and our topics accept (events stay under 5 MiB)."""


class KafkaSettings(BaseModel):
    """How to reach the broker and how clients behave."""

    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "flightdeck"
    topic_prefix: str = ""
    idempotent_producer: bool = False
    """On for Apache Kafka; the embedded broker lacks InitProducerId."""
    request_timeout_ms: int = 10_000
    linger_ms: int = 2
    fetch_max_wait_ms: int = 20
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    max_poll_records: int = 500
    max_partition_fetch_bytes: int = 1024 * 1024
    """Most bytes one fetch asks for per partition."""
    partitions: int = 3
    replication_factor: int = 1

    @property
    def topics(self) -> Topics:
        """Topic names with this installation's prefix."""
        return Topics(self.topic_prefix)


def new_producer(settings: KafkaSettings) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=settings.client_id,
        acks="all",
        enable_idempotence=settings.idempotent_producer,
        linger_ms=settings.linger_ms,
        request_timeout_ms=settings.request_timeout_ms,
        max_request_size=MAX_MESSAGE_BYTES,
    )


def new_consumer(
    settings: KafkaSettings, group_id: str | None, topics: Iterable[str]
) -> AIOKafkaConsumer:
    """A consumer with manual offset commits, reading from the start of new partitions."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.bootstrap_servers,
        client_id=settings.client_id,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_poll_records=settings.max_poll_records,
        max_partition_fetch_bytes=settings.max_partition_fetch_bytes,
        request_timeout_ms=max(settings.request_timeout_ms, settings.session_timeout_ms + 5_000),
    )


_abandoned: set[asyncio.Task[Any]] = set()


async def bounded(awaitable: Awaitable[T], seconds: float) -> T:
    """Await at most `seconds`, then raise TimeoutError without waiting any longer.

    `asyncio.wait_for` waits for the cancelled call to finish cancelling; some aiokafka calls
    (stopping a consumer whose broker vanished) take their time doing so. Those are cancelled
    and left to end on their own.
    """
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(_settled)
    raise TimeoutError(f"no answer within {seconds}s")


def cancelled_from_outside() -> bool:
    """Whether the running task itself was asked to stop, as opposed to a CancelledError
    leaking out of a library's internal task (aiokafka does that when a broker vanishes)."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0


def _settled(task: asyncio.Task[Any]) -> None:
    _abandoned.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.debug("abandoned call ended with %r", task.exception())


_creating: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def ensure_topics(settings: KafkaSettings, names: Iterable[str]) -> None:
    """Create the topics that do not exist yet.

    Serialised within the process: two concurrent creations of one topic can make the
    embedded broker start it afresh, losing what was just written to it.
    """
    lock = _creating.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        await _create_missing(settings, names)


async def _create_missing(settings: KafkaSettings, names: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=settings.client_id,
        request_timeout_ms=settings.request_timeout_ms,
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name,
                settings.partitions,
                settings.replication_factor,
                topic_configs={"max.message.bytes": str(MAX_MESSAGE_BYTES)},
            )
            for name in dict.fromkeys(names)
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()


async def broker_reachable(settings: KafkaSettings, timeout: float = 2.0) -> bool:
    """Whether the broker answers a metadata request within `timeout` seconds."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=f"{settings.client_id}-probe",
        request_timeout_ms=int(timeout * 1000),
    )
    try:
        await bounded(admin.start(), timeout)
        await bounded(admin.list_topics(), timeout)
    except (KafkaError, OSError, TimeoutError) as exc:
        log.debug("broker not reachable: %s", exc)
        return False
    finally:
        with contextlib.suppress(KafkaError, OSError, TimeoutError):
            await bounded(admin.close(), timeout)
    return True


async def partitions_of(consumer: AIOKafkaConsumer, topic: str, timeout: float = 5.0) -> list[int]:
    """The partitions of `topic`, read from fresh cluster metadata (waits briefly for a
    topic that was just created)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        cluster = await consumer._client.fetch_all_metadata()
        partitions = cluster.partitions_for_topic(topic)
        if partitions or asyncio.get_running_loop().time() > deadline:
            return sorted(partitions or [])
        await asyncio.sleep(0.1)


class ProducerHandle:
    """A producer started on first use, shared by the relay and the consumer's dead-lettering,
    and started afresh after it failed to start."""

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

    async def close(self) -> None:
        """Flush and stop; a later `get` starts a new producer."""
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await _quietly_stop(producer)


async def _quietly_stop(producer: AIOKafkaProducer) -> None:
    try:
        await bounded(producer.stop(), 10)
    except Exception as exc:  # stopping a broken producer must not mask the original error
        log.debug("producer stop failed: %s", exc)
