"""The inbox: which events a consumer has applied, so a redelivery has no second effect."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from flightdeck.events.tables import inbox


async def claim(
    session: AsyncSession | AsyncConnection, consumer: str, event_id: str, event_type: str
) -> bool:
    """Record the event as handled by `consumer`; False when it already was.

    Call it inside the handler's transaction: a rollback forgets the claim, a commit keeps it.
    """
    values = {
        "consumer": consumer,
        "event_id": event_id,
        "event_type": event_type,
        "handled_at": datetime.now(UTC),
    }
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    statement = insert(inbox).values(values).on_conflict_do_nothing()
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def dialect_name(session: AsyncSession | AsyncConnection) -> str:
    """The SQL dialect behind a session or connection."""
    if isinstance(session, AsyncConnection):
        return session.dialect.name
    return session.get_bind().dialect.name


async def forget_before(session: AsyncSession | AsyncConnection, moment: datetime) -> int:
    """Drop inbox entries older than `moment` (retention); returns how many."""
    result = await session.execute(delete(inbox).where(inbox.c.handled_at < moment))
    return int(result.rowcount)  # type: ignore[attr-defined]
