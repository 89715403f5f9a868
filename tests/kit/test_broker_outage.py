"""The broker goes away and comes back: nothing is lost, nothing applied twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from flightdeck.events.embedded import EmbeddedBroker
from flightdeck.events.kafka import KafkaSettings
from flightdeck.events.tables import inbox, outbox
from flightdeck.events.testing import TopicProbe, eventually
from flightdeck.events.topics import events_topic
from flightdeck.kit.testing import Tokens, context_of
from tests.kit import sample
from tests.kit.test_http import ENTRY


@pytest.fixture
def own_broker() -> Iterator[EmbeddedBroker]:
    """A broker this test may stop and restart (memory-only: a restart loses everything)."""
    broker = EmbeddedBroker()
    yield broker
    broker.stop()


@pytest.fixture
def own_kafka(own_broker: EmbeddedBroker, kafka: KafkaSettings) -> KafkaSettings:
    return kafka.model_copy(
        update={"bootstrap_servers": own_broker.bootstrap_servers, "request_timeout_ms": 3000}
    )


async def _unpublished(context: Any) -> int:
    async with context.engine.connect() as conn:
        return int(
            await conn.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
            or 0
        )


async def test_events_wait_in_the_outbox_while_the_broker_is_down(
    start_sample: Any, own_broker: EmbeddedBroker, own_kafka: KafkaSettings, tokens: Tokens
) -> None:
    headers = tokens.headers("rita", "releaser")
    own_broker.start()
    await own_broker.wait_ready()
    async with start_sample(kafka_settings=own_kafka, kafka_request_timeout_ms=3000) as client:
        context = context_of(client.app)
        for n in range(3):
            assert (
                await client.post("/ledger", json={**ENTRY, "name": f"before-{n}"}, headers=headers)
            ).status_code == 201
        await eventually(
            lambda: _seen_at_least(context, 3), timeout=20, message="first three applied"
        )

        own_broker.stop()
        for n in range(4):
            response = await client.post(
                "/ledger", json={**ENTRY, "name": f"during-{n}"}, headers=headers
            )
            assert response.status_code == 201  # writes go on while the broker is away
        assert (await client.get("/readyz")).status_code == 503
        assert await _unpublished(context) == 4

        own_broker.start()
        await own_broker.wait_ready()
        await eventually(lambda: _none_pending(context), timeout=30, message="outbox drained")
        await eventually(
            lambda: _seen_at_least(context, 7), timeout=60, message="events after restart applied"
        )

        # Everything the restarted broker holds is exactly what waited in the outbox.
        async with TopicProbe(own_kafka, events_topic("planning")) as probe:
            await probe.wait_for_count(4)
            await probe.poll(0.5)
            names = sorted(envelope.data.name for envelope in probe.envelopes())
        assert names == [f"during-{n}" for n in range(4)]
        await eventually(lambda: _ready(client), timeout=10)

    assert await sample.count_seen(context) == 7
    async with context.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(inbox)) == 7


async def _seen_at_least(context: Any, count: int) -> bool:
    return await sample.count_seen(context) >= count


async def _none_pending(context: Any) -> bool:
    return await _unpublished(context) == 0


async def _ready(client: Any) -> bool:
    return bool((await client.get("/readyz")).status_code == 200)


async def test_readiness_follows_the_broker(
    start_sample: Any, own_broker: EmbeddedBroker, own_kafka: KafkaSettings
) -> None:
    async with start_sample(kafka_settings=own_kafka) as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": "ok", "broker": "unreachable"}
        assert (await client.get("/healthz")).status_code == 200
        own_broker.start()
        await own_broker.wait_ready()
        await eventually(lambda: _ready(client), timeout=15, message="ready once the broker is up")


async def test_readiness_reports_an_unreachable_database(start_sample: Any) -> None:
    from flightdeck.events.embedded import free_port

    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    async with start_sample(
        database_url=url, relay_enabled=False, consumer_enabled=False
    ) as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": "unreachable", "broker": "ok"}
        assert (await client.get("/healthz")).status_code == 200
