"""The transactional outbox: stage events with the state change, publish them afterwards."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from flightdeck.events.codec import encode
from flightdeck.events.envelope import Envelope
from flightdeck.events.tables import outbox
from flightdeck.events.topics import events_topic


def outbox_row(envelope: Envelope[Any], now: datetime | None = None) -> dict[str, Any]:
    """The outbox row of one envelope."""
    message = encode(envelope)
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
    """Add many events to the outbox in one statement, inside the caller's transaction."""
    now = datetime.now(UTC)
    rows = [outbox_row(envelope, now) for envelope in envelopes]
    if rows:
        await session.execute(insert(outbox), rows)
