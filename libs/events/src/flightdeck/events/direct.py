"""Publishing envelopes straight to their producer's topic, without an outbox.

For tools and tests that stand in for a producer (`flightdeck publish`, a CI bridge, the test
suite). A service publishes through its outbox instead: this gives no atomicity with any state.
"""

from __future__ import annotations

from typing import Any

from flightdeck.events.codec import encode
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import KafkaSettings, ensure_topics, new_producer
from flightdeck.events.topics import events_topic


async def publish_direct(settings: KafkaSettings, *envelopes: Envelope[Any]) -> None:
    """Publish `envelopes`, in order, each on `flightdeck.<producer>.events`; waits for acks."""
    topics = {settings.topics.physical(events_topic(e.data.producer)) for e in envelopes}
    await ensure_topics(settings, topics)
    producer = new_producer(settings)
    await producer.start()
    try:
        for envelope in envelopes:
            message = encode(envelope)
            await producer.send_and_wait(
                settings.topics.physical(events_topic(envelope.data.producer)),
                value=message.value,
                key=message.key,
                headers=message.headers,
            )
    finally:
        await producer.stop()
