"""Outbox, relay, consumer and inbox working together through the real broker."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from flightdeck.events.catalogue import ChangeRejected, ReleasePlanned
from flightdeck.events.deadletters import read_dead_letters
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import KafkaSettings
from flightdeck.events.tables import inbox, outbox
from flightdeck.events.testing import TopicProbe, eventually, example, publish, publish_raw
from flightdeck.events.topics import events_topic
from flightdeck.kit.testing import Tokens, context_of
from tests.kit import sample
from tests.kit.test_http import ENTRY


async def test_committed_write_reaches_the_topic_with_its_context(
    start_sample: Any, tokens: Tokens, kafka: KafkaSettings
) -> None:
    async with start_sample(consumer_enabled=False) as client:
        response = await client.post(
            "/ledger", json=ENTRY, headers=tokens.headers("rita", "releaser")
        )
        release_id = response.json()["id"]
        async with TopicProbe(kafka, events_topic("planning")) as probe:
            await probe.wait_for_count(1)
            (envelope,) = probe.envelopes()
        assert isinstance(envelope.data, ReleasePlanned)
        assert envelope.data.release_id == release_id
        assert envelope.subject == release_id
        assert envelope.correlation_id == release_id
        assert envelope.source == "/flightdeck/planning"
        assert envelope.traceparent
        assert envelope.traceparent.startswith("00-")
        context = context_of(client.app)
        assert await eventually(lambda: _pending(context, expect=0))


async def _pending(context: Any, expect: int) -> bool:
    async with context.engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
    return count == expect


async def test_same_event_delivered_twice_has_one_effect(
    start_sample: Any, kafka: KafkaSettings
) -> None:
    event = Envelope(data=example(ReleasePlanned, release_id="rel-twice"))
    async with start_sample() as client:
        context = context_of(client.app)
        await publish(kafka, event)
        await publish(kafka, event)
        await publish(kafka, Envelope(data=example(ReleasePlanned, release_id="rel-after")))
        await eventually(lambda: _count(context, 2), message="both releases applied")
        await _settle(context)
        assert await sample.count_seen(context) == 2
        async with context.engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(inbox)) == 2


async def _count(context: Any, expected: int, event_type: str | None = None) -> bool:
    return await sample.count_seen(context, event_type) >= expected


async def _settle(context: Any) -> None:
    """Wait until the consumer committed everything it fetched."""
    await eventually(
        lambda: context.runner.lag() and not any(context.runner.lag().values()), timeout=10
    )


async def test_failing_handler_rolls_back_retries_then_dead_letters(
    start_sample: Any, kafka: KafkaSettings
) -> None:
    poison = Envelope(data=example(ChangeRejected, change_id="chg-poison", reason="poison"))
    healthy = Envelope(data=example(ChangeRejected, change_id="chg-healthy", reason="fine"))
    sample.FAILING.add("poison")
    try:
        async with start_sample(consumer_max_attempts=3, consumer_backoff_seconds=0.2) as client:
            context = context_of(client.app)
            await publish(kafka, poison, healthy)
            await eventually(
                lambda: _count(context, 1, ChangeRejected.ce_type), message="healthy applied"
            )
            letters = await eventually(lambda: read_dead_letters(kafka, "sample"))
            assert (
                await sample.count_seen(context, ChangeRejected.ce_type) == 1
            )  # the poison's insert rolled back
            async with context.engine.connect() as conn:
                claimed = (await conn.execute(select(inbox.c.event_id))).scalars().all()
            assert poison.id not in claimed
            assert healthy.id in claimed
    finally:
        sample.FAILING.discard("poison")
    (letter,) = letters
    assert letter.event_id == poison.id
    assert letter.event_type == ChangeRejected.ce_type
    assert letter.attempts == 3
    assert "cannot handle reason 'poison'" in letter.error
    assert letter.error_type == "RuntimeError"
    assert letter.original_topic == events_topic("governance")
    assert letter.raw_key == b"chg-poison"
    assert letter.summary().key == "chg-poison"


async def test_offset_is_not_committed_while_the_handler_fails(
    start_sample: Any, kafka: KafkaSettings
) -> None:
    from aiokafka import TopicPartition

    from flightdeck.events.kafka import new_consumer

    poison = Envelope(data=example(ChangeRejected, change_id="chg-stuck", reason="stuck"))
    sample.FAILING.add("stuck")
    try:
        async with start_sample(consumer_max_attempts=50, consumer_backoff_seconds=0.1) as client:
            context = context_of(client.app)
            await publish(kafka, poison)
            await eventually(
                lambda: (
                    context.runner.metrics.retries.labels(
                        kafka.topics.events("governance")
                    )._value.get()
                    >= 3
                )
            )
            group = new_consumer(kafka, kafka.topics.physical("sample"), [])
            await group.start()
            try:
                partitions = group.partitions_for_topic(kafka.topics.events("governance")) or set()
                if not partitions:
                    await group.topics()
                    partitions = (
                        group.partitions_for_topic(kafka.topics.events("governance")) or set()
                    )
                committed = [
                    await group.committed(TopicPartition(kafka.topics.events("governance"), p))
                    for p in partitions
                ]
            finally:
                await group.stop()
            assert all(offset is None or offset == 0 for offset in committed)
            assert await sample.count_seen(context, ChangeRejected.ce_type) == 0
    finally:
        sample.FAILING.discard("stuck")


async def test_malformed_and_unknown_records(start_sample: Any, kafka: KafkaSettings) -> None:
    base = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"m-1"),
        ("ce_source", b"/elsewhere"),
        ("ce_time", b"2026-01-01T00:00:00Z"),
    ]
    async with start_sample() as client:
        context = context_of(client.app)
        bad = [*base, ("ce_type", ReleasePlanned.ce_type.encode())]
        await publish_raw(kafka, events_topic("planning"), b'{"release_id": "x"}', bad)
        unknown = [*base[:1], ("ce_id", b"u-1"), *base[2:], ("ce_type", b"com.example.unknown.v1")]
        await publish_raw(kafka, events_topic("planning"), b"{}", unknown)
        await publish(kafka, Envelope(data=example(ReleasePlanned, release_id="rel-good")))
        await eventually(lambda: _count(context, 1))
        letters = await eventually(lambda: read_dead_letters(kafka, "sample"))
    assert [letter.event_id for letter in letters] == ["m-1"]
    assert "does not match ReleasePlanned" in letters[0].error
    assert letters[0].error_type == "MalformedEvent"
    assert await sample.count_seen(context) == 1


async def test_dead_letters_are_listed_and_replayed(
    start_sample: Any, kafka: KafkaSettings, tokens: Tokens
) -> None:
    poison = Envelope(data=example(ChangeRejected, change_id="chg-later", reason="later"))
    sample.FAILING.add("later")
    async with start_sample(consumer_max_attempts=2) as client:
        context = context_of(client.app)
        await publish(kafka, poison)
        await eventually(lambda: read_dead_letters(kafka, "sample"))
        listed = await client.get("/admin/dlq", headers=tokens.headers("ops", "operator"))
        assert [item["event_id"] for item in listed.json()] == [poison.id]
        sample.FAILING.discard("later")  # the bug is fixed
        forbidden = await client.post(
            "/admin/dlq/replay", json={}, headers=tokens.headers("ops", "operator")
        )
        assert forbidden.status_code == 403
        admin = tokens.headers("root", "admin")
        for vague in ({}, {"event_id": [poison.id]}, {"event_ids": []}):
            refused = await client.post("/admin/dlq/replay", json=vague, headers=admin)
            assert refused.status_code == 422, vague
        replay = await client.post(
            "/admin/dlq/replay", json={"event_ids": [poison.id, "no-such-event"]}, headers=admin
        )
        assert replay.json() == {
            "replayed": 1,
            "event_ids": [poison.id],
            "not_found": ["no-such-event"],
        }
        await eventually(lambda: _count(context, 1, ChangeRejected.ce_type))
    async with TopicProbe(kafka, events_topic("governance")) as probe:
        await probe.poll(1.0)
        assert len(probe.records) == 1, "a replay must not reach the other consumers"


async def test_trace_context_flows_from_request_to_consumer(
    start_sample: Any, tokens: Tokens, kafka: KafkaSettings
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {
        **tokens.headers("rita", "releaser"),
        "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
    }
    async with start_sample() as client:
        context = context_of(client.app)
        await client.post("/ledger", json=ENTRY, headers=headers)
        await eventually(lambda: _count(context, 1))
        async with context.engine.connect() as conn:
            recorded = await conn.scalar(select(sample.seen.c.trace_id))
        async with TopicProbe(kafka, events_topic("planning")) as probe:
            await probe.wait_for_count(1)
            (envelope,) = probe.envelopes()
    assert envelope.traceparent is not None
    assert envelope.traceparent.split("-")[1] == trace_id
    assert recorded == trace_id


async def test_a_database_outage_is_waited_out_not_dead_lettered(
    start_sample: Any, kafka: KafkaSettings
) -> None:
    event = Envelope(data=example(ChangeRejected, change_id="chg-outage", reason="outage"))
    sample.UNAVAILABLE["outage"] = 6  # twice the attempts a real error gets
    try:
        async with start_sample(consumer_max_attempts=3, consumer_backoff_seconds=0.02) as client:
            context = context_of(client.app)
            await publish(kafka, event)
            await eventually(lambda: _count(context, 1, ChangeRejected.ce_type), timeout=20)
    finally:
        sample.UNAVAILABLE.pop("outage", None)
    assert await read_dead_letters(kafka, "sample") == []


async def test_malformed_records_of_types_not_consumed_are_skipped(
    start_sample: Any, kafka: KafkaSettings
) -> None:
    from flightdeck.events.catalogue import ReleaseCancelled

    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"x-1"),
        ("ce_source", b"/flightdeck/planning"),
        ("ce_time", b"2026-01-01T00:00:00Z"),
        ("ce_type", ReleaseCancelled.ce_type.encode()),
    ]
    async with start_sample() as client:
        context = context_of(client.app)
        await publish_raw(kafka, events_topic("planning"), b"{broken", headers)
        await publish(kafka, Envelope(data=example(ReleasePlanned, release_id="rel-next")))
        await eventually(lambda: _count(context, 1))
        await _settle(context)
    assert await read_dead_letters(kafka, "sample") == []


async def test_event_ids_of_any_length_are_applied_once(
    start_sample: Any, kafka: KafkaSettings
) -> None:
    event = Envelope(
        data=example(ReleasePlanned, release_id="rel-long"), id="urn:partner:" + "9" * 120
    )
    async with start_sample() as client:
        context = context_of(client.app)
        await publish(kafka, event)
        await publish(kafka, event)
        await eventually(lambda: _count(context, 1))
        await _settle(context)
        assert await sample.count_seen(context) == 1
    assert await read_dead_letters(kafka, "sample") == []
