"""Reading and replaying a consumer's dead-letter topic.

A replay goes to the consumer's own retry topic (`flightdeck.<consumer>.retry`), which only
that consumer group reads: other services never see the event twice. Handlers are idempotent,
so replaying a letter again has no second effect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import BaseModel, ConfigDict, Field

from flightdeck.events.consumer import DLQ_HEADERS
from flightdeck.events.kafka import (
    KafkaSettings,
    ProducerHandle,
    ensure_topics,
    new_consumer,
    partitions_of,
)


class DeadLetterSummary(BaseModel):
    """A dead letter as listed by the CLI and the admin endpoint (the payload stays on the
    topic)."""

    consumer: str
    partition: int
    offset: int
    key: str | None
    event_id: str | None
    event_type: str | None
    error: str
    error_type: str
    attempts: int
    failed_at: str
    original_topic: str
    original_partition: int
    original_offset: int


class DeadLetter(DeadLetterSummary):
    """A record a consumer gave up on, with why, and its key exactly as it was sent."""

    model_config = ConfigDict(frozen=True)

    raw_key: bytes | None = Field(default=None, exclude=True)

    def summary(self) -> DeadLetterSummary:
        """The operator's view."""
        return DeadLetterSummary(**self.model_dump())


@asynccontextmanager
async def _reader(settings: KafkaSettings, topic: str) -> Any:
    await ensure_topics(settings, [topic])
    reader = new_consumer(settings, None, [])
    await reader.start()
    try:
        reader.assign([TopicPartition(topic, p) for p in await partitions_of(reader, topic)])
        await reader.seek_to_beginning()
        yield reader
    finally:
        await reader.stop()


async def _records(reader: AIOKafkaConsumer, idle_ms: int) -> Any:
    """Every record until a fetch comes back empty (end offsets are unreliable on Tansu)."""
    while batches := await reader.getmany(timeout_ms=idle_ms):
        for records in batches.values():
            for record in records:
                yield record


async def read_dead_letters(
    settings: KafkaSettings, consumer: str, *, idle_ms: int = 500, limit: int = 10_000
) -> list[DeadLetter]:
    """The dead letters of `consumer`, oldest first (at most `limit`)."""
    letters: list[DeadLetter] = []
    async with _reader(settings, settings.topics.dlq(consumer)) as reader:
        async for record in _records(reader, idle_ms):
            letters.append(_letter(consumer, record))
    letters.sort(key=lambda letter: (letter.failed_at, letter.partition, letter.offset))
    return letters[:limit]


def _letter(consumer: str, record: ConsumerRecord) -> DeadLetter:
    headers = dict(_text_headers(record.headers))
    return DeadLetter(
        consumer=consumer,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode(errors="replace") if record.key is not None else None,
        raw_key=record.key,
        event_id=headers.get("ce_id"),
        event_type=headers.get("ce_type"),
        error=headers.get("dlq_error", ""),
        error_type=headers.get("dlq_error_type", ""),
        attempts=int(headers.get("dlq_attempts", "0") or 0),
        failed_at=headers.get("dlq_failed_at", ""),
        original_topic=headers.get("dlq_original_topic", ""),
        original_partition=int(headers.get("dlq_original_partition", "-1") or -1),
        original_offset=int(headers.get("dlq_original_offset", "-1") or -1),
    )


def _text_headers(headers: Any) -> Iterator[tuple[str, str]]:
    for name, value in headers:
        if value is not None:
            yield name, value.decode(errors="replace")


async def replay_dead_letters(
    settings: KafkaSettings, consumer: str, *, event_ids: set[str] | None = None
) -> list[DeadLetter]:
    """Send dead letters (all, or those with `event_ids`) to the consumer's retry topic, with
    their original key, value and headers; returns the letters replayed."""
    target = settings.topics.retry(consumer)
    await ensure_topics(settings, [target])
    producer = ProducerHandle(settings)
    replayed: list[DeadLetter] = []
    try:
        kafka = await producer.get()
        sends = []
        async with _reader(settings, settings.topics.dlq(consumer)) as reader:
            async for record in _records(reader, 500):
                letter = _letter(consumer, record)
                if event_ids is not None and letter.event_id not in event_ids:
                    continue
                headers = [(k, v) for k, v in record.headers if k not in DLQ_HEADERS]
                sends.append(
                    await kafka.send(target, value=record.value, key=record.key, headers=headers)
                )
                replayed.append(letter)
        await asyncio.gather(*sends)
    finally:
        await producer.close()
    return replayed
