"""The consumer runner with a batch handler: every partition's records of a fetch in one
call, committed after it; a failing batch falls back to one record at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from flightdeck.events.catalogue import DeploymentStarted, ReleasePlanned
from flightdeck.events.consumer import ConsumerRunner, RetryPolicy
from flightdeck.events.deadletters import read_dead_letters
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import KafkaSettings
from flightdeck.events.testing import eventually, example, publish
from flightdeck.events.topics import events_topic

TOPICS = [events_topic("planning"), events_topic("executor")]


def _events() -> list[Envelope[Any]]:
    planned = [Envelope(data=example(ReleasePlanned, release_id=f"rel-{n}")) for n in range(30)]
    started = [Envelope(data=example(DeploymentStarted)) for _ in range(30)]
    return [*planned, *started]


Running = tuple[ConsumerRunner, "asyncio.Task[None]"]


async def _drain(running: Running) -> None:
    runner, task = running
    runner.stop()
    await asyncio.wait_for(task, 10)


def _start(kafka: KafkaSettings, group: str, batch: Any, **options: Any) -> Running:
    async def single(envelope: Envelope[Any]) -> None:
        raise AssertionError("with a batch handler, single records go through it too")

    runner = ConsumerRunner(
        kafka, group=group, topics=TOPICS, handle=single, batch_handle=batch, **options
    )
    return runner, asyncio.create_task(runner.run())


async def test_one_call_holds_the_records_of_several_partitions(kafka: KafkaSettings) -> None:
    events = _events()
    await publish(kafka, *events)
    calls: list[list[str]] = []

    async def batch(envelopes: Sequence[Envelope[Any]]) -> None:
        calls.append([envelope.type for envelope in envelopes])

    runner = _start(kafka, "batches", batch)
    await eventually(lambda: sum(map(len, calls)) >= len(events), timeout=30)
    await _drain(runner)
    assert sum(map(len, calls)) == len(events), "a committed record was delivered again"
    assert any(len(set(types)) == 2 for types in calls), calls  # both topics in one call

    again: list[str] = []

    async def record(envelopes: Sequence[Envelope[Any]]) -> None:
        again.extend(envelope.id for envelope in envelopes)

    extra = Envelope(data=example(ReleasePlanned, release_id="rel-late"))
    await publish(kafka, extra)
    second = _start(kafka, "batches", record)
    await eventually(lambda: extra.id in again, timeout=30)
    await _drain(second)
    assert again == [extra.id], "the offsets of the batch calls were not committed"


async def test_a_failing_batch_is_retried_record_by_record(kafka: KafkaSettings) -> None:
    events = _events()
    poison = events[7]
    await publish(kafka, *events)
    handled: list[str] = []
    sizes: list[int] = []

    async def batch(envelopes: Sequence[Envelope[Any]]) -> None:
        sizes.append(len(envelopes))
        if any(envelope.id == poison.id for envelope in envelopes):
            raise ValueError("poison")
        handled.extend(envelope.id for envelope in envelopes)

    retry = RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.02)
    runner = _start(kafka, "poisoned", batch, retry=retry)
    await eventually(lambda: len(handled) >= len(events) - 1, timeout=30)
    letters = await read_dead_letters(kafka, "poisoned")
    await _drain(runner)
    assert sorted(handled) == sorted(e.id for e in events if e.id != poison.id)
    assert [letter.event_id for letter in letters] == [poison.id]
    assert max(sizes) > 1, "never handed a batch"
    assert 1 in sizes, "never retried a record on its own"


async def test_batches_in_flight_overlap_and_commit_every_offset(kafka: KafkaSettings) -> None:
    small = kafka.model_copy(update={"max_poll_records": 5})
    events = _events()
    await publish(small, *events)
    handled: list[str] = []
    running = overlapped = 0
    second_started = asyncio.Event()

    async def batch(envelopes: Sequence[Envelope[Any]]) -> None:
        nonlocal running, overlapped
        running += 1
        overlapped = max(overlapped, running)
        if running > 1:
            second_started.set()
        try:
            if not handled:  # the first batch waits until a second one is handed over
                await asyncio.wait_for(second_started.wait(), 10)
            handled.extend(envelope.id for envelope in envelopes)
        finally:
            running -= 1

    runner = _start(small, "in-flight", batch, batches_in_flight=2)
    await eventually(lambda: len(handled) >= len(events), timeout=30)
    await _drain(runner)
    assert overlapped == 2
    assert sorted(handled) == sorted(e.id for e in events)

    again: list[str] = []

    async def record(envelopes: Sequence[Envelope[Any]]) -> None:
        again.extend(envelope.id for envelope in envelopes)

    extra = Envelope(data=example(ReleasePlanned, release_id="rel-late"))
    await publish(small, extra)
    second = _start(small, "in-flight", record, batches_in_flight=2)
    await eventually(lambda: extra.id in again, timeout=30)
    await _drain(second)
    assert again == [extra.id], "an offset of a batch in flight was not committed"


async def test_a_younger_batch_is_not_committed_past_an_unfinished_older_one(
    kafka: KafkaSettings,
) -> None:
    """Stopped while an older batch retries a record, a younger batch of the same partition
    that completed is not committed: its offsets lie beyond the record not handled yet."""
    small = kafka.model_copy(update={"max_poll_records": 5})
    events = [  # one key, so one partition
        Envelope(data=example(ReleasePlanned, release_id="rel-1"), subject="rel-1")
        for _ in range(12)
    ]
    poison = events[2]
    await publish(small, *events)
    handled: list[str] = []
    younger_done = asyncio.Event()

    async def batch(envelopes: Sequence[Envelope[Any]]) -> None:
        if any(envelope.id == poison.id for envelope in envelopes):
            raise ValueError("poison")
        handled.extend(envelope.id for envelope in envelopes)
        if any(envelope.id in {e.id for e in events[5:]} for envelope in envelopes):
            younger_done.set()

    slow = RetryPolicy(max_attempts=5, backoff_base=30, backoff_max=30)
    runner = _start(small, "unfinished", batch, retry=slow, batches_in_flight=2)
    await asyncio.wait_for(younger_done.wait(), 30)
    await _drain(runner)  # the poison's retry is waiting: the older batch stops unfinished

    again: list[str] = []

    async def record(envelopes: Sequence[Envelope[Any]]) -> None:
        again.extend(envelope.id for envelope in envelopes)

    second = _start(small, "unfinished", record)
    await eventually(lambda: poison.id in again and events[-1].id in again, timeout=30)
    await _drain(second)
    assert poison.id not in handled
    assert set(handled) | set(again) == {e.id for e in events}, "a record was lost"
    assert again[0] == poison.id, "the records before the poison were not committed"


async def test_cancelling_the_runner_cancels_the_batches_in_flight(
    kafka: KafkaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while it fetches the next records, the runner cancels the batch in flight
    instead of waiting for it."""
    small = kafka.model_copy(update={"max_poll_records": 5})
    await publish(small, *_events()[:3])  # one fetch
    started = asyncio.Event()
    cancelled: list[int] = []
    fetch = AIOKafkaConsumer.getmany
    fetched = False

    async def slow_fetch(self: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> Any:
        nonlocal fetched
        if fetched:  # the fetch after the records: still waiting when the runner is cancelled
            await asyncio.Event().wait()
        records = await fetch(self, *args, **kwargs)
        fetched = fetched or bool(records)
        return records

    monkeypatch.setattr(AIOKafkaConsumer, "getmany", slow_fetch)

    async def batch(envelopes: Sequence[Envelope[Any]]) -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # a batch that would never end by itself
        except asyncio.CancelledError:
            cancelled.append(len(envelopes))
            raise

    _, task = _start(small, "cancelled", batch, batches_in_flight=2)
    await asyncio.wait_for(started.wait(), 30)
    await asyncio.sleep(0.2)  # the runner is in its next fetch
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=10)
    assert done, "the runner waited for the batch in flight instead of cancelling it"
    assert cancelled == [3]
