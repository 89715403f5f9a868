"""Every event type travels through the real broker and comes back equal, headers and all."""

from __future__ import annotations

import pytest

from flightdeck.events.catalogue import ALL_EVENTS
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import KafkaSettings
from flightdeck.events.testing import TopicProbe, example, publish
from flightdeck.events.topics import PUBLISHERS, events_topic

REQUIRED_HEADERS = {
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "content-type",
    "ce_dataschema",
    "ce_correlationid",
    "ce_causationid",
    "ce_traceparent",
}


@pytest.mark.parametrize("service", PUBLISHERS)
async def test_every_event_type_round_trips(kafka: KafkaSettings, service: str) -> None:
    cause = Envelope(data=example(ALL_EVENTS[0]))
    sent = [
        Envelope.caused_by(example(cls), cause, traceparent=f"00-{'a' * 32}-{'b' * 16}-01")
        for cls in ALL_EVENTS
        if cls.producer == service
    ]
    await publish(kafka, *sent)
    async with TopicProbe(kafka, events_topic(service)) as probe:
        records = await probe.wait_for_count(len(sent))
        received = {envelope.id: envelope for envelope in probe.envelopes()}
    assert set(received) == {envelope.id for envelope in sent}
    for envelope in sent:
        got = received[envelope.id]
        assert got.data == envelope.data
        assert type(got.data) is type(envelope.data)
        assert got.time == envelope.time
        assert (got.subject, got.source, got.type) == (
            envelope.subject,
            envelope.source,
            envelope.type,
        )
        assert got.causation_id == cause.id
        assert got.correlation_id == envelope.correlation_id
        assert got.traceparent == envelope.traceparent
    for record in records:
        headers = dict(record.headers)
        assert set(headers) >= REQUIRED_HEADERS
        assert headers["ce_specversion"] == b"1.0"
        assert headers["content-type"] == b"application/json"
        assert record.key == headers["ce_subject"]
