"""Outbox relay drain and commit-to-consume propagation, against raw aiokafka produce and
consume measured in the same run (issue 2: drain >= 10k events/s on PostgreSQL; propagation
p99 < 100 ms at 200 events/s)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from aiokafka import TopicPartition

from bench.harness import Bench, Report, Timer, summary_ms
from flightdeck.events.catalogue import ReleasePlanned
from flightdeck.events.consumer import ConsumerRunner
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import ensure_topics, new_consumer, new_producer, partitions_of
from flightdeck.events.outbox import stage_many
from flightdeck.events.relay import OutboxRelay
from flightdeck.events.testing import example
from flightdeck.events.topics import events_topic
from flightdeck.kit.db import create_engine, session_factory
from flightdeck.kit.uow import UnitOfWork

DRAIN_EVENTS = 30_000
RATE = 200
RATE_SECONDS = 10


def _event(n: int) -> Envelope[Any]:
    return Envelope(data=example(ReleasePlanned, release_id=f"rel-{n}-{uuid.uuid4().hex[:6]}"))


async def raw_produce_consume(bench: Bench, count: int, size: int = 500) -> tuple[float, float]:
    """Messages per second for plain aiokafka produce, then consume, of `count` messages."""
    kafka = bench.kafka()
    topic = kafka.topics.physical("raw")
    await ensure_topics(kafka, [topic])
    producer = new_producer(kafka)
    await producer.start()
    payload = b"x" * size
    with Timer() as produced:
        futures = [
            await producer.send(topic, payload, key=str(n % 64).encode()) for n in range(count)
        ]
        await asyncio.gather(*futures)
    await producer.stop()
    consumer = new_consumer(kafka, None, [])
    await consumer.start()
    consumer.assign([TopicPartition(topic, p) for p in await partitions_of(consumer, topic)])
    await consumer.seek_to_beginning()
    seen = 0
    with Timer() as consumed:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(records) for records in batches.values())
    await consumer.stop()
    return count / produced.seconds, count / consumed.seconds


async def relay_drain(bench: Bench, count: int) -> float:
    """Events per second the relay publishes from a full outbox."""
    kafka = bench.kafka()
    url = await bench.databases.create("bench_outbox")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for start in range(0, count, 5000):
                await stage_many(conn, [_event(n) for n in range(start, min(start + 5000, count))])
        relay = OutboxRelay(engine, kafka, batch_size=2000)
        await relay.drain_once()  # connect and create the topic outside the timing
        with Timer() as timer:
            drained = await relay.drain()
        assert await relay.pending() == 0
        await relay._producer.close()
        return (drained + 0) / timer.seconds
    finally:
        await engine.dispose()


async def raw_latency(bench: Bench, rate: int, seconds: int) -> list[float]:
    """Produce-to-receive latency of plain aiokafka at `rate` messages per second."""
    kafka = bench.kafka()
    topic = kafka.topics.physical("latency")
    await ensure_topics(kafka, [topic])
    consumer = new_consumer(kafka, None, [])
    await consumer.start()
    consumer.assign([TopicPartition(topic, p) for p in await partitions_of(consumer, topic)])
    await consumer.seek_to_end()
    producer = new_producer(kafka)
    await producer.start()
    latencies: list[float] = []
    total = rate * seconds

    async def receive() -> None:
        while len(latencies) < total:
            batches = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            latencies.extend(now - float(r.value) for records in batches.values() for r in records)

    receiver = asyncio.create_task(receive())
    for n in range(total):
        await producer.send(topic, str(time.perf_counter()).encode(), key=str(n).encode())
        await asyncio.sleep(1 / rate)
    await asyncio.wait_for(receiver, 30)
    await producer.stop()
    await consumer.stop()
    return latencies


async def propagation(bench: Bench, rate: int, seconds: int) -> list[float]:
    """Producer-commit to consumer-commit latency through outbox, relay, broker, inbox."""
    kafka = bench.kafka()
    producer_url = await bench.databases.create("bench_outbox")
    consumer_url = await bench.databases.create("bench_outbox")
    producer_engine, consumer_engine = create_engine(producer_url), create_engine(consumer_url)
    relay = OutboxRelay(producer_engine, kafka, poll_interval=0.5)
    producer_sessions, consumer_sessions = (
        session_factory(producer_engine),
        session_factory(consumer_engine),
    )
    committed_at: dict[str, float] = {}
    latencies: list[float] = []
    total = rate * seconds
    all_arrived = asyncio.Event()

    async def handle(envelope: Envelope[Any]) -> None:
        async with UnitOfWork(consumer_sessions, cause=envelope, consumer="bench") as uow:
            await uow.commit()
        latencies.append(time.perf_counter() - committed_at[envelope.id])
        if len(latencies) >= total:
            all_arrived.set()

    runner = ConsumerRunner(kafka, group="bench", topics=[events_topic("planning")], handle=handle)
    await ensure_topics(kafka, [kafka.topics.events("planning")])
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(runner.run())]
    await asyncio.wait_for(runner.assigned.wait(), 30)
    started = time.perf_counter()
    for n in range(total):
        async with UnitOfWork(producer_sessions, on_commit=relay.notify) as uow:
            envelope = uow.publish(_event(n).data)
            await uow.commit()
        committed_at[envelope.id] = time.perf_counter()
        delay = started + (n + 1) / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_arrived.wait(), 30)
    runner.stop()
    relay.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    await producer_engine.dispose()
    await consumer_engine.dispose()
    return latencies


async def run(bench: Bench) -> Report:
    report = Report("outbox")
    produce_rate, consume_rate = await raw_produce_consume(bench, DRAIN_EVENTS)
    report.baselines["raw_produce_msgs_per_s"] = produce_rate
    report.baselines["raw_consume_msgs_per_s"] = consume_rate
    drain_rate = await relay_drain(bench, DRAIN_EVENTS)
    report.figures["relay_drain_events_per_s"] = drain_rate
    report.ratios["relay_drain_vs_raw_produce"] = drain_rate / produce_rate
    report.target("relay_drain_events_per_s", f">= 10000 on {bench.backend}", drain_rate >= 10_000)

    raw = summary_ms(await raw_latency(bench, RATE, RATE_SECONDS))
    report.baselines.update({f"raw_produce_to_consume_{k}": v for k, v in raw.items()})
    measured = await propagation(bench, RATE, RATE_SECONDS)
    if len(measured) < RATE * RATE_SECONDS:
        report.notes.append(f"only {len(measured)} of {RATE * RATE_SECONDS} events arrived")
    figures = summary_ms(measured)
    report.figures.update({f"propagation_{k}": v for k, v in figures.items()})
    report.ratios["propagation_p50_vs_raw_p50"] = figures["p50_ms"] / raw["p50_ms"]
    report.target(
        "propagation_p99_ms",
        f"< 100 at {RATE} events/s",
        figures["p99_ms"] < 100 and len(measured) == RATE * RATE_SECONDS,
    )
    return report
