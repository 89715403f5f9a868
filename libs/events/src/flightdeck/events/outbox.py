"""The transactional outbox: stage events with the state change, publish them afterwards."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from flightdeck.events.codec import encode
from flightdeck.events.envelope import Envelope
from flightdeck.events.inbox import dialect_name
from flightdeck.events.tables import outbox
from flightdeck.events.topics import events_topic

MAX_EVENT_BYTES = 5 * 1024 * 1024
"""Largest event data accepted into the outbox (the broker takes records up to 8 MiB)."""

KEY_LOCK_SPACE = 0x0F1D
"""First half of the two-int advisory lock taken per message key while staging."""


KEY_LOCK_BUCKETS = 128
"""Keys share this many locks, so a transaction staging thousands of keys takes at most 128."""

_LOCK_KEYS = text(
    "SELECT pg_advisory_xact_lock(:space, bucket) FROM ("
    "  SELECT DISTINCT abs(hashtext(k) % :buckets) AS bucket"
    "  FROM unnest(CAST(:keys AS text[])) AS k"
    ") AS buckets ORDER BY bucket"
)


class EventTooLarge(ValueError):
    """An event whose data is over `MAX_EVENT_BYTES`: nothing is staged."""


def outbox_row(envelope: Envelope[Any], now: datetime | None = None) -> dict[str, Any]:
    """The outbox row of one envelope."""
    message = encode(envelope)
    if len(message.value) > MAX_EVENT_BYTES:
        size = len(message.value)
        raise EventTooLarge(f"{envelope.type} is {size} bytes; at most {MAX_EVENT_BYTES} fit")
    return {
        "event_id": envelope.id,
        "topic": events_topic(envelope.data.producer),
        "key": message.key.decode(),
        "value": message.value,
        "headers": [[name, value.decode()] for name, value in message.headers],
        "created_at": now or datetime.now(UTC),
    }


async def stage(session: AsyncSession | AsyncConnection, *envelopes: Envelope[Any]) -> None:
    """Add events to the outbox inside the caller's transaction."""
    await stage_many(session, envelopes)


async def stage_many(
    session: AsyncSession | AsyncConnection, envelopes: Iterable[Envelope[Any]]
) -> None:
    """Add many events to the outbox in one statement, inside the caller's transaction.

    On PostgreSQL the transaction first takes an advisory lock per message key (keys hashed
    into `KEY_LOCK_BUCKETS`), so two transactions staging events for one key get their outbox
    ids in commit order: the relay can never see (and publish) the later one first.
    """
    now = datetime.now(UTC)
    rows = [outbox_row(envelope, now) for envelope in envelopes]
    if not rows:
        return
    if dialect_name(session) == "postgresql":
        keys = sorted({row["key"] for row in rows})
        parameters = {"space": KEY_LOCK_SPACE, "buckets": KEY_LOCK_BUCKETS, "keys": keys}
        await session.execute(_LOCK_KEYS, parameters)
    await session.execute(insert(outbox), rows)
