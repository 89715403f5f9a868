"""The consumer runner on its own: stopping mid-batch keeps what was done."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from flightdeck.events.catalogue import ReleasePlanned
from flightdeck.events.consumer import ConsumerRunner
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import KafkaSettings
from flightdeck.events.testing import eventually, example, publish
from flightdeck.events.topics import events_topic


async def test_stop_finishes_the_record_in_hand_and_commits_what_was_done(
    kafka: KafkaSettings,
) -> None:
    events = [Envelope(data=example(ReleasePlanned, release_id=f"rel-{n}")) for n in range(60)]
    await publish(kafka, *events)
    handled: list[str] = []

    async def slow(envelope: Envelope[Any]) -> None:
        await asyncio.sleep(0.05)
        handled.append(envelope.id)

    first = ConsumerRunner(kafka, group="stopper", topics=[events_topic("planning")], handle=slow)
    task = asyncio.create_task(first.run())
    await eventually(lambda: len(handled) >= 5, timeout=20)
    started = time.monotonic()
    first.stop()
    await asyncio.wait_for(task, 10)
    assert time.monotonic() - started < 2, "stop waited for the whole batch"
    done_before_stop = list(handled)
    assert len(done_before_stop) < len(events)

    rest: list[str] = []

    async def record(envelope: Envelope[Any]) -> None:
        rest.append(envelope.id)

    second = ConsumerRunner(
        kafka, group="stopper", topics=[events_topic("planning")], handle=record
    )
    task = asyncio.create_task(second.run())
    await eventually(lambda: len(done_before_stop) + len(rest) >= len(events), timeout=30)
    second.stop()
    await asyncio.wait_for(task, 10)
    assert set(done_before_stop) | set(rest) == {e.id for e in events}
    assert not set(done_before_stop) & set(rest), "committed work was delivered again"
