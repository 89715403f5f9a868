"""Test helpers: example events of every type, publishing as another service would, and a
probe that reads what reached a topic."""

from __future__ import annotations

import asyncio
import time
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel

from flightdeck.events.codec import DecodeError, decode
from flightdeck.events.direct import publish_direct
from flightdeck.events.envelope import Envelope, Event
from flightdeck.events.kafka import (
    KafkaSettings,
    ensure_topics,
    new_consumer,
    new_producer,
    partitions_of,
)

E = TypeVar("E", bound=Event)

EXAMPLE_TIME = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def example(cls: type[E], **overrides: Any) -> E:
    """A valid instance of `cls` with every field (optional ones too) filled in."""
    values = {name: _value(field.annotation, name) for name, field in cls.model_fields.items()}
    values.update(overrides)
    return cls.model_validate(values)


def _value(annotation: Any, name: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _value(args[0], name)
    if origin in (typing.Union, types.UnionType):
        return _value(next(a for a in args if a is not type(None)), name)
    if origin is list:
        return [_value(args[0], name)]
    if origin is dict:
        return {"key": "value"}
    if isinstance(annotation, type):
        return _scalar(annotation, name)
    return f"{name}-1"


def _scalar(kind: type, name: str) -> Any:
    if issubclass(kind, BaseModel):
        return {n: _value(f.annotation, n) for n, f in kind.model_fields.items()}
    if issubclass(kind, Enum):
        return next(iter(kind)).value
    if kind is bool:
        return True
    if kind is int:
        return 3
    if kind is float:
        return 0.25
    if kind is datetime or kind.__name__ in {"AwareDatetime", "NaiveDatetime"}:
        return EXAMPLE_TIME.isoformat()
    if kind is date:
        return "2026-06-30"
    return f"{name}-1"


async def publish(settings: KafkaSettings, *envelopes: Envelope[Any]) -> None:
    """Publish envelopes straight to their topics, as the producing service's relay would."""
    await publish_direct(settings, *envelopes)


async def publish_raw(
    settings: KafkaSettings,
    logical_topic: str,
    value: bytes,
    headers: list[tuple[str, bytes]],
    key: bytes | None = None,
) -> None:
    """Publish arbitrary bytes (for malformed or foreign records)."""
    producer = new_producer(settings)
    topic = settings.topics.physical(logical_topic)
    await ensure_topics(settings, [topic])
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


class TopicProbe:
    """Reads a topic from its beginning, without a consumer group."""

    def __init__(self, settings: KafkaSettings, logical_topic: str) -> None:
        self.settings = settings
        self.topic = settings.topics.physical(logical_topic)
        self.records: list[Any] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> TopicProbe:
        await ensure_topics(self.settings, [self.topic])
        self._consumer = new_consumer(self.settings, None, [])
        await self._consumer.start()
        partitions = await partitions_of(self._consumer, self.topic)
        self._consumer.assign([TopicPartition(self.topic, p) for p in partitions])
        await self._consumer.seek_to_beginning()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def poll(self, timeout: float = 0.2) -> list[Any]:
        """Fetch what arrived since the last poll."""
        assert self._consumer is not None, "use `async with`"
        batches = await self._consumer.getmany(timeout_ms=int(timeout * 1000))
        fresh = [record for records in batches.values() for record in records]
        self.records += fresh
        return fresh

    def envelopes(self) -> list[Envelope[Event]]:
        """Every record read so far that decodes."""
        decoded = []
        for record in self.records:
            try:
                decoded.append(decode(record.value, record.headers))
            except DecodeError:
                continue
        return decoded

    async def wait_for(
        self, predicate: Callable[[list[Any]], bool], timeout: float = 15.0
    ) -> list[Any]:
        """Poll until `predicate(records)` holds; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate(self.records):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.topic}: condition not met; {len(self.records)} records"
                )
            await self.poll()
        return self.records

    async def wait_for_count(self, count: int, timeout: float = 15.0) -> list[Any]:
        """Wait until at least `count` records arrived."""
        return await self.wait_for(lambda records: len(records) >= count, timeout)


async def eventually(
    check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1, message: str = ""
) -> Any:
    """Call (and await) `check` until it returns something truthy; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
