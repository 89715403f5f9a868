"""The relay: order per key, rows marked only after the broker acknowledged, replicas sharing
one PostgreSQL outbox without publishing a row twice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaError
from sqlalchemy import func, select

from flightdeck.events.catalogue import ReleasePlanned
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import KafkaSettings
from flightdeck.events.outbox import stage_many
from flightdeck.events.relay import OutboxRelay
from flightdeck.events.tables import outbox
from flightdeck.events.testing import TopicProbe, example
from flightdeck.events.topics import events_topic
from flightdeck.kit.db import create_engine


def _events(count: int, keys: int) -> list[Envelope[Any]]:
    return [
        Envelope(data=example(ReleasePlanned, release_id=f"rel-{n % keys}", version=f"{n}"))
        for n in range(count)
    ]


async def test_relay_publishes_in_order_per_key_and_marks_rows(
    databases: Any, kafka: KafkaSettings
) -> None:
    engine = create_engine(await databases.create("relay"))
    try:
        sent = _events(600, keys=7)
        async with engine.begin() as conn:
            await stage_many(conn, sent)
        relay = OutboxRelay(engine, kafka, batch_size=128)
        assert await relay.pending() == 600
        assert await relay.drain() == 600
        assert await relay.pending() == 0
        await relay._producer.close()
        async with TopicProbe(kafka, events_topic("planning")) as probe:
            await probe.wait_for_count(600)
            received = probe.envelopes()
    finally:
        await engine.dispose()
    assert sorted(e.id for e in received) == sorted(e.id for e in sent)
    for key in {e.subject for e in sent}:
        versions = [int(e.data.version) for e in received if e.subject == key]
        assert versions == sorted(versions), f"{key} out of order"


async def test_replicas_share_the_outbox_without_duplicates(
    databases: Any, kafka: KafkaSettings
) -> None:
    url = await databases.create("relay")
    engines = [create_engine(url) for _ in range(3)]
    try:
        sent = _events(900, keys=5)
        async with engines[0].begin() as conn:
            await stage_many(conn, sent)
        relays = [
            OutboxRelay(engine, kafka, batch_size=50, poll_interval=0.02) for engine in engines
        ]
        if databases.backend == "sqlite":
            relays = relays[:1]  # SQLite: exactly one relay per database file
        tasks = [asyncio.create_task(relay.run()) for relay in relays]
        async with TopicProbe(kafka, events_topic("planning")) as probe:
            await probe.wait_for_count(900, timeout=30)
            await probe.poll(1.0)
            received = probe.envelopes()
        for relay in relays:
            relay.stop()
        await asyncio.gather(*tasks)
        async with engines[0].connect() as conn:
            unpublished = await conn.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
    finally:
        for engine in engines:
            await engine.dispose()
    assert unpublished == 0
    assert len(received) == 900, "a row was published twice"
    for key in {e.subject for e in sent}:
        versions = [int(e.data.version) for e in received if e.subject == key]
        assert versions == sorted(versions), f"{key} out of order"


async def test_nothing_is_marked_sent_when_the_broker_is_unreachable(
    databases: Any, kafka: KafkaSettings
) -> None:
    from flightdeck.events.embedded import free_port

    engine = create_engine(await databases.create("relay"))
    nowhere = kafka.model_copy(
        update={"bootstrap_servers": f"127.0.0.1:{free_port()}", "request_timeout_ms": 1000}
    )
    try:
        async with engine.begin() as conn:
            await stage_many(conn, _events(10, keys=2))
        relay = OutboxRelay(engine, nowhere)
        with pytest.raises(KafkaError):
            await relay.drain_once()
        assert await relay.pending() == 10
        await relay._producer.close()
    finally:
        await engine.dispose()


async def test_a_row_the_broker_refuses_is_set_aside_and_the_rest_flows(
    databases: Any, kafka: KafkaSettings
) -> None:
    from sqlalchemy import insert

    from flightdeck.events.outbox import outbox_row

    engine = create_engine(await databases.create("relay"))
    try:
        first, huge, last = _events(3, keys=1)
        oversized = {**outbox_row(huge), "value": b"x" * (9 * 1024 * 1024)}
        async with engine.begin() as conn:
            await stage_many(conn, [first])
            await conn.execute(insert(outbox), [oversized])
            await stage_many(conn, [last])
        relay = OutboxRelay(engine, kafka)
        assert await relay.drain() == 2
        assert await relay.pending() == 0
        await relay._producer.close()
        async with engine.connect() as conn:
            refused = (
                await conn.execute(
                    select(outbox.c.event_id, outbox.c.error).where(outbox.c.failed_at.is_not(None))
                )
            ).all()
        async with TopicProbe(kafka, events_topic("planning")) as probe:
            await probe.wait_for_count(2)
            await probe.poll(0.5)
            received = [e.id for e in probe.envelopes()]
    finally:
        await engine.dispose()
    assert [row.event_id for row in refused] == [huge.id]
    assert "MessageSizeTooLarge" in refused[0].error
    assert received == [first.id, last.id]


def test_an_event_too_large_for_the_outbox_is_refused_when_staged() -> None:
    from flightdeck.events.outbox import EventTooLarge, outbox_row

    big = Envelope(data=example(ReleasePlanned, name="x" * (6 * 1024 * 1024)))
    with pytest.raises(EventTooLarge, match="at most"):
        outbox_row(big)


async def test_one_keys_events_leave_in_commit_order(databases: Any, kafka: KafkaSettings) -> None:
    if databases.backend != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE); the race needs PostgreSQL")
    engine = create_engine(await databases.create("relay"))
    try:
        early = Envelope(data=example(ReleasePlanned, release_id="rel-1", version="1-first"))
        late = Envelope(data=example(ReleasePlanned, release_id="rel-1", version="2-second"))
        slow = await engine.connect()
        transaction = await slow.begin()
        await stage_many(slow, [early])  # takes outbox id n, commits later

        async def stage_late() -> None:
            async with engine.begin() as conn:
                await stage_many(conn, [late])

        racing = asyncio.create_task(stage_late())
        await asyncio.sleep(0.3)
        assert not racing.done(), "the second transaction must wait for the key"
        await transaction.commit()
        await slow.close()
        await racing
        relay = OutboxRelay(engine, kafka)
        assert await relay.drain() == 2
        await relay._producer.close()
        async with TopicProbe(kafka, events_topic("planning")) as probe:
            await probe.wait_for_count(2)
            versions = [e.data.version for e in probe.envelopes()]
    finally:
        await engine.dispose()
    assert versions == ["1-first", "2-second"]


async def test_batches_stay_under_the_byte_cap(databases: Any, kafka: KafkaSettings) -> None:
    from flightdeck.events.outbox import outbox_row

    engine = create_engine(await databases.create("relay"))
    try:
        sent = _events(10, keys=3)
        size = len(outbox_row(sent[0])["value"])
        async with engine.begin() as conn:
            await stage_many(conn, sent)
        relay = OutboxRelay(engine, kafka, max_batch_bytes=3 * size)
        assert await relay.drain_once() == 3
        assert await relay.drain() == 7
        await relay._producer.close()
    finally:
        await engine.dispose()


async def test_stage_writes_into_the_callers_transaction(databases: Any) -> None:
    from flightdeck.events.outbox import stage

    engine = create_engine(await databases.create("relay"))
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            await stage(conn, *_events(2, keys=1))
            await transaction.rollback()  # the state change failed: its events go with it
        async with engine.begin() as conn:
            await stage(conn, *_events(3, keys=1))
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(outbox)) == 3
    finally:
        await engine.dispose()
