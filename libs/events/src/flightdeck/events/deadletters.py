"""Reading and replaying a consumer's dead-letter topic."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from flightdeck.events.consumer import DLQ_HEADERS
from flightdeck.events.kafka import KafkaSettings, ensure_topics, new_consumer, partitions_of
from flightdeck.events.relay import ProducerHandle


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record a consumer gave up on, with why."""

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
    value: bytes
    headers: list[tuple[str, bytes]]

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly view without the payload bytes."""
        return {
            "consumer": self.consumer,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "error": self.error,
            "error_type": self.error_type,
            "attempts": self.attempts,
            "failed_at": self.failed_at,
            "original_topic": self.original_topic,
            "original_partition": self.original_partition,
            "original_offset": self.original_offset,
        }


async def read_dead_letters(
    settings: KafkaSettings, consumer: str, *, idle_ms: int = 500, limit: int = 10_000
) -> list[DeadLetter]:
    """Every record in `consumer`'s dead-letter topic, oldest first per partition."""
    topic = settings.topics.dlq(consumer)
    await ensure_topics(settings, [topic])
    reader = new_consumer(settings, None, [])
    await reader.start()
    try:
        return await _read_all(reader, topic, consumer, idle_ms, limit)
    finally:
        await reader.stop()


async def _read_all(
    reader: AIOKafkaConsumer, topic: str, consumer: str, idle_ms: int, limit: int
) -> list[DeadLetter]:
    partitions = await partitions_of(reader, topic)
    reader.assign([TopicPartition(topic, p) for p in partitions])
    await reader.seek_to_beginning()
    letters: list[DeadLetter] = []
    while len(letters) < limit:
        batches = await reader.getmany(timeout_ms=idle_ms)
        if not batches:
            break
        for records in batches.values():
            letters += [_letter(consumer, record) for record in records]
    letters.sort(key=lambda letter: (letter.failed_at, letter.partition, letter.offset))
    return letters[:limit]


def _letter(consumer: str, record: Any) -> DeadLetter:
    headers = {name: value.decode(errors="replace") for name, value in record.headers}
    return DeadLetter(
        consumer=consumer,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode(errors="replace") if record.key else None,
        event_id=headers.get("ce_id"),
        event_type=headers.get("ce_type"),
        error=headers.get("dlq_error", ""),
        error_type=headers.get("dlq_error_type", ""),
        attempts=int(headers.get("dlq_attempts", "0") or 0),
        failed_at=headers.get("dlq_failed_at", ""),
        original_topic=headers.get("dlq_original_topic", ""),
        original_partition=int(headers.get("dlq_original_partition", "-1") or -1),
        original_offset=int(headers.get("dlq_original_offset", "-1") or -1),
        value=record.value or b"",
        headers=list(record.headers),
    )


async def replay_dead_letters(
    settings: KafkaSettings,
    consumer: str,
    *,
    event_ids: set[str] | None = None,
) -> list[DeadLetter]:
    """Publish dead letters back onto their original topics; returns those replayed.

    Consumers are idempotent, so replaying a letter twice has one effect.
    """
    letters = await read_dead_letters(settings, consumer)
    chosen = [one for one in letters if event_ids is None or one.event_id in event_ids]
    producer = ProducerHandle(settings)
    try:
        kafka = await producer.get()
        sends = [
            await kafka.send(
                settings.topics.physical(letter.original_topic),
                value=letter.value,
                key=letter.key.encode() if letter.key is not None else None,
                headers=[(k, v) for k, v in letter.headers if k not in DLQ_HEADERS],
            )
            for letter in chosen
            if letter.original_topic
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.close()
    return chosen
